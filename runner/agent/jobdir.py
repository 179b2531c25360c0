"""One job's directory under the agent's data dir, and the lock that says it is alive.

``jobs/<id>/`` holds the checkout, the downloaded artifacts, the executor's
state (logs, collected artifacts, scratch) and the trace. While the job
runs its agent holds an flock on ``lock``; an agent that starts and finds a
job directory whose lock it can take knows that job's agent died with it,
and reports and removes it (``recovery.py``).
"""

from __future__ import annotations

import contextlib
import fcntl
import os
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class JobDir:
    """Paths of one job's files."""

    root: Path
    run_id: str

    @property
    def checkout(self) -> Path:
        return self.root / "src"

    @property
    def deps(self) -> Path:
        return self.root / "deps"

    @property
    def state(self) -> Path:
        return self.root / "state"

    @property
    def uploads(self) -> Path:
        return self.root / "uploads"

    @property
    def trace(self) -> Path:
        return self.root / "trace.log"

    @property
    def record(self) -> Path:
        return self.root / "job.json"

    @property
    def lock(self) -> Path:
        return self.root / "lock"


def create(jobs_root: Path, job_id: int, run_id: str) -> tuple[JobDir, int]:
    """Make the job's 0700 directory and lock it; the fd holds the lock (close it to release).

    A directory left for the same id (the coordinator handed out the job
    again) is replaced by a fresh one beside it, named with the run id.
    """
    jobs_root.mkdir(mode=0o700, parents=True, exist_ok=True)
    root = jobs_root / f"{job_id}-{run_id}"
    root.mkdir(mode=0o700)
    jobdir = JobDir(root, run_id)
    fd = os.open(jobdir.lock, os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW | os.O_CLOEXEC, 0o600)
    fcntl.flock(fd, fcntl.LOCK_EX)
    for sub in (jobdir.deps, jobdir.uploads):
        sub.mkdir(mode=0o700)
    return jobdir, fd


def abandoned(jobs_root: Path) -> list[tuple[JobDir, int]]:
    """Job directories whose agent is gone, each with an fd holding its lock now."""
    found: list[tuple[JobDir, int]] = []
    with contextlib.suppress(FileNotFoundError):
        for entry in sorted(jobs_root.iterdir()):
            if not entry.is_dir() or entry.is_symlink():
                continue
            _, _, run_id = entry.name.partition("-")
            jobdir = JobDir(entry, run_id)
            try:
                fd = os.open(jobdir.lock, os.O_RDWR | os.O_NOFOLLOW | os.O_CLOEXEC)
            except FileNotFoundError:
                fd = os.open(entry, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                os.close(fd)
                continue
            found.append((jobdir, fd))
    return found
