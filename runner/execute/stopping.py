"""Stopping a job's script: politely through its supervisor, then from outside.

TERM and KILL go through the supervisor (PID 1), so that after_script can
still run; but the job runs as root in its container and can stop PID 1
(``ptrace``), so if the script has not ended one more grace period later,
or on a second Ctrl-C, the container itself is killed from outside
(``JobContainer.kill``), without any cooperation from inside (issue 14, H5).
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable

from runner.engine.podman import ContainerGone, JobContainer


async def stop_script(container: JobContainer, task: asyncio.Task[int], grace_s: float,
                      killing: asyncio.Event, notice: Callable[[str], None]) -> int | None:
    """TERM the script; KILL it after ``grace_s``; end the container after another.

    ``killing`` (a second Ctrl-C, an agent's hard cancel) skips to the end.
    The script's exit status, or None when the container had to be killed.
    """
    await container.interrupt()
    kill = asyncio.create_task(killing.wait())
    try:
        for hard in (True, False):
            done, _ = await asyncio.wait({task, kill}, timeout=grace_s,
                                         return_when=asyncio.FIRST_COMPLETED)
            if task in done:
                return task.result()
            if kill in done:
                await container.kill()
                return await task  # the container is gone: the job is "killed"
            if hard:
                await container.interrupt(hard=True)
        notice("runner: the job's container did not stop its script; killing the container")
        await container.kill()
        with contextlib.suppress(ContainerGone):
            return await task
        return None
    finally:
        kill.cancel()
