"""Scratch dirs of crashed runs: found by their free lock, removed by the namespace helper.

A run that is SIGKILLed cannot clean up, and what it leaves is owned by job
UID slices, so its user cannot even ``rm`` it. Each run therefore holds an
flock on ``<run_id>.lock`` beside its scratch dir for as long as it lives; a
later run that can take that lock knows the owner is gone.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
from pathlib import Path

from runner.engine.namespace import NamespaceHelper


def hold_run_lock(work_root: Path, run_id: str) -> int:
    """Create and lock this run's lock file before its scratch dir exists; keep the fd."""
    work_root.mkdir(mode=0o700, parents=True, exist_ok=True)
    fd = os.open(work_root / f"{run_id}.lock", os.O_RDWR | os.O_CREAT, 0o600)
    fcntl.flock(fd, fcntl.LOCK_EX)
    return fd


def _owner_gone(lock: Path) -> int | None:
    """An fd holding ``lock`` if no live run holds it (None if one does)."""
    try:
        fd = os.open(lock, os.O_RDWR)
    except FileNotFoundError:
        return None
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        os.close(fd)
        return None
    return fd


def live_runs(work_root: Path) -> set[str]:
    """Ids of the runs whose lock is held now (this process's own run included)."""
    live: set[str] = set()
    with contextlib.suppress(FileNotFoundError):
        for lock in work_root.glob("*.lock"):
            fd = _owner_gone(lock)
            if fd is None:
                live.add(lock.name.removesuffix(".lock"))
            else:
                os.close(fd)
    return live


async def sweep_dead_runs(work_root: Path, own_run: str, helper: NamespaceHelper) -> list[str]:
    """Remove scratch dirs of runs that no longer hold their lock; returns their ids."""
    swept: list[str] = []
    with contextlib.suppress(FileNotFoundError):
        for entry in sorted(work_root.iterdir()):
            if not entry.is_dir() or entry.name == own_run:
                continue
            lock = work_root / f"{entry.name}.lock"
            fd = _owner_gone(lock) if lock.exists() else os.open(os.devnull, os.O_RDONLY)
            if fd is None:
                continue
            try:
                await helper.remove(entry)
                lock.unlink(missing_ok=True)
                swept.append(entry.name)
            finally:
                os.close(fd)
    return swept
