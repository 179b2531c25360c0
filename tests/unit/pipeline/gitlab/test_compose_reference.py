"""Tests of ``!reference`` as runner.pipeline.gitlab.compose resolves it."""

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


def test_references_in_scripts_splice_in_even_when_nested(tmp_path: Path) -> None:
    """GitLab's documented example: nested references flatten into one script."""
    result = composed(
        tmp_path,
        """\
        .snippets:
          one:
            - echo "ONE!"
          two:
            - !reference [.snippets, one]
            - echo "TWO!"
          three:
            - !reference [.snippets, two]
            - echo "THREE!"
        nested-references:
          before_script:
            - !reference [.snippets, one]
          script:
            - !reference [.snippets, three]
          after_script: !reference [.snippets, two]
        """,
    )
    assert jobs(result) == {
        "nested-references": {
            "before_script": ['echo "ONE!"'],
            "script": ['echo "ONE!"', 'echo "TWO!"', 'echo "THREE!"'],
            "after_script": ['echo "ONE!"', 'echo "TWO!"'],
        }
    }


def test_references_in_variables_take_a_whole_mapping_or_one_value(tmp_path: Path) -> None:
    result = composed(
        tmp_path,
        """\
        variables:
          SHARED: top
        .vars:
          variables: {A: a, B: b}
        whole:
          script: [x]
          variables: !reference [.vars, variables]
        single:
          script: [x]
          variables:
            MINE: !reference [variables, SHARED]
            THEIRS: !reference [.vars, variables, B]
        """,
    )
    assert jobs(result) == {
        "whole": {"script": ["x"], "variables": {"A": "a", "B": "b"}},
        "single": {"script": ["x"], "variables": {"MINE": "top", "THEIRS": "b"}},
    }


def test_a_reference_sees_what_extends_gave_its_target(tmp_path: Path) -> None:
    result = composed(
        tmp_path,
        """\
        .base: {script: [from-base]}
        .child: {extends: .base}
        job:
          script:
            - !reference [.child, script]
            - mine
        """,
    )
    assert jobs(result) == {"job": {"script": ["from-base", "mine"]}}


def test_a_referenced_value_is_replaced_not_merged_by_extends(tmp_path: Path) -> None:
    """extends runs first, so a parent's unresolved reference is replaced by the child's map."""
    result = composed(
        tmp_path,
        """\
        .vars: {variables: {A: a}}
        .parent: {variables: !reference [.vars, variables]}
        job: {extends: .parent, variables: {B: b}, script: [x]}
        """,
    )
    assert jobs(result) == {"job": {"variables": {"B": "b"}, "script": ["x"]}}


def test_references_work_across_included_files(tmp_path: Path) -> None:
    result = composed(
        tmp_path,
        """\
        include: shared.yml
        .setup: {script: [setup]}
        """,
        **{
            "shared.yml": """\
            job:
              script:
                - !reference [.setup, script]
                - test
              rules: [!reference [.rules, main], {when: never}]
            .rules:
              main: [{if: $MAIN}]
            """
        },
    )
    assert jobs(result) == {
        "job": {"script": ["setup", "test"], "rules": [{"if": "$MAIN"}, {"when": "never"}]}
    }


def test_a_reference_may_be_a_whole_job(tmp_path: Path) -> None:
    result = composed(tmp_path, ".tmpl: {script: [x]}\njob: !reference [.tmpl]\n")
    assert jobs(result) == {"job": {"script": ["x"]}}


def test_an_aliased_reference_resolves_in_each_place(tmp_path: Path) -> None:
    result = composed(
        tmp_path,
        """\
        .one: {script: [one]}
        a: {script: [&ref !reference [.one, script]]}
        b: {script: [*ref, two]}
        """,
    )
    assert jobs(result) == {"a": {"script": ["one"]}, "b": {"script": ["one", "two"]}}


def _nested(depth: int) -> str:
    """``job`` references ``.r1``, which references ``.r2`` ... down to ``.r<depth>``.

    The references are whole values, not list items, so no lists nest (GitLab
    allows 10 nested lists in a script, which list-item references would reach first).
    """
    lines = ["job: {script: !reference [.r1, s]}"]
    for level in range(1, depth):
        lines.append(f".r{level}: {{s: !reference [.r{level + 1}, s]}}")
    lines.append(f".r{depth}: {{s: [bottom]}}")
    return "\n".join(lines) + "\n"


def test_ten_nested_references_are_allowed(tmp_path: Path) -> None:
    assert jobs(composed(tmp_path, _nested(10))) == {"job": {"script": ["bottom"]}}


def test_eleven_nested_references_are_too_deep(tmp_path: Path) -> None:
    err = failure(tmp_path, _nested(11))
    chain = " -> ".join(
        ["!reference [.r1, s]"] + [f"!reference [.r{level}, s]" for level in range(2, 12)]
    )
    assert (err.spot, err.message) == (
        SourceSpot(str(tmp_path / MAIN), 11, 11, ".r10.s"),
        f"!reference tags nest more than 10 levels deep: {chain}",
    )


@pytest.mark.parametrize(
    ("text", "line", "column", "key", "message"),
    [
        (
            ".setup: {script: [x]}\njob: {script: [!reference [.setpu, script]]}\n",
            2,
            16,
            "job.script[0]",
            "!reference [.setpu, script] could not be found: there is no '.setpu';"
            " did you mean '.setup'?",
        ),
        (
            ".setup: {script: [x]}\njob:\n  script: !reference [.setup, scirpt]\n",
            3,
            11,
            "job.script",
            "!reference [.setup, scirpt] could not be found: '.setup' has no key 'scirpt';"
            " did you mean 'script'?",
        ),
        (
            ".setup: {script: [x]}\njob: {variables: {A: !reference [.setup, script, x]}}\n",
            2,
            22,
            "job.variables.A",
            "!reference [.setup, script, x] could not be found: '.setup.script' is a list,"
            " not a mapping with a key 'x'",
        ),
        (
            ".setup: {image: null}\njob: {image: !reference [.setup, image]}\n",
            2,
            14,
            "job.image",
            "!reference [.setup, image] could not be found: '.setup.image' is null",
        ),
        (
            "default: {tags: [a]}\njob: {image: b}\nother: {tags: !reference [job, tags]}\n",
            3,
            15,
            "other.tags",
            "!reference [job, tags] could not be found: 'job' has no key 'tags'",
        ),
        (
            ".a: {x: !reference [.b, x]}\n.b: {x: !reference [.a, x]}\njob: {script: [x]}\n",
            1,
            9,
            ".a.x",
            "!reference [.b, x] refers to itself: !reference [.b, x] -> !reference [.a, x]"
            " -> !reference [.b, x]",
        ),
        (
            ".a: {b: !reference [.c]}\n.c: {d: [x]}\njob: {script: !reference [.a, b, d]}\n",
            3,
            15,
            "job.script",
            "!reference [.a, b, d] could not be found: '.a.b' is itself a !reference, which"
            " GitLab does not look inside; reference what it names instead",
        ),
        (
            "job: {script: !reference .setup}\n",
            1,
            15,
            "job.script",
            "!reference takes a list of key names, like '!reference [.setup, script]',"
            " got '.setup'",
        ),
        (
            "job: {script: !reference []}\n",
            1,
            15,
            "job.script",
            "!reference takes a list of key names, like '!reference [.setup, script]',"
            " got an empty list",
        ),
        (
            "job: {script: !reference [.a, [b]]}\n",
            1,
            15,
            "job.script",
            "!reference takes a list of key names, like '!reference [.setup, script]',"
            " got a list holding a list",
        ),
    ],
)
def test_reference_errors(
    tmp_path: Path, text: str, line: int, column: int, key: str, message: str
) -> None:
    err = failure(tmp_path, text)
    assert (err.spot, err.message) == (
        SourceSpot(str(tmp_path / MAIN), line, column, key),
        message,
    )


def test_a_bad_reference_in_an_included_file_names_that_file(tmp_path: Path) -> None:
    err = failure(
        tmp_path,
        "include: ci.yml\n",
        **{"ci.yml": "job:\n  script:\n    - !reference [.missing, script]\n"},
    )
    assert err.spot == SourceSpot(str(tmp_path / "ci.yml"), 3, 7, "job.script[0]")
    assert err.message == "!reference [.missing, script] could not be found: there is no '.missing'"
