"""A job's disk limit, watched from outside: rootless podman has no disk quota on ext4/overlay.

What counts is the job's workspace plus its container's own writes (the
overlay upper dir), measured by the namespace helper, which can read every
file of the job's slice.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from pathlib import Path

from runner.engine.namespace import NamespaceHelper
from runner.engine.podman import JobContainer
from runner.pipeline.sizes import show_size

DISK_POLL_S = 2.0


class DiskWatch:
    """Measures one job attempt's disk use against ``limit`` bytes; says so once it is over."""

    def __init__(self, helper: NamespaceHelper, workspace: Path, limit: int,
                 notice: Callable[[str], None]) -> None:
        self.helper = helper
        self.workspace = workspace
        self.limit = limit
        self.notice = notice
        self._upper: Path | None = None
        """The container's overlay upper dir, found once."""

    async def watch(self, container: JobContainer) -> None:
        """Return once the job's workspace and container writes take more than the limit.

        Polled; a job can overshoot by what it writes in one interval, which the host must spare.
        """
        while not await self.over(container):
            await asyncio.sleep(DISK_POLL_S)

    async def over(self, container: JobContainer) -> bool:
        """Whether the workspace and the container's own writes take more than the limit."""
        if self._upper is None:
            self._upper = await container.upper_dir() or self.workspace
        used = await self.helper.disk_usage(self.workspace, self._upper)
        if used <= self.limit:
            return False
        self.notice(f"runner: the job uses {show_size(used)} of disk, more than its "
                    f"limit of {show_size(self.limit)}; stopping it")
        return True
