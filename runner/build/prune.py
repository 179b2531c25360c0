"""Removing tenant image stores nobody has used for a while.

Each project keeps its own store (its builds, the images it pulled with its
own access), so on a shared server they add up. A store's last use is the
newest change to its image or container list (every pull, build and job
container changes one). A store in use is never touched: builds and jobs
hold a shared flock on ``<store>.lock`` (``storelock``); pruning takes it
exclusively, without waiting, and skips the store if it cannot.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
from collections.abc import Collection, Iterator
from dataclasses import dataclass
from pathlib import Path

from runner.build import projects, storelock
from runner.build.storage import tenant_store
from runner.engine import podman
from runner.engine.argv import StoreSpec
from runner.errors import EngineError


@dataclass(frozen=True)
class Found:
    """One tenant store and what pruning made of it."""

    store: StoreSpec
    last_used: float
    """Seconds since the epoch."""
    verdict: str
    """``removed``, ``would remove`` (dry run), ``in use``, ``recent`` or ``failed: ...``."""
    size: int = 0
    """Bytes of disk it takes (what we can read of it)."""
    project: str = ""
    """The project's path, if a run recorded it (``projects``)."""


def last_used(store: StoreSpec) -> float:
    """The newest change to the store's image or container list (or the store itself)."""
    candidates = [store.root,
                  store.root / f"{store.driver}-images" / "images.json",
                  store.root / f"{store.driver}-containers" / "containers.json"]
    times = []
    for path in candidates:
        with contextlib.suppress(OSError):
            times.append(path.stat().st_mtime)
    return max(times, default=0.0)


def tenant_stores(stores: Path, runroots: Path) -> Iterator[StoreSpec]:
    """Every tenant store under ``stores`` (directories; their lock files sit beside them)."""
    if not stores.is_dir():
        return
    for root in sorted(path for path in stores.iterdir() if path.is_dir()):
        yield tenant_store(stores, runroots, root.name)


async def prune(stores: Path, runroots: Path, older_than_s: float, now: float,
                *, dry_run: bool = False, only: Collection[str] = ()) -> list[Found]:
    """Remove every store not used for ``older_than_s``; what was found and done, by store.

    ``only``: the tenants (store names) to consider; empty means all.
    """
    found: list[Found] = []
    for store in tenant_stores(stores, runroots):
        if only and store.root.name not in only:
            continue
        used = last_used(store)
        size, project = projects.disk_usage(store.root), projects.read(stores, store.root.name)
        verdict = ("recent" if now - used < older_than_s
                   else await _remove_unless_used(store, dry_run))
        if verdict == "removed":
            projects.label_file(stores, store.root.name).unlink(missing_ok=True)
        found.append(Found(store, used, verdict, size, project))
    return found


async def _remove_unless_used(store: StoreSpec, dry_run: bool) -> str:
    fd = storelock.open_lock(store)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return "in use"
        if dry_run:
            return "would remove"
        try:
            await podman.remove_store(store)
        except EngineError as exc:
            return f"failed: {exc}"
        storelock.lock_path(store).unlink(missing_ok=True)
        return "removed"
    finally:
        os.close(fd)
