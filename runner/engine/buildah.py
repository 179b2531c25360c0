"""The only place buildah runs: builds and pushes streamed to a sink, and store queries.

Output is passed on as it arrives (buildah's progress is the build log) and
the last lines are kept, so the caller can explain a failure. A canceled call
stops buildah's whole process group: TERM first, KILL after a grace period.
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from runner.engine import buildargv, store_index
from runner.engine.argv import StoreSpec
from runner.engine.imageref import ImageRef
from runner.engine.procgroup import stop_group
from runner.errors import EngineError

Sink = Callable[[bytes], None]
TAIL_LINES = 60
STOP_GRACE_S = 10.0


@dataclass(frozen=True)
class Finished:
    """How a buildah call ended: its exit status and its last lines of output."""

    code: int
    tail: tuple[str, ...]

    @property
    def text(self) -> str:
        return "\n".join(self.tail)


async def run(argv: list[str], sink: Sink | None = None) -> Finished:
    """Run ``argv`` with stdout and stderr merged into ``sink``; stop it if canceled."""
    proc = await asyncio.create_subprocess_exec(
        *argv, stdin=asyncio.subprocess.DEVNULL, stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT, start_new_session=True,
    )
    tail: deque[str] = deque(maxlen=TAIL_LINES)
    assert proc.stdout is not None
    try:
        while line := await proc.stdout.readline():
            if sink is not None:
                sink(line)
            tail.append(line.decode("utf-8", "replace").rstrip("\n"))
        code = await proc.wait()
    except BaseException:
        await asyncio.shield(_stop(proc))
        raise
    return Finished(code, tuple(tail))


async def _stop(proc: asyncio.subprocess.Process) -> None:
    """TERM buildah's process group (it removes its working container), then KILL."""
    await stop_group(proc, STOP_GRACE_S)


async def image_id(ref: ImageRef, store: StoreSpec | None) -> str | None:
    """The id of image ``ref`` in ``store``, or None if it is not there."""
    done = await run(buildargv.image_id_argv(ref, store))
    if done.code != 0 or not done.tail:
        return None
    return done.tail[-1].strip() or None


async def copy_in(ref: ImageRef, source: StoreSpec, store: StoreSpec) -> Finished:
    """Copy image ``ref`` from store ``source`` into ``store``."""
    return await run(buildargv.copy_in_argv(ref, source, store))


async def has_image(ref: ImageRef, store: StoreSpec) -> bool:
    """Whether ``store`` has image ``ref``: its index first (~1 ms), buildah if unsure."""
    return bool(store_index.has_image(store, ref) or await image_id(ref, store) is not None)


async def default_store() -> StoreSpec:
    """The user's default store (where job images and local base images live)."""
    done = await run(buildargv.store_info_argv())
    lines = [line.strip() for line in done.tail if line.strip()]
    if done.code != 0 or len(lines) < 3:
        raise EngineError(f"buildah info failed (exit {done.code}): {done.text}")
    driver, root, runroot = lines[-3:]
    return StoreSpec(Path(root), Path(runroot), driver)
