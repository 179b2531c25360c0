"""Tests of the bounds on a tenant's YAML: bytes, depth, expanded values, whole pipeline, jobs."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from runner.errors import PipelineError
from runner.pipeline import bounds, yamllimits
from runner.pipeline.gitlab.compose import compose
from runner.pipeline.native import parse_native
from runner.pipeline.yamlsrc import SourceLoader, load_file, load_text


def nested(depth: int) -> str:
    """A document whose top-level mapping holds lists nested to ``depth`` collections in all."""
    return "a: " + "[" * (depth - 1) + "x" + "]" * (depth - 1) + "\n"


def test_depth_of_gitlab_limit_is_accepted_one_more_is_refused() -> None:
    """GitLab's max_yaml_depth (100) counts the top-level mapping; 101 is refused."""
    load_text(nested(100), "p.yml")
    with pytest.raises(PipelineError, match="more than 100 levels deep") as info:
        load_text(nested(101), "p.yml")
    assert info.value.spot.line == 1


def test_depth_through_an_alias_counts() -> None:
    """An alias to a deep list placed deep again is as deep as the expansion."""
    deep = "[" * 60 + "x" + "]" * 60
    text = f"a: &deep {deep}\nb: {'[' * 45}*deep{']' * 45}\n"
    with pytest.raises(PipelineError, match="levels deep") as info:
        load_text(text, "p.yml")
    assert info.value.spot.line == 2


def test_alias_bomb_is_refused_at_the_alias_that_passes_the_limit() -> None:
    lines = ['a0: &a0 ["lol"]']
    lines += [f"a{n}: &a{n} [" + ", ".join([f"*a{n - 1}"] * 9) + "]" for n in range(1, 9)]
    with pytest.raises(PipelineError, match="alias '\\*a5' here repeats") as info:
        load_text("\n".join(lines) + "\n", "p.yml")
    assert (info.value.spot.file, info.value.spot.line) == ("p.yml", 7)


class _Small(SourceLoader):
    values_limit = 19


def test_values_are_counted_with_keys_and_every_alias_expansion() -> None:
    """Mapping, two keys, a list of 3, a list of aliases each repeating 4: 1+2+4+1+3*4 = 20."""
    text = "a: &l [x, y, z]\nb: [*l, *l, *l]\n"
    with pytest.raises(PipelineError, match="more than 19 values"):
        load_text(text, "p.yml", _Small)
    assert load_text("a: &l [x, y, z]\nb: [*l, *l]\n", "p.yml", _Small).values == 16


def test_values_of_a_plain_document() -> None:
    assert load_text("a: 1\nb: [x, {c: d}]\n", "p.yml").values == 9


def test_oversize_file_is_refused_unread(tmp_path: Path) -> None:
    path = tmp_path / "p.yml"
    path.write_bytes(b"# " + b"x" * yamllimits.MAX_YAML_BYTES + b"\na: 1\n")
    with pytest.raises(PipelineError, match="too big") as info:
        load_file(path)
    assert info.value.spot.file == str(path)


def test_file_at_the_byte_limit_is_read(tmp_path: Path) -> None:
    """Comments cost GitLab nothing: a file of MAX_YAML_BYTES that is mostly comment loads."""
    body = b"a: 1\n"
    path = tmp_path / "p.yml"
    path.write_bytes(b"#" * (yamllimits.MAX_YAML_BYTES - len(body) - 1) + b"\n" + body)
    assert load_file(path).root.keys() == ("a",)


def write(root: Path, name: str, text: str) -> Path:
    path = root / name
    path.write_text(textwrap.dedent(text))
    return path


def test_reference_bomb_is_refused_before_anything_flattens_it(tmp_path: Path) -> None:
    """``!reference`` repeats values as aliases do: nine levels of nine are refused."""
    lines = [".r0: [lol]"]
    lines += [f".r{n}: [" + ", ".join([f"!reference [.r{n - 1}]"] * 9) + "]" for n in range(1, 9)]
    lines += ["job:", "  script: !reference [.r8]"]
    main = write(tmp_path, ".gitlab-ci.yml", "\n".join(lines) + "\n")
    with pytest.raises(PipelineError, match="the pipeline is too big") as info:
        compose(main, tmp_path)
    assert info.value.spot.file == str(main)


def test_included_files_count_together(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(bounds, "MAX_PIPELINE_VALUES", 30)
    for name in ("a", "b"):
        write(tmp_path, f"{name}.yml", f"{name}:\n  script: [" + ", ".join(["x"] * 10) + "]\n")
    main = write(tmp_path, ".gitlab-ci.yml", "include: [a.yml, b.yml]\n")
    with pytest.raises(PipelineError, match="included file") as info:
        compose(main, tmp_path)
    assert info.value.spot.line == 1


def test_gitlab_job_count_is_bounded(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(bounds, "MAX_JOBS", 3)
    main = write(tmp_path, ".gitlab-ci.yml", "".join(f"j{n}: {{script: [x]}}\n" for n in range(4)))
    with pytest.raises(PipelineError, match="4 jobs"):
        compose(main, tmp_path)


def test_native_job_count_is_bounded(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(bounds, "MAX_JOBS", 3)
    jobs = "".join(f"  j{n}: {{image: localhost/busybox:latest, script: [x]}}\n" for n in range(4))
    path = write(tmp_path, "pipeline.yml", "version: 1\njobs:\n" + jobs)
    with pytest.raises(PipelineError, match="4 jobs"):
        parse_native(path, tmp_path)


def test_expanded_values_counts_shared_nodes_each_time() -> None:
    root = load_text("a: &l [x, y]\nb: [*l, *l]\n", "p.yml").root
    assert bounds.expanded_values(root) == load_text("a: [x, y]\nb: [[x, y], [x, y]]\n",
                                                     "p.yml").values == 13
