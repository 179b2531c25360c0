"""Tests of runner.pipeline.load: dialect choice and unreadable files."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from runner.errors import UsageError
from runner.pipeline.load import LoadOptions, detect_dialect, load_pipeline
from runner.pipeline.model import SecretSource

NATIVE = "version: 1\nimage: i\njobs:\n  a: {script: x}\n"


def write(tmp_path: Path, name: str, text: str = NATIVE) -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


@pytest.mark.parametrize(
    ("name", "dialect"),
    [
        (".gitlab-ci.yml", "gitlab"),
        ("deploy.gitlab-ci.yml", "gitlab"),
        ("pipeline.yml", "native"),
        ("gitlab-ci.yml", "native"),
        (".gitlab-ci.yml.bak", "native"),
    ],
)
def test_detect_dialect_from_file_name(name: str, dialect: str) -> None:
    """GitLab's file names select the gitlab dialect; every other name is native."""
    assert detect_dialect(Path("/x") / name) == dialect


def test_native_file_loads(tmp_path: Path) -> None:
    """An ordinary file name is parsed as native and the caller's root is kept."""
    pipeline = load_pipeline(write(tmp_path, "pipeline.yml"), tmp_path / "proj")
    assert (pipeline.dialect, pipeline.root, [j.name for j in pipeline.jobs]) == (
        "native",
        tmp_path / "proj",
        ["a"],
    )


GITLAB = "image: i\nbuild:\n  script: [make]\n"


@pytest.mark.parametrize("name", [".gitlab-ci.yml", "x.gitlab-ci.yml"])
def test_gitlab_name_loads_the_gitlab_dialect(name: str, tmp_path: Path) -> None:
    """A GitLab-named file is read as GitLab CI: its job lands in the default stage 'test'."""
    pipeline = load_pipeline(write(tmp_path, name, GITLAB), tmp_path)
    assert (pipeline.dialect, [(j.name, j.stage, j.script) for j in pipeline.jobs]) == (
        "gitlab", [("build", "test", ("make",))])


def test_explicit_native_wins_over_gitlab_name(tmp_path: Path) -> None:
    """``dialect='native'`` parses a file named .gitlab-ci.yml as native."""
    pipeline = load_pipeline(write(tmp_path, ".gitlab-ci.yml"), tmp_path, dialect="native")
    assert pipeline.dialect == "native"


def test_explicit_gitlab_wins_over_any_name(tmp_path: Path) -> None:
    """``dialect='gitlab'`` reads a file of any name as GitLab CI."""
    pipeline = load_pipeline(write(tmp_path, "pipeline.yml", GITLAB), tmp_path, dialect="gitlab")
    assert [job.name for job in pipeline.jobs] == ["build"]


def test_native_options_override_variables_and_add_secrets(tmp_path: Path) -> None:
    """--variable beats the file's value; --secret reaches every job, listed once per pipeline."""
    text = "version: 1\nimage: i\nvariables: {A: file, B: kept}\njobs:\n  a: {script: x}\n"
    secret = SecretSource("TOKEN", env="TOKEN")
    pipeline = load_pipeline(write(tmp_path, "pipeline.yml", text), tmp_path, options=LoadOptions(
        variables=(("A", "cli"),), file_variables=(("CFG", "x=1"),), secrets=(secret,)))
    (job,) = pipeline.jobs
    assert (job.variables, job.file_variables, job.secrets, pipeline.secrets) == (
        (("B", "kept"), ("A", "cli")), (("CFG", "x=1"),), ("TOKEN",), (secret,))


def test_unknown_dialect_lists_valid_ones(tmp_path: Path) -> None:
    """An unknown dialect name is a usage error listing every valid name."""
    with pytest.raises(UsageError) as info:
        load_pipeline(write(tmp_path, "pipeline.yml"), tmp_path, dialect="forgejo")
    assert str(info.value) == (
        "unknown pipeline dialect 'forgejo'; valid dialects are 'gitlab', 'github', 'native'"
    )


def test_missing_file_names_the_path(tmp_path: Path) -> None:
    """A file that does not exist is a usage error naming it."""
    path = tmp_path / "nope.yml"
    with pytest.raises(UsageError) as info:
        load_pipeline(path, tmp_path)
    assert str(info.value) == f"pipeline file '{path}' does not exist"


def test_directory_is_refused(tmp_path: Path) -> None:
    """A directory given as the pipeline file is a usage error naming it."""
    with pytest.raises(UsageError) as info:
        load_pipeline(tmp_path, tmp_path)
    assert str(info.value) == f"pipeline file '{tmp_path}' is a directory, not a file"


@pytest.mark.skipif(os.geteuid() == 0, reason="root reads files regardless of permissions")
def test_unreadable_file_names_the_path(tmp_path: Path) -> None:
    """A file without read permission is a usage error naming it and the reason."""
    path = write(tmp_path, "pipeline.yml")
    path.chmod(0)
    try:
        with pytest.raises(UsageError) as info:
            load_pipeline(path, tmp_path)
    finally:
        path.chmod(0o600)
    assert str(info.value) == f"cannot read pipeline file '{path}': Permission denied"
