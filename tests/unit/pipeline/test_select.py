"""Running named jobs only, with or without what they need."""

from __future__ import annotations

from pathlib import Path

import pytest

from runner.errors import UsageError
from runner.pipeline.model import Job, Need, Pipeline
from runner.pipeline.select import select_jobs


def _pipeline() -> Pipeline:
    jobs = (
        Job("build", "i", ("make",)),
        Job("lint", "i", ("lint",)),
        Job("test", "i", ("test",), needs=(Need("build"),)),
        Job("deploy", "i", ("ship",), needs=(Need("test"), Need("lint", artifacts=False))),
    )
    return Pipeline(Path("/p/.gitlab-ci.yml"), Path("/p"), jobs)


def test_named_job_alone_drops_needs_and_says_so() -> None:
    """Without --needs the job runs alone; a note names what it would have waited for."""
    got = select_jobs(_pipeline(), ["deploy"], with_needs=False)
    assert [(job.name, job.needs) for job in got.jobs] == [("deploy", ())]
    assert got.notes == ("job 'deploy' runs without 'test', 'lint', which it needs; add "
                         "--needs to run them first",)


def test_with_needs_takes_everything_upstream_in_file_order() -> None:
    """--needs adds the transitive needs; untouched jobs keep their needs exactly."""
    got = select_jobs(_pipeline(), ["test"], with_needs=True)
    assert [(job.name, job.needs) for job in got.jobs] == [
        ("build", ()), ("test", (Need("build"),))]
    assert got.notes == ()


def test_unknown_name_suggests_the_closest() -> None:
    """A typo in a job name is a usage error with a suggestion."""
    with pytest.raises(UsageError) as info:
        select_jobs(_pipeline(), ["tset"], with_needs=False)
    assert str(info.value) == "no job 'tset' in /p/.gitlab-ci.yml; did you mean 'test'?"
