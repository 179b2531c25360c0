"""Matrix groups: fail-fast stops queued instances, max-parallel caps them, results map."""

from __future__ import annotations

import asyncio

from runner.execute.matrix import MatrixGroups, need_status
from runner.execute.results import JobResult, JobStatus
from runner.pipeline.model import Job
from runner.pipeline.steps import MatrixGroup, StepStatus


def job(name: str, group: MatrixGroup | None) -> Job:
    return Job(name=name, image="img", script=("true",), group=group)


def test_fail_fast_stops_the_others_and_only_in_its_group() -> None:
    fast, slow = MatrixGroup("test"), MatrixGroup("lint", fail_fast=False)
    jobs = [job("test (1)", fast), job("test (2)", fast), job("lint (1)", slow),
            job("lint (2)", slow), job("other", None)]
    groups = MatrixGroups(jobs)
    assert groups.stopped(jobs[1]) is None
    groups.ended(jobs[0], JobResult("test (1)", JobStatus.FAILED))
    groups.ended(jobs[2], JobResult("lint (1)", JobStatus.FAILED))
    stop = groups.stopped(jobs[1])
    assert stop is not None and stop.status is JobStatus.CANCELED
    assert stop.note == "fail-fast: matrix job 'test (1)' failed"
    assert groups.stopped(jobs[3]) is None
    assert groups.stopped(jobs[4]) is None


def test_an_allowed_failure_does_not_fail_fast() -> None:
    group = MatrixGroup("t")
    jobs = [job("t (1)", group), job("t (2)", group)]
    groups = MatrixGroups(jobs)
    groups.ended(jobs[0], JobResult("t (1)", JobStatus.FAILED, allowed_failure=True))
    assert groups.stopped(jobs[1]) is None


def test_max_parallel_caps_instances() -> None:
    group = MatrixGroup("t", max_parallel=2)
    jobs = [job(f"t ({i})", group) for i in range(5)]
    groups = MatrixGroups(jobs)
    running, peak = 0, 0

    async def one(item: Job) -> None:
        nonlocal running, peak
        async with groups.slot(item):
            running += 1
            peak = max(peak, running)
            await asyncio.sleep(0.01)
            running -= 1

    async def all_of_them() -> None:
        await asyncio.gather(*(one(item) for item in jobs))

    asyncio.run(all_of_them())
    assert peak == 2


def test_need_status_in_githubs_words() -> None:
    assert need_status(JobResult("a", JobStatus.SUCCESS)) is StepStatus.SUCCESS
    assert need_status(JobResult("a", JobStatus.FAILED)) is StepStatus.FAILURE
    assert need_status(JobResult("a", JobStatus.TIMED_OUT)) is StepStatus.FAILURE
    assert need_status(JobResult("a", JobStatus.FAILED, allowed_failure=True)) is \
        StepStatus.SUCCESS
    assert need_status(JobResult("a", JobStatus.SKIPPED)) is StepStatus.SKIPPED
    assert need_status(JobResult("a", JobStatus.CANCELED)) is StepStatus.CANCELLED


def test_a_failure_sets_the_matrix_stop_event_running_instances_watch() -> None:
    stops: dict[str, asyncio.Event] = {}
    fast, slow = MatrixGroup("t"), MatrixGroup("l", fail_fast=False)
    jobs = [job("t (1)", fast), job("t (2)", fast), job("l (1)", slow)]
    groups = MatrixGroups(jobs, stops)
    assert set(stops) == {"t"} and not stops["t"].is_set()
    groups.ended(jobs[2], JobResult("l (1)", JobStatus.FAILED))
    groups.ended(jobs[0], JobResult("t (1)", JobStatus.FAILED))
    assert stops["t"].is_set()
    assert groups.failed("t") == "t (1)" and groups.failed("l") is None
