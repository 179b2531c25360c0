"""A job's disk limit: every place on the host the job can write to, counted while it runs.

Rootless podman has no disk quota on ext4/overlay, so the limit is polled:
a job can overshoot by what it writes in one interval, which the host must
spare. What counts is every host dir the job can grow, not only its
workspace: the container's overlay upper dir (its /, /tmp, /var...), the
control dir (``/.runner``, which holds its scripts and file variables and
stays writable so a job may delete a secret file), the dirs of the files
bind-mounted read-write into the container (/etc/hosts, /etc/resolv.conf,
/etc/hostname and podman's /run/.containerenv), and files the job deleted
but holds open (``engine.diskusage``). What is
not on disk is bounded by size instead (/dev and /dev/shm are 64 MB
tmpfs; podman's /sys/fs/cgroup tmpfs is masked: ``argv.bounded_writes_options``).
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from pathlib import Path

from runner.engine.diskusage import start_time
from runner.engine.initwatch import read_pid
from runner.engine.namespace import NamespaceHelper
from runner.engine.podman import JobContainer
from runner.execute.services import JobPod
from runner.pipeline.sizes import show_size

DISK_POLL_S = 2.0


class DiskWatch:
    """Counts one job's disk use against ``limit``; says so in the job log when it is over."""

    def __init__(self, helper: NamespaceHelper, limit: int, own_dirs: list[Path],
                 notice: Callable[[str], None], pod: JobPod | None = None) -> None:
        self.helper = helper
        self.limit = limit
        self.own_dirs = own_dirs
        """Dirs runner made for the job and mounts into it (workspace, control dir)."""
        self.notice = notice
        self.pod = pod
        """The job's services (tenant code too): their layers, volumes and processes count."""
        self._dirs: list[Path] | None = None
        """Every dir counted, the containers' asked for once."""
        self._inits: list[tuple[int, int]] = []
        """Host pid and start time of each container's PID 1, whose PID namespace's deleted
        but held files count."""

    async def watch(self, container: JobContainer) -> None:
        """Return once the job takes more than its limit (polled every ``DISK_POLL_S``)."""
        while not await self.over(container):
            await asyncio.sleep(DISK_POLL_S)

    async def over(self, container: JobContainer) -> bool:
        """Whether every dir the job writes to takes more than the limit together."""
        if self._dirs is None:
            await self._find(container)
        assert self._dirs is not None
        used = await self.helper.disk_usage(*self._dirs, pids=self._inits)
        if used <= self.limit:
            return False
        self.notice(f"runner: the job uses {show_size(used)} of disk, more than its "
                    f"limit of {show_size(self.limit)}; stopping it")
        return True

    async def _find(self, container: JobContainer) -> None:
        """Ask once where the job's container and services write (they are running now)."""
        dirs = [*self.own_dirs, *await container.written_dirs()]
        pids = [read_pid(container.spec.pidfile)]
        for service in await self.pod.written() if self.pod is not None else []:
            dirs += service.dirs
            pids.append(service.pid)
        for pid in pids:
            started = start_time(pid) if pid is not None else None
            if pid is not None and started is not None:
                self._inits.append((pid, started))
        self._dirs = list(dict.fromkeys(dirs))
