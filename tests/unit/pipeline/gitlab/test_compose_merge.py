"""Tests of GitLab's deep merge (positions kept), the GitLab loader and the preview rendering."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from runner.errors import PipelineError, SourceSpot
from runner.pipeline.gitlab.compose import compose
from runner.pipeline.gitlab.merge import deep_merge
from runner.pipeline.gitlab.preview import render, to_python
from runner.pipeline.gitlab.source import REFERENCE_TAG, load, load_text
from runner.pipeline.yamlsrc import Map, Pos, Seq


def tree(text: str, file: str) -> Map:
    return load_text(textwrap.dedent(text), file).root


def where(pos: Pos) -> tuple[str, int, int]:
    return pos.file, pos.line, pos.column


def test_deep_merge_merges_mappings_and_replaces_everything_else() -> None:
    base = tree(
        """\
        job:
          variables: {A: base, B: base}
          tags: [one, two]
          cache: {key: k}
          image: base
          services: [db]
        only_base: 1
        """,
        "base.yml",
    )
    over = tree(
        """\
        job:
          variables: {B: over, C: over}
          tags: [three]
          cache: off
          image: {name: over}
          services: null
        only_over: 2
        """,
        "over.yml",
    )
    assert to_python(deep_merge(base, over)) == {
        "job": {
            "variables": {"A": "base", "B": "over", "C": "over"},
            "tags": ["three"],
            "cache": False,
            "image": {"name": "over"},
            "services": None,
        },
        "only_base": 1,
        "only_over": 2,
    }


def test_deep_merge_keeps_where_each_value_was_written() -> None:
    base = tree("job:\n  variables: {A: base, B: base}\n  tags: [t]\n", "base.yml")
    over = tree("\njob:\n  variables:\n    B: over\n", "over.yml")
    merged = deep_merge(base, over)
    job_entry = merged.get("job")
    assert job_entry is not None
    job = job_entry.value
    assert isinstance(job, Map)
    assert where(job_entry.key_pos) == ("over.yml", 2, 1)
    assert where(job.pos) == ("over.yml", 3, 3)
    variables_entry = job.get("variables")
    tags_entry = job.get("tags")
    assert variables_entry is not None
    assert tags_entry is not None
    variables = variables_entry.value
    assert isinstance(variables, Map)
    assert [(e.key, where(e.key_pos), where(e.value.pos)) for e in variables] == [
        ("A", ("base.yml", 2, 15), ("base.yml", 2, 18)),
        ("B", ("over.yml", 4, 5), ("over.yml", 4, 8)),
    ]
    assert where(tags_entry.value.pos) == ("base.yml", 3, 9)


def test_deep_merge_treats_an_unresolved_reference_as_a_value() -> None:
    base = tree("variables: !reference [.vars, variables]\n", "base.yml")
    over = tree("variables: {A: a}\n", "over.yml")
    assert to_python(deep_merge(base, over)) == {"variables": {"A": "a"}}
    back = deep_merge(over, base)
    entry = back.get("variables")
    assert entry is not None
    assert isinstance(entry.value, Seq)
    assert entry.value.tag == REFERENCE_TAG


def test_the_loader_keeps_reference_tags_and_stamps_the_file(tmp_path: Path) -> None:
    path = tmp_path / "ci.yml"
    path.write_text("job:\n  script: !reference [.a, script]\n")
    source = load(path, "label.yml")
    job = source.root.get("job")
    assert job is not None
    assert isinstance(job.value, Map)
    script = job.value.get("script")
    assert script is not None
    assert isinstance(script.value, Seq)
    assert (script.value.tag, where(script.value.pos)) == (REFERENCE_TAG, ("label.yml", 2, 11))
    assert [to_python(item) for item in script.value.items] == [".a", "script"]


def test_the_loader_still_rejects_other_tags() -> None:
    with pytest.raises(PipelineError) as info:
        load_text("job: !include other.yml\n", "p.yml")
    assert info.value.spot == SourceSpot("p.yml", 1, 6, "job")
    assert info.value.message == "unsupported YAML tag '!include' on a scalar"


def test_render_prints_top_level_keys_then_jobs(tmp_path: Path) -> None:
    (tmp_path / "ci").mkdir()
    (tmp_path / "ci/base.yml").write_text(".base:\n  image: alpine\n  retry: 1\n")
    (tmp_path / ".gitlab-ci.yml").write_text(
        textwrap.dedent(
            """\
            include: ci/base.yml
            build:
              extends: .base
              script:
                - echo "building"
                - !reference [.extra, script]
            stages: [build]
            variables: {VERSION: "1.0", COUNT: 3}
            .extra: {script: [echo done]}
            """
        )
    )
    result = compose(tmp_path / ".gitlab-ci.yml", tmp_path)
    assert render(result) == textwrap.dedent(
        """\
        stages:
        - build
        variables:
          VERSION: '1.0'
          COUNT: 3
        build:
          image: alpine
          retry: 1
          script:
          - echo "building"
          - echo done
        """
    )
