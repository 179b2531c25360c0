"""The agent's one file helper (``NamespaceHelper``), shared by all running jobs.

Each ``runner exec`` starts its own helper; the agent keeps one, started with
the first job and stopped after ``HELPER_IDLE_S`` without one, so an idle
agent is one small process. A helper that died (OOM killer, podman upgrade)
is replaced at the next job.
"""

from __future__ import annotations

import asyncio
import shutil
from pathlib import Path

import structlog

from runner.engine.namespace import NamespaceHelper

log = structlog.get_logger(__name__)

HELPER_IDLE_S = 30.0


class HelperKeeper:
    """Starts, shares, idles out and closes the helper."""

    def __init__(self) -> None:
        self._helper: NamespaceHelper | None = None
        self._idle: asyncio.Task[None] | None = None

    def for_job(self) -> NamespaceHelper:
        """The helper a starting job uses: alive, and kept while jobs run."""
        if self._idle is not None:
            self._idle.cancel()
            self._idle = None
        if self._helper is not None and not self._helper.alive():
            log.warning("namespace_helper_restarted")
            self._helper = None
        if self._helper is None:
            self._helper = NamespaceHelper.started()
        return self._helper

    async def remove(self, path: Path) -> None:
        """A job's directory: ours, but for what job slices own, which the helper removes."""
        await asyncio.to_thread(shutil.rmtree, path, True)
        if path.exists():
            if self._helper is None or not self._helper.alive():
                self._helper = NamespaceHelper.started()
            await self._helper.remove(path)

    def no_jobs(self) -> None:
        """The last running job ended: stop the helper if none starts for a while."""
        if self._idle is None:
            self._idle = asyncio.create_task(self._idle_out())

    async def _idle_out(self) -> None:
        await asyncio.sleep(HELPER_IDLE_S)
        self._idle = None
        await self.close()

    async def close(self) -> None:
        """Stop the helper now (at shutdown, or idle)."""
        if self._idle is not None and self._idle is not asyncio.current_task():
            self._idle.cancel()
            self._idle = None
        helper, self._helper = self._helper, None
        if helper is not None:
            await helper.close()
