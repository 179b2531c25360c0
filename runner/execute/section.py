"""One script file of a job, run until something ends it: itself, a timeout, Ctrl-C, a disk limit.

Apart from ``job`` because this is the one place that races a running script
against everything that may stop it and turns whichever comes first into an
``Outcome``; the attempt around it prepares the container, picks the script
files (script, then the after_script for the outcome) and keeps results.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable

from runner.engine.argv import CONTROL_DIR
from runner.engine.podman import JobContainer
from runner.execute.context import Outcome
from runner.execute.diskwatch import DiskWatch
from runner.execute.interrupt import Interruption
from runner.execute.results import JobStatus
from runner.execute.stopping import stop_script
from runner.logs.joblog import JobLog
from runner.pipeline.model import RetryOn


async def run_section(
    container: JobContainer, script: str, joblog: JobLog, *, timeout_s: float, cancelable: bool,
    interruption: Interruption, grace_s: float, disk: DiskWatch | None,
    sink: Callable[[bytes], None] | None = None,
) -> Outcome:
    """Run one script file, stopping it on timeout, Ctrl-C (if ``cancelable``) or kill.

    ``grace_s`` is the run's grace period for ``stopping.stop_script``; ``disk``
    watches the job's disk limit while the script runs, if it has one. ``sink``
    takes the output instead of the job log (a stepped job's session, which acts
    on workflow commands before the log sees the lines).
    """
    if cancelable and interruption.canceling.is_set():
        return Outcome(JobStatus.CANCELED)  # Ctrl-C came first: start nothing new
    task = asyncio.create_task(container.run(f"{CONTROL_DIR}/{script}", sink or joblog.output))
    stop = asyncio.create_task(
        (interruption.canceling if cancelable else interruption.killing).wait()
    )
    watch = asyncio.create_task(disk.watch(container)) if disk else None

    async def stopped() -> int | None:
        return await stop_script(container, task, grace_s, interruption.killing, joblog.notice)

    try:
        done, _ = await asyncio.wait({task, stop} | ({watch} if watch else set()),
                                     timeout=timeout_s, return_when=asyncio.FIRST_COMPLETED)
        if task in done:
            return await _ended(container, task.result(), disk)
        if stop in done:
            return Outcome(JobStatus.CANCELED, await stopped())
        if watch is not None and watch in done:
            return Outcome(JobStatus.FAILED, await stopped(), note="disk limit exceeded",
                           failure=RetryOn.SCRIPT_FAILURE)
        return Outcome(JobStatus.TIMED_OUT, await stopped(), failure=RetryOn.TIMEOUT)
    finally:
        if watch is not None:
            watch.cancel()
        stop.cancel()
        if not task.done():
            task.cancel()


async def _ended(container: JobContainer, code: int, disk: DiskWatch | None) -> Outcome:
    """A script that ended by itself: its exit code, unless it went over its disk limit."""
    if disk and await disk.over(container):
        # one last look: a burst between two polls must not get through
        return Outcome(JobStatus.FAILED, code, note="disk limit exceeded",
                       failure=RetryOn.SCRIPT_FAILURE)
    if code == 0:
        return Outcome(JobStatus.SUCCESS, code)
    return Outcome(JobStatus.FAILED, code, failure=RetryOn.SCRIPT_FAILURE)
