"""Stopping a tool we started in its own process group: TERM, a grace period, then KILL.

buildah removes its working container on TERM and podman's API service stops
its listeners; both get the chance, and neither can keep us waiting.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal


async def stop_group(proc: asyncio.subprocess.Process, grace_s: float) -> None:
    """TERM ``proc``'s process group (started with ``start_new_session``), KILL it after
    ``grace_s``; returns once the process has been reaped."""
    if proc.returncode is not None:
        return
    with contextlib.suppress(ProcessLookupError):
        os.killpg(proc.pid, signal.SIGTERM)
    try:
        await asyncio.wait_for(proc.wait(), grace_s)
    except TimeoutError:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)
        await proc.wait()
