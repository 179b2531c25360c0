"""Tests of ``extends`` as runner.pipeline.gitlab.compose applies it: a reverse deep merge."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from runner.errors import PipelineError, SourceSpot
from runner.pipeline.gitlab.compose import Composed, compose
from runner.pipeline.gitlab.preview import to_python

MAIN = ".gitlab-ci.yml"


def composed(root: Path, text: str, **files: str) -> Composed:
    (root / MAIN).write_text(textwrap.dedent(text))
    for name, body in files.items():
        (root / name).write_text(textwrap.dedent(body))
    return compose(root / MAIN, root)


def jobs(result: Composed) -> dict[str, object]:
    return {name: to_python(job) for name, job in result.jobs}


def failure(root: Path, text: str, **files: str) -> PipelineError:
    with pytest.raises(PipelineError) as info:
        composed(root, text, **files)
    return info.value


def test_a_three_level_chain_merges_from_the_top_down(tmp_path: Path) -> None:
    result = composed(
        tmp_path,
        """\
        .base:
          image: base
          stage: test
          variables: {A: base, B: base, C: base}
          script: [base]
          cache: {key: k, paths: [a, b]}
        .middle:
          extends: .base
          stage: build
          variables: {B: middle}
          cache: {paths: [c]}
        .top:
          extends: .middle
          variables: {C: top}
          tags: [top]
        job:
          extends: .top
          script: [job]
          variables: {D: job}
        """,
    )
    assert jobs(result) == {
        "job": {
            "image": "base",
            "stage": "build",
            "variables": {"A": "base", "B": "middle", "C": "top", "D": "job"},
            "script": ["job"],
            "cache": {"key": "k", "paths": ["c"]},
            "tags": ["top"],
        }
    }
    job = jobs(result)["job"]
    assert isinstance(job, dict)
    assert list(job) == ["image", "stage", "variables", "script", "cache", "tags"]


def test_with_several_parents_the_later_one_wins_and_the_job_wins_over_all(
    tmp_path: Path,
) -> None:
    result = composed(
        tmp_path,
        """\
        .a: {image: a, tags: [a], variables: {X: a, Y: a}, when: manual}
        .b: {image: b, variables: {Y: b, Z: b}}
        job:
          extends: [.a, .b]
          when: always
          script: [x]
        """,
    )
    assert jobs(result) == {
        "job": {
            "image": "b",
            "tags": ["a"],
            "variables": {"X": "a", "Y": "b", "Z": "b"},
            "when": "always",
            "script": ["x"],
        }
    }


def test_later_parent_wins_even_over_a_closer_ancestor(tmp_path: Path) -> None:
    """GitLab's rule: the last member of ``extends`` always wins, whatever its depth."""
    result = composed(
        tmp_path,
        """\
        .a: {script: [a]}
        .b: {script: [b]}
        .c: {extends: .a}
        d: {extends: [.b, .c]}
        """,
    )
    assert jobs(result) == {"d": {"script": ["a"]}}


def test_a_visible_job_can_be_extended_and_each_keeps_its_own_keys(tmp_path: Path) -> None:
    result = composed(
        tmp_path,
        """\
        build: {stage: build, script: [make]}
        build-debug: {extends: build, variables: {DEBUG: "1"}}
        """,
    )
    assert jobs(result) == {
        "build": {"stage": "build", "script": ["make"]},
        "build-debug": {"stage": "build", "script": ["make"], "variables": {"DEBUG": "1"}},
    }


def test_a_parent_from_an_included_file_keeps_its_positions(tmp_path: Path) -> None:
    result = composed(
        tmp_path,
        """\
        include: templates.yml
        job:
          extends: .template
          script: [x]
        """,
        **{"templates.yml": ".template:\n  image: alpine\n"},
    )
    job = dict(result.jobs)["job"]
    image = job.get("image")
    script = job.get("script")
    assert image is not None
    assert script is not None
    assert (image.value.pos.file, image.value.pos.line, image.value.pos.column) == (
        str(tmp_path / "templates.yml"),
        2,
        10,
    )
    assert (script.key_pos.file, script.key_pos.line) == (str(tmp_path / MAIN), 4)


def test_null_extends_means_no_parents(tmp_path: Path) -> None:
    result = composed(tmp_path, "job: {extends: null, script: [x]}\n")
    assert jobs(result) == {"job": {"script": ["x"]}}


TOO_DEEP = (
    "'extends' nests too deeply: job -> .p1 -> .p2 -> .p3 -> .p4 -> .p5 -> .p6 -> .p7 -> .p8"
    " -> .p9 -> .p10 -> .p11 -> ...; GitLab allows at most 11 levels of inheritance"
)


def _chain(levels: int, deepest_extends: bool) -> str:
    """``job`` extends ``.p1`` ... ``.p<levels>``; the last extends ``.p<levels+1>`` if asked."""
    lines = ["job: {extends: .p1, script: [x]}"]
    for level in range(1, levels + 1):
        parent = f", extends: .p{level + 1}" if level < levels or deepest_extends else ""
        lines.append(f".p{level}: {{variables: {{L{level}: x}}{parent}}}")
    if deepest_extends:
        lines.append(f".p{levels + 1}: {{image: deepest}}")
    return "\n".join(lines) + "\n"


def test_eleven_levels_of_inheritance_are_allowed(tmp_path: Path) -> None:
    result = composed(tmp_path, _chain(11, deepest_extends=False))
    job = jobs(result)["job"]
    assert isinstance(job, dict)
    assert job["variables"] == {f"L{level}": "x" for level in range(11, 0, -1)}


def test_twelve_levels_of_inheritance_are_too_deep(tmp_path: Path) -> None:
    err = failure(tmp_path, _chain(11, deepest_extends=True))
    assert (err.spot, err.message) == (
        SourceSpot(str(tmp_path / MAIN), 12, 38, ".p11.extends"),
        TOO_DEEP,
    )


def test_depth_counts_from_every_job_even_when_a_parent_was_resolved_before(
    tmp_path: Path,
) -> None:
    """``.p1`` alone is fine (resolved first here), but reached from ``job`` it is too deep."""
    lines = _chain(11, deepest_extends=True).splitlines()
    err = failure(tmp_path, "\n".join(lines[1:] + lines[:1]) + "\n")
    assert (err.spot, err.message) == (
        SourceSpot(str(tmp_path / MAIN), 11, 38, ".p11.extends"),
        TOO_DEEP,
    )


@pytest.mark.parametrize(
    ("text", "line", "column", "key", "message"),
    [
        (
            ".a: {extends: .b}\n.b: {extends: .c}\n.c: {extends: .a}\njob: {extends: .a}\n",
            3,
            15,
            ".c.extends",
            "'extends' forms a cycle: .a -> .b -> .c -> .a",
        ),
        (
            "job: {extends: [.ok, job], script: [x]}\n.ok: {}\n",
            1,
            22,
            "job.extends[1]",
            "'extends' forms a cycle: job -> job",
        ),
        (
            ".template: {image: a}\njob: {extends: .tempalte}\n",
            2,
            16,
            "job.extends",
            "'job' extends '.tempalte', which is not defined; did you mean '.template'?",
        ),
        (
            "job: {extends: [.nothing]}\nother: {script: [x]}\n",
            1,
            17,
            "job.extends[0]",
            "'job' extends '.nothing', which is not defined",
        ),
        (
            ".list: [a, b]\njob: {extends: .list}\n",
            2,
            16,
            "job.extends",
            "'job' extends '.list', which is a list, not a mapping of job keywords",
        ),
        (
            "job: {extends: {name: .a}}\n",
            1,
            16,
            "job.extends",
            "'extends' of 'job' must be a job name or a list of job names, got a mapping",
        ),
        (
            ".a: {}\njob: {extends: [.a, [.a]]}\n",
            2,
            21,
            "job.extends[1]",
            "'extends' of 'job' must be a job name or a list of job names, got a list",
        ),
    ],
)
def test_extends_errors(
    tmp_path: Path, text: str, line: int, column: int, key: str, message: str
) -> None:
    err = failure(tmp_path, text)
    assert (err.spot, err.message) == (
        SourceSpot(str(tmp_path / MAIN), line, column, key),
        message,
    )


def test_an_unknown_parent_in_an_included_file_names_that_file(tmp_path: Path) -> None:
    err = failure(
        tmp_path,
        "include: jobs.yml\n.base: {image: a}\n",
        **{"jobs.yml": "job:\n  extends: .bsae\n"},
    )
    assert err.spot == SourceSpot(str(tmp_path / "jobs.yml"), 2, 12, "job.extends")
    assert err.message == "'job' extends '.bsae', which is not defined; did you mean '.base'?"
