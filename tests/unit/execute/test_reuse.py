"""What a job run alone takes from its needs' earlier runs (``runner exec FILE JOB``)."""

from __future__ import annotations

import dataclasses
import os
from pathlib import Path

import pytest

from runner.errors import UserInputError
from runner.execute.layout import RunLayout
from runner.execute.results import Taken
from runner.execute.reuse import (
    Record,
    artifact_layers,
    read_record,
    record_path,
    take_kept,
    taken_dotenv,
    write_record,
)
from runner.pipeline.model import Artifacts, Job, Need, Pipeline, When


def _whole() -> Pipeline:
    jobs = (
        Job("build", "i", ("make",), artifacts=Artifacts(("out/",), dotenv=("b.env",))),
        Job("lint", "i", ("lint",)),
        Job("test", "i", ("test",), needs=(Need("build"), Need("lint", artifacts=False))),
    )
    return Pipeline(Path("/p/.gitlab-ci.yml"), Path("/p"), jobs)


LEFT = [("test", Need("build")), ("test", Need("lint", artifacts=False))]


def test_a_record_reads_back_as_written_and_only_for_its_own_job(tmp_path: Path) -> None:
    """The record names its job: one copied over another job's name is not taken."""
    record = Record("20261207-1", "success", True, True, (("VERSION", "4.0.0"),))
    write_record(tmp_path, "build", record)
    assert read_record(tmp_path, "build") == record
    assert read_record(tmp_path, "deploy") is None
    record_path(tmp_path, "deploy").write_bytes(record_path(tmp_path, "build").read_bytes())
    assert read_record(tmp_path, "deploy") is None
    record_path(tmp_path, "lint").write_text("{not json")
    assert read_record(tmp_path, "lint") is None
    record_path(tmp_path, "lint").write_text('{"job": "lint"}')
    assert read_record(tmp_path, "lint") is None


def test_a_need_without_a_passing_run_stops_the_run_and_names_needs(tmp_path: Path) -> None:
    """No record at all: exit-2 error naming the need and the --needs command."""
    with pytest.raises(UserInputError) as info:
        take_kept(tmp_path, _whole(), LEFT, "runner exec .gitlab-ci.yml test")
    assert f"'build' (needed by 'test') has no passing run kept in {tmp_path}" in str(info.value)
    assert info.value.hint == "run them first with --needs: runner exec .gitlab-ci.yml test --needs"


def test_a_failed_run_that_kept_artifacts_is_not_taken(tmp_path: Path) -> None:
    """The record of a failed run (artifacts:when: always) says so, with its run id."""
    write_record(tmp_path, "build", Record("20261207-2", "failed", False, True))
    with pytest.raises(UserInputError) as info:
        take_kept(tmp_path, _whole(), LEFT, "runner exec x test")
    assert ("'build' (needed by 'test') failed in its last run (20261207-2), which replaced "
            "what it had kept") in str(info.value)


def test_a_passing_run_is_taken_and_said(tmp_path: Path) -> None:
    """Artifacts (when that run kept some and they are there) and dotenv of a passing run."""
    write_record(tmp_path, "build", Record("20261207-3", "success", True, True,
                                           (("VERSION", "4.0.0"),)))
    (tmp_path / "artifacts" / "build").mkdir(parents=True)
    taken, notes = take_kept(tmp_path, _whole(), LEFT, "runner exec x test")
    assert taken == (Taken("test", "build", "20261207-3", True, (("VERSION", "4.0.0"),)),)
    assert notes == [
        "job 'test' takes the artifacts and dotenv variables of 'build' from its run "
        "20261207-3; add --needs to run 'build' again first",
        "job 'test' runs without 'lint', which it needs; add --needs to run them first",
    ]
    test = dataclasses.replace(_whole().job("test"), needs=())  # as select_jobs leaves it
    layout = RunLayout(Path("/p"), "r", tmp_path / "cache", tmp_path)
    assert artifact_layers(layout, taken, test) == [tmp_path / "artifacts" / "build"]
    assert taken_dotenv(taken, test) == [("VERSION", "4.0.0")]
    assert taken_dotenv(taken, _whole().job("build")) == []


def test_a_passing_run_that_kept_no_artifacts_layers_none(tmp_path: Path) -> None:
    """An older run's artifacts dir is not taken for a passing run that kept none."""
    write_record(tmp_path, "build", Record("20261207-4", "success", True, False))
    (tmp_path / "artifacts" / "build").mkdir(parents=True)
    taken, _ = take_kept(tmp_path, _whole(), LEFT[:1], "runner exec x test")
    assert taken == (Taken("test", "build", "20261207-4", False),)


def test_records_are_never_read_through_a_link(tmp_path: Path) -> None:
    """A project that ships .runner/kept as a link (to another tenant's) is refused."""
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    write_record(elsewhere, "build", Record("20261207-5", "success", True, False))
    state = tmp_path / "state"
    state.mkdir()
    os.symlink(elsewhere / "kept", state / "kept")
    with pytest.raises(UserInputError, match="symbolic link"):
        take_kept(state, _whole(), LEFT[:1], "runner exec x test")
    (state / "kept").unlink()
    (state / "kept").mkdir()
    os.symlink(record_path(elsewhere, "build"), record_path(state, "build"))
    assert read_record(state, "build") is None


def test_manual_and_on_failure_needs_never_passed_are_left_out_with_a_note(
        tmp_path: Path) -> None:
    """An earlier stage's manual or on_failure job need not have passed: a passing pipeline
    leaves them unrun too, and its later jobs still run (GitLab)."""
    jobs = (Job("approve", "i", ("ok",), when=When.MANUAL, allow_failure=True),
            Job("cleanup", "i", ("rm",), when=When.ON_FAILURE),
            Job("ship", "i", ("ship",), needs=(Need("approve"), Need("cleanup"))))
    whole = Pipeline(Path("/p/.gitlab-ci.yml"), Path("/p"), jobs)
    write_record(tmp_path, "cleanup", Record("20261207-6", "failed", False, True))
    left = [("ship", Need("approve")), ("ship", Need("cleanup"))]
    taken, notes = take_kept(tmp_path, whole, left, "runner exec x ship")
    assert taken == ()
    assert notes == ["job 'ship' runs without 'approve', 'cleanup', which it needs; add "
                     "--needs to run them first"]
