"""Builds share a tenant store; leftovers of killed builds are removed when no build runs.

A buildah killed mid-build (timeout, Ctrl-C, a crash) leaves its working
container in the store. Each build holds a shared flock on the store's lock
file; whoever gets it exclusively (before or after a build) knows no other
build of this tenant is running and removes buildah's working containers.
Podman containers in the store (jobs running built images) are left alone.
"""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import os
from collections.abc import AsyncIterator
from pathlib import Path

from runner.engine import buildah, buildargv, store_index
from runner.engine.argv import StoreSpec


async def _sweep(store: StoreSpec, fd: int) -> None:
    """With no other build running, remove working containers left by killed builds."""
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return  # another build of this tenant is running; the last one out sweeps
    try:
        if store_index.has_containers(store) is not False:
            await buildah.run(buildargv.remove_working_containers_argv(store))
    finally:
        fcntl.flock(fd, fcntl.LOCK_SH)


@contextlib.asynccontextmanager
async def using(store: StoreSpec | None) -> AsyncIterator[None]:
    """Hold ``store`` for one build; sweep before and after it when alone."""
    if store is None:  # the user's shared store: whose containers they are is unknowable
        yield
        return
    fd = open_lock(store)
    try:
        fcntl.flock(fd, fcntl.LOCK_SH)
        await _sweep(store, fd)
        try:
            yield
        finally:
            await _sweep(store, fd)
    finally:
        os.close(fd)


def lock_path(store: StoreSpec) -> Path:
    """The flock file beside a tenant store: shared while in use, exclusive to prune it."""
    return store.root.parent / f"{store.root.name}.lock"


def open_lock(store: StoreSpec) -> int:
    """An fd on ``store``'s lock file (made, with its parent, if missing); not yet locked."""
    store.root.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    return os.open(lock_path(store), os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)


async def hold(store: StoreSpec) -> int:
    """Hold ``store`` while a job uses it (so ``runner prune`` waits); close the fd to let go.

    Waits (off the event loop) only while a prune is removing the store.
    """
    fd = open_lock(store)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
        except BlockingIOError:
            await asyncio.to_thread(fcntl.flock, fd, fcntl.LOCK_SH)
    except BaseException:
        os.close(fd)
        raise
    return fd

