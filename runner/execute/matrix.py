"""The instances of a matrix job (GitHub's ``strategy``): fail-fast and max-parallel.

GitHub cancels a matrix's other instances when one fails (``fail-fast``, on
by default) and runs at most ``max-parallel`` of them at once. The scheduler
asks here before an instance takes a run slot; an instance already running
watches its matrix's stop event (``RunContext.matrix_stops``) and is cancelled
as a Ctrl-C cancels it: the running step is stopped, steps that run on
``always()``/``cancelled()`` still run.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Iterable

from runner.execute.context import Outcome
from runner.execute.results import JobResult, JobStatus
from runner.pipeline.model import Job
from runner.pipeline.steps import StepStatus


def need_status(result: JobResult) -> StepStatus:
    """How a job ended in GitHub's words (``needs.X.result``); a failure allowed by
    ``continue-on-error`` counts as success, as it does for GitHub's dependants."""
    if result.status is JobStatus.SUCCESS or (result.allowed_failure and result.status in (
            JobStatus.FAILED, JobStatus.TIMED_OUT)):
        return StepStatus.SUCCESS
    if result.status is JobStatus.SKIPPED:
        return StepStatus.SKIPPED
    if result.status is JobStatus.CANCELED:
        return StepStatus.CANCELLED
    return StepStatus.FAILURE


class MatrixGroups:
    """Per matrix: a semaphore for ``max_parallel`` and the first failure, for fail-fast."""

    def __init__(self, jobs: Iterable[Job],
                 stops: dict[str, asyncio.Event] | None = None) -> None:
        self._slots: dict[str, asyncio.Semaphore] = {}
        self._failed: dict[str, str] = {}
        self._stops = stops if stops is not None else {}
        """Set per matrix on its first failure: running instances watch it (``stepped``)."""
        for job in jobs:
            group = job.group
            if group is not None and group.max_parallel and group.name not in self._slots:
                self._slots[group.name] = asyncio.Semaphore(group.max_parallel)
            if group is not None and group.fail_fast:
                self._stops.setdefault(group.name, asyncio.Event())

    @contextlib.asynccontextmanager
    async def slot(self, job: Job) -> AsyncIterator[None]:
        """Held while ``job`` runs: one of its matrix's ``max_parallel`` places, if capped."""
        slots = self._slots.get(job.group.name) if job.group is not None else None
        if slots is None:
            yield
            return
        async with slots:
            yield

    def stopped(self, job: Job) -> Outcome | None:
        """Why ``job`` must not start (its matrix failed fast), or None."""
        group = job.group
        if group is None or not group.fail_fast or group.name not in self._failed:
            return None
        return Outcome(JobStatus.CANCELED,
                       note=f"fail-fast: matrix job {self._failed[group.name]!r} failed")

    def ended(self, job: Job, result: JobResult) -> None:
        """Note a failed instance (one not allowed to fail) for fail-fast."""
        group = job.group
        if (group is not None and group.fail_fast and result.failed
                and not result.allowed_failure):
            self._failed.setdefault(group.name, job.name)
            self._stops.setdefault(group.name, asyncio.Event()).set()

    def failed(self, group: str) -> str | None:
        """The instance whose failure stopped the matrix ``group``, if one did."""
        return self._failed.get(group)
