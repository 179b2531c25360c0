"""Running named jobs only, with or without what they need."""

from __future__ import annotations

from pathlib import Path

import pytest

from runner.errors import UsageError
from runner.pipeline.model import Job, Need, Pipeline
from runner.pipeline.select import expand_names, left_out, select_jobs


def _pipeline() -> Pipeline:
    jobs = (
        Job("build", "i", ("make",)),
        Job("lint", "i", ("lint",)),
        Job("test", "i", ("test",), needs=(Need("build"),)),
        Job("deploy", "i", ("ship",), needs=(Need("test"), Need("lint", artifacts=False))),
    )
    return Pipeline(Path("/p/.gitlab-ci.yml"), Path("/p"), jobs)


def test_named_job_alone_drops_needs_and_left_out_names_them() -> None:
    """Without --needs the job runs alone; ``left_out`` says what it would have waited for."""
    whole = _pipeline()
    got = select_jobs(whole, ["deploy"], with_needs=False)
    assert [(job.name, job.needs) for job in got.jobs] == [("deploy", ())]
    assert left_out(whole, got) == [("deploy", Need("test")),
                                    ("deploy", Need("lint", artifacts=False))]


def test_with_needs_takes_everything_upstream_in_file_order() -> None:
    """--needs adds the transitive needs; untouched jobs keep their needs exactly."""
    whole = _pipeline()
    got = select_jobs(whole, ["test"], with_needs=True)
    assert [(job.name, job.needs) for job in got.jobs] == [
        ("build", ()), ("test", (Need("build"),))]
    assert got.notes == ()
    assert left_out(whole, got) == []


def test_unknown_name_suggests_the_closest() -> None:
    """A typo in a job name is a usage error with a suggestion."""
    with pytest.raises(UsageError) as info:
        select_jobs(_pipeline(), ["tset"], with_needs=False)
    assert str(info.value) == "no job 'tset' in /p/.gitlab-ci.yml; did you mean 'test'?"


def _parallel() -> Pipeline:
    names = ["unit: [3.11, x]", "unit: [3.12, x]", "units", "shard 1/2", "shard 2/2",
             "lint", "lint 1/1"]
    return Pipeline(Path("/p/.gitlab-ci.yml"), Path("/p"),
                    tuple(Job(name, "i", ("true",)) for name in names))


def test_a_base_name_selects_every_instance_of_a_parallel_job() -> None:
    """`unit` is each `unit: [...]`, `shard` each `shard i/N`; a job of that exact name wins,
    and a longer name that merely starts the same is not an instance."""
    pipeline = _parallel()
    assert expand_names(pipeline, ["unit", "shard"]) == [
        "unit: [3.11, x]", "unit: [3.12, x]", "shard 1/2", "shard 2/2"]
    assert expand_names(pipeline, ["lint", "shard 2/2", "shard"]) == [
        "lint", "shard 2/2", "shard 1/2"]
    got = select_jobs(pipeline, ["unit"], with_needs=False)
    assert [job.name for job in got.jobs] == ["unit: [3.11, x]", "unit: [3.12, x]"]
    with pytest.raises(UsageError, match="no job 'uni'"):
        expand_names(pipeline, ["uni"])


def test_a_matrix_group_name_selects_every_instance_and_one_instance_alone() -> None:
    """GitHub's ``test`` selects ``test (3.11, ubuntu)`` and its siblings; a full instance
    name selects that one."""
    from runner.pipeline.steps import MatrixGroup  # noqa: PLC0415

    group = MatrixGroup("test")
    jobs = (Job("build", "i", ()),
            Job("test (3.11, ubuntu)", "i", (), needs=(Need("build"),), group=group),
            Job("test (3.12, ubuntu)", "i", (), needs=(Need("build"),), group=group))
    pipeline = Pipeline(Path("/p/.github/workflows/ci.yml"), Path("/p"), jobs)
    assert expand_names(pipeline, ["test"]) == ["test (3.11, ubuntu)", "test (3.12, ubuntu)"]
    assert expand_names(pipeline, ["test (3.12, ubuntu)"]) == ["test (3.12, ubuntu)"]
    chosen = select_jobs(pipeline, ["test (3.12, ubuntu)"], with_needs=True)
    assert [job.name for job in chosen.jobs] == ["build", "test (3.12, ubuntu)"]
