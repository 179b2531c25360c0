"""Runs a pipeline's DAG: containers start early, jobs start as soon as their needs allow.

Two limits apply. ``concurrency`` bounds the jobs running scripts at once.
A larger "warm" bound lets containers of waiting jobs start ahead of time,
since the whole DAG is known up front; jobs take warm slots in topological
order, so a waiting job can never hold a slot its own needs are waiting for.

The head start is kept only where it cannot change what a job runs
(``freshness``): an image named by a tag is resolved after the job's needs.

Manual jobs run only when the user names them. One left out that may not
fail blocks every job downstream of it, as a blocking manual job does in GitLab.

A trigger job takes no slot: it starts its child pipeline's jobs in this
same scheduler (``downstream``). Jobs after a trigger job take a warm slot
only once it is done, so they never hold the slots its child's jobs need.
"""

from __future__ import annotations

import asyncio
import contextlib
import re
import shlex
import time
from collections.abc import Iterable, Sequence

import structlog

from runner.engine.argv import StoreSpec
from runner.engine.podman import ContainerGone, ImageUnavailable, force_remove
from runner.execute.build_job import BuildAttempt
from runner.execute.context import Outcome, RunContext
from runner.execute.downstream import run_trigger
from runner.execute.freshness import starts_early
from runner.execute.job import JobAttempt
from runner.execute.matrix import MatrixGroups, need_status
from runner.execute.policy import failure_allowed, should_retry
from runner.execute.results import JobResult, JobStatus
from runner.execute.timing import StartClock, job_duration
from runner.logs.joblog import JobLog
from runner.pipeline.dag import topological_order, upstream
from runner.pipeline.model import Job, Pipeline, RetryOn, When
from runner.pipeline.steps import NeedResult

log = structlog.get_logger(__name__)


class Scheduler:
    """One run of one pipeline; ``run`` returns a result per job, in file order."""

    def __init__(self, ctx: RunContext) -> None:
        self.ctx = ctx
        concurrency = ctx.settings.concurrency
        self._slots = asyncio.Semaphore(concurrency)
        self._warm = asyncio.Semaphore(max(2 * concurrency, concurrency + 2))
        self._done = {job.name: asyncio.Event() for job in ctx.pipeline.jobs}
        self._results: dict[str, JobResult] = {}
        self._manual_blockers: dict[str, frozenset[str]] = {}
        """For jobs skipped only because of blocking manual jobs: those manual jobs."""
        self._jobs = list(ctx.pipeline.jobs)
        """Every job known so far: the pipeline's, then those of child pipelines started."""
        self._children: dict[str, tuple[str, ...]] = {}
        """Jobs of the child pipeline each trigger job started, in their file order."""
        self._tasks: list[asyncio.Task[None]] = []
        self._triggers = {job.name for job in self._jobs if job.trigger is not None}
        self._groups = MatrixGroups(self._jobs, ctx.matrix_stops)

    async def run(self) -> list[JobResult]:
        """Run every job; whatever happens, no container of this run is left behind."""
        jobs = self.ctx.pipeline.jobs
        try:
            pipeline = self.ctx.pipeline
            tasks = self._tasks
            tasks += [asyncio.create_task(self._job(pipeline.job(name)))
                      for name in topological_order(jobs)]
            try:
                while not all(task.done() for task in tasks):  # child pipelines add tasks
                    await asyncio.gather(*tasks)
            except BaseException:
                for task in tasks:  # a bug in one job must not leave the others running
                    task.cancel()
                await asyncio.gather(*tasks, return_exceptions=True)
                raise
        finally:
            outcomes = await asyncio.shield(
                asyncio.gather(*self.ctx.cleanups, return_exceptions=True))
            for failure in (o for o in outcomes if isinstance(o, BaseException)):
                log.warning("cleanup_failed", error=str(failure))
            by_store: dict[StoreSpec | None, list[str]] = {}
            for container in self.ctx.live:
                by_store.setdefault(container.spec.store, []).append(container.spec.name)
            for store, leftovers in by_store.items():
                with contextlib.suppress(Exception):
                    await asyncio.shield(force_remove(leftovers, self.ctx.settings.runtime, store))
            for pod in list(self.ctx.pods):
                with contextlib.suppress(Exception):
                    await asyncio.shield(pod.remove())
        return self._in_order(job.name for job in jobs)

    def _in_order(self, names: Iterable[str]) -> list[JobResult]:
        """Results of ``names``, each trigger job's child jobs right after it."""
        found: list[JobResult] = []
        for name in names:
            found.append(self._results[name])
            found += self._in_order(self._children.get(name, ()))
        return found

    async def _job(self, job: Job) -> None:
        ctx = self.ctx
        joblog = JobLog(job.name, ctx.layout.log(job.name), ctx.console,
                        list(ctx.secrets.values()), ctx.pipeline.mask)
        try:
            if job.trigger is not None:
                self._results[job.name] = await self._trigger(job, joblog)
                return
            if self._triggers:
                await _all_set([self._done[name] for name in upstream(self._jobs, job.name)
                                if name in self._triggers])
            async with self._warm:
                self._results[job.name] = await self._attempts(job, joblog)
        finally:
            result = self._results.setdefault(job.name, JobResult(job.name, JobStatus.CANCELED))
            ctx.finished[job.name] = NeedResult(need_status(result),
                                                ctx.step_outputs.get(job.name, ()))
            self._done[job.name].set()
            joblog.close()

    async def _trigger(self, job: Job, joblog: JobLog) -> JobResult:
        """A trigger job: its child pipeline, once its own needs allow (no container)."""
        skipped = _manual_skip(job, self.ctx.settings.manual, joblog)
        if skipped is not None:
            return skipped
        verdict = await self._verdict_after_needs(job)
        if verdict is not None:
            joblog.notice(f"runner: {verdict.status.value}: {verdict.note}")
            return JobResult(job.name, verdict.status, note=verdict.note)
        return await run_trigger(self.ctx, job, joblog, self._start_child)

    def _start_child(self, trigger: Job, child: Pipeline) -> asyncio.Task[list[JobResult]]:
        """Schedule ``child``'s jobs beside the running ones; the task gives their results."""
        for job in child.jobs:
            self._done[job.name] = asyncio.Event()
        self._jobs += child.jobs
        self._triggers |= {job.name for job in child.jobs if job.trigger is not None}
        self._children[trigger.name] = tuple(job.name for job in child.jobs)
        tasks = [asyncio.create_task(self._job(child.job(name)))
                 for name in topological_order(child.jobs)]
        self._tasks += tasks

        async def results() -> list[JobResult]:
            await asyncio.gather(*tasks, return_exceptions=True)
            return [self._results[job.name] for job in child.jobs]

        return asyncio.create_task(results())

    async def _attempts(self, job: Job, joblog: JobLog) -> JobResult:
        skipped = _manual_skip(job, self.ctx.settings.manual, joblog)
        if skipped is not None:
            return skipped
        attempt = _attempt(self.ctx, job, 1, joblog)
        clock = StartClock()  # the job's time includes its image fetch and container start
        # An image an upstream job may make or move is resolved only once that job is done.
        early = starts_early(self._jobs, job, self.ctx.settings.pull)
        starting = asyncio.create_task(clock.timing(attempt.start())) if early else None
        verdict = await self._verdict_after_needs(job)
        if verdict is not None:
            return await _not_run(attempt, starting, verdict)
        if starting is None:
            starting = asyncio.create_task(clock.timing(attempt.start()))
        async with self._groups.slot(job), self._slots:
            if self.ctx.interruption.canceling.is_set():  # Ctrl-C while waiting for a slot
                return await _not_run(attempt, starting, _INTERRUPTED)
            if (stop := self._groups.stopped(job)) is not None:
                return await _not_run(attempt, starting, stop)
            if job.when is When.DELAYED:
                joblog.notice("runner: when: delayed; the delay is not applied locally, the job "
                              "runs as soon as its needs allow")
            coverage = _coverage_regex(job, joblog)
            began = time.monotonic()
            number = 1
            while True:
                if coverage is not None:
                    joblog.scan_coverage(coverage)  # GitLab reads the figure from the last try
                outcome = await self._one(attempt, starting)
                if (self.ctx.interruption.canceling.is_set()
                        or not should_retry(job, outcome.status, outcome.failure, number,
                                         outcome.exit_code)):
                    _explain_no_retry(job, outcome, number, joblog)
                    break
                number += 1
                status = outcome.status.value
                joblog.notice(f"runner: {status}; retrying ({number - 1}/{job.retry})")
                attempt = _attempt(self.ctx, job, number, joblog)
                starting = asyncio.create_task(attempt.start())
            result = JobResult(
                job.name, outcome.status,
                job_duration(clock.began, clock.ended, began, time.monotonic()),
                outcome.exit_code,
                failure_allowed(job, outcome.status, outcome.exit_code), number, outcome.note,
                coverage=joblog.coverage if outcome.status is not JobStatus.CANCELED else None,
                image=outcome.output.reference if outcome.output else None,
                digest=outcome.output.digest if outcome.output else None,
                log=self.ctx.layout.log(job.name), tail=joblog.tail(),
                failed_at=outcome.failed_at, annotations=outcome.annotations,
            )
            joblog.notice(_status_line(result))
            self._groups.ended(job, result)
            return result

    async def _one(self, attempt: Attempt, starting: asyncio.Task[None]) -> Outcome:
        self.ctx.dotenv.pop(attempt.job.name, None)  # only the last attempt's reports count
        try:
            await starting
        except ContainerGone as exc:
            attempt.joblog.notice(f"runner: {exc}")
            await attempt.discard()
            note = ("image could not be fetched" if isinstance(exc, ImageUnavailable)
                    else "container did not start")
            return Outcome(JobStatus.FAILED, note=note, failure=RetryOn.SYSTEM_FAILURE)
        return await attempt.run()

    async def _verdict_after_needs(self, job: Job) -> Outcome | None:
        """None if the job should run; otherwise why it does not."""
        interruption = self.ctx.interruption
        events = [self._done[need.job] for need in job.needs if need.job in self._done]
        if events:
            waiting = asyncio.create_task(_all_set(events))
            stop = asyncio.create_task(interruption.canceling.wait())
            await asyncio.wait({waiting, stop}, return_when=asyncio.FIRST_COMPLETED)
            stop.cancel()
            waiting.cancel()
        if interruption.canceling.is_set():
            return _INTERRUPTED
        return self._verdict(job)

    def _verdict(self, job: Job) -> Outcome | None:
        results = self._results
        if job.condition is not None:  # the dialect's rules replace ``when``'s
            above = upstream(self._jobs, job.name)
            needs = {name: self.ctx.finished[name] for name in above if name in self.ctx.finished}
            if job.condition.holds(needs, self.ctx.interruption.canceling.is_set()):
                return None
            return Outcome(JobStatus.SKIPPED, note=f"if: {job.condition.text} is false")
        if job.when is When.ALWAYS:
            return None
        if job.when is When.ON_FAILURE:
            above = upstream(self._jobs, job.name)
            if any(name in results and results[name].failed for name in above):
                return None
            return Outcome(JobStatus.SKIPPED, note="when: on_failure and nothing failed")
        blocked = [need.job for need in job.needs
                   if need.job not in results or not results[need.job].passed]
        return self._why_blocked(job, blocked) if blocked else None

    def _why_blocked(self, job: Job, blocked: Sequence[str]) -> Outcome:
        """Why ``job`` does not run although it should: needs that did not pass."""
        absent = [name for name in blocked if name not in self._results]
        if absent:  # a child's need on a parent job that this run does not have
            return Outcome(JobStatus.SKIPPED,
                           note=f"needed job {_names(absent)} is not in this run")
        manual = self._blocking_manual(blocked)
        if manual is None:
            return Outcome(JobStatus.SKIPPED, note=f"needed job {_names(blocked)} did not pass")
        self._manual_blockers[job.name] = manual
        names = sorted(manual)
        flags = " ".join(f"--manual {shlex.quote(name)}" for name in names)
        which = f"job {_names(names)}" if len(names) == 1 else f"jobs {_names(names)}"
        them = "it" if len(names) == 1 else "them"
        return Outcome(JobStatus.SKIPPED, note=f"blocked by manual {which} (not allowed to "
                       f"fail); run {them} with {flags}")

    def _blocking_manual(self, blocked: Iterable[str]) -> frozenset[str] | None:
        """The blocking manual jobs behind every need in ``blocked``; None if any truly failed."""
        found: set[str] = set()
        for name in blocked:
            if name in self._results and self._results[name].manual:
                found.add(name)
            elif name in self._manual_blockers:
                found |= self._manual_blockers[name]
            else:
                return None
        return frozenset(found)


_INTERRUPTED = Outcome(JobStatus.CANCELED, note="pipeline interrupted")


def _manual_skip(job: Job, manual: frozenset[str], joblog: JobLog) -> JobResult | None:
    """A ``when: manual`` job the user did not name is skipped, not even a container started."""
    if job.when is not When.MANUAL or job.name in manual:
        return None
    note = f"manual job; run it with --manual {shlex.quote(job.name)}"
    joblog.notice(f"runner: skipped: {note}")
    return JobResult(job.name, JobStatus.SKIPPED, allowed_failure=job.allow_failure,
                     note=note, manual=True)


Attempt = JobAttempt | BuildAttempt


def _attempt(ctx: RunContext, job: Job, number: int, joblog: JobLog) -> Attempt:
    """A container job's attempt, or a build job's."""
    if job.build is not None:
        return BuildAttempt(ctx, job, number, joblog)
    return JobAttempt(ctx, job, number, joblog)


async def _not_run(attempt: Attempt, starting: asyncio.Task[None] | None,
                   why: Outcome) -> JobResult:
    """A job that will not run: drop its pre-started container and say why."""
    if starting is not None:
        with contextlib.suppress(ContainerGone):
            await starting
    await attempt.discard()
    attempt.joblog.notice(f"runner: {why.status.value}: {why.note}")
    return JobResult(attempt.job.name, why.status, note=why.note)


def _coverage_regex(job: Job, joblog: JobLog) -> re.Pattern[str] | None:
    """The job's coverage regex, compiled; a bad one is reported, not fatal."""
    if job.coverage is None:
        return None
    try:
        return re.compile(job.coverage)
    except re.error as exc:
        joblog.notice(f"runner: warning: coverage regex is not valid ({exc}); no coverage figure")
        return None


def _explain_no_retry(job: Job, outcome: Outcome, attempts: int, joblog: JobLog) -> None:
    """Say why a failed job with retries left is not retried (``retry:when``)."""
    if outcome.failure is None or attempts > job.retry:
        return
    if job.retry_exit_codes and outcome.failure not in job.retry_on:
        codes = ", ".join(map(str, job.retry_exit_codes))
        kinds = "".join(f" or a {kind.value}" for kind in job.retry_on)
        got = f"exit code {outcome.exit_code}" if outcome.exit_code is not None else "no exit code"
        joblog.notice(f"runner: not retrying: {got} is not one of retry:exit_codes ({codes})"
                      f"{kinds}")
    elif job.retry_on and outcome.failure not in job.retry_on:
        kinds = ", ".join(kind.value for kind in job.retry_on)
        joblog.notice(f"runner: not retrying: {outcome.failure.value} is not one of the "
                      f"failures retry is limited to ({kinds})")


async def _all_set(events: Sequence[asyncio.Event]) -> None:
    for event in events:
        await event.wait()


def _names(names: Sequence[str]) -> str:
    return ", ".join(repr(name) for name in names)


def _status_line(result: JobResult) -> str:
    took = f" in {result.duration_s:.2f}s" if result.duration_s is not None else ""
    code = f" (exit {result.exit_code})" if result.exit_code not in (None, 0) else ""
    allowed = ""
    if result.passed and result.status is not JobStatus.SUCCESS:
        allowed = " (allowed to fail)"
    return f"runner: job {result.status.value}{code}{took}{allowed}"
