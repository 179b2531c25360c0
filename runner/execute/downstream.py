"""What a trigger job does in a local run: start its child pipeline, or say why not.

A trigger job runs no container. GitLab's bridge succeeds as soon as its
downstream pipeline is created, or with ``strategy: depend`` ends with that
pipeline's status (Ci::Bridge, CreateDownstreamPipelineService); a child that
cannot be created (a bad generated file, too deep) fails it. A multi-project
pipeline lives in another project, so it is skipped here with a note, and
holds nothing up.

The child's jobs run in the same scheduler as the parent's (``start``), so
they share its slots, its run directory and the parent's artifacts.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable

from runner.errors import RunnerError
from runner.execute.context import RunContext
from runner.execute.policy import failure_allowed
from runner.execute.results import JobResult, JobStatus
from runner.logs.joblog import JobLog
from runner.pipeline.model import Job, Pipeline, Trigger

ChildStarter = Callable[[Job, Pipeline], Awaitable[list[JobResult]]]
"""Starts a trigger job's child jobs; the awaitable gives their results when all are done."""


async def run_trigger(ctx: RunContext, job: Job, joblog: JobLog,
                      start: ChildStarter) -> JobResult:
    """Create ``job``'s downstream pipeline and, with ``strategy: depend``, wait for it."""
    trigger = job.trigger
    assert trigger is not None
    began = time.monotonic()

    def ended(status: JobStatus, note: str) -> JobResult:
        result = JobResult(job.name, status, time.monotonic() - began,
                           allowed_failure=failure_allowed(job, status, None), attempts=1,
                           note=note, log=ctx.layout.log(job.name), tail=joblog.tail())
        joblog.notice(f"runner: job {status.value}"
                      + (" (allowed to fail)" if result.passed and status is not
                         JobStatus.SUCCESS else ""))
        return result

    if trigger.project is not None:
        note = f"multi-project pipeline {trigger.project} is not run locally"
        joblog.notice(f"runner: skipped: {note}")
        return JobResult(job.name, JobStatus.SKIPPED, note=note, elsewhere=True)
    child = _child(ctx, trigger, joblog)
    if child is None:
        return ended(JobStatus.FAILED, "the child pipeline could not be created")
    if not child.jobs:
        joblog.notice("runner: the child pipeline has no jobs (their rules leave every one out);"
                      " GitLab does not create an empty pipeline")
        return ended(JobStatus.FAILED, "the child pipeline has no jobs")
    for note in child.notes:
        if note not in ctx.pipeline.notes:  # the user was told those when the run started
            joblog.notice(f"runner: child pipeline: {note}")
    names = ", ".join(repr(child_job.name) for child_job in child.jobs)
    joblog.notice(f"runner: starting the child pipeline: {names}")
    results = start(job, child)
    if not trigger.depend:
        # GitLab's bridge succeeds once its pipeline exists; the child runs on by itself.
        return ended(JobStatus.SUCCESS, "child pipeline started (no 'strategy: depend')")
    status, note = _mirrored(await results, joblog)
    return ended(status, note)


def _mirrored(done: list[JobResult], joblog: JobLog) -> tuple[JobStatus, str]:
    """The child pipeline's status, which a ``strategy: depend`` trigger job takes."""
    if any(result.status is JobStatus.CANCELED for result in done):
        return JobStatus.CANCELED, "child pipeline canceled"
    failed = [result.name for result in done if result.failed]
    if failed:
        joblog.notice("runner: the child pipeline failed (strategy: depend): "
                      + ", ".join(repr(name) for name in failed) + " failed")
        return JobStatus.FAILED, "child pipeline failed"
    joblog.notice("runner: the child pipeline passed (strategy: depend)")
    return JobStatus.SUCCESS, "child pipeline passed"


def _child(ctx: RunContext, trigger: Trigger, joblog: JobLog) -> Pipeline | None:
    """The child pipeline, translated now if it comes from upstream artifacts; None if bad."""
    if trigger.failure is not None:
        joblog.notice(f"runner: {trigger.failure}")
        return None
    if trigger.child is not None:
        return trigger.child
    assert trigger.load is not None
    dirs = tuple(ctx.layout.artifacts(name) for name in trigger.artifact_jobs)
    try:
        return trigger.load(dirs)
    except RunnerError as exc:
        joblog.notice(f"runner: the child pipeline could not be created: {exc}")
        return None
