"""UID-slice leasing across processes."""

from __future__ import annotations

import asyncio
import subprocess
import sys

import pytest

from runner.engine.slices import SLICE_SIZE, SliceAllocator
from runner.errors import EngineError, HostSetupError


def test_lowest_free_slot_and_release(tmp_path) -> None:
    """Leases take the lowest free slot; a released slot is handed out again."""
    alloc = SliceAllocator(tmp_path, 3 * SLICE_SIZE + 5)
    assert alloc.slots == 3
    first, second = alloc.try_lease(), alloc.try_lease()
    assert first is not None and second is not None
    assert (first.slot, first.base) == (0, 1)
    assert (second.slot, second.base) == (1, 1 + SLICE_SIZE)
    first.release()
    again = alloc.try_lease()
    assert again is not None and again.slot == 0


def test_all_taken_returns_none_then_waits(tmp_path) -> None:
    """With every slot leased, try_lease says None and lease() waits for a release."""
    alloc = SliceAllocator(tmp_path, SLICE_SIZE, poll_s=0.01)
    held = alloc.try_lease()
    assert held is not None
    assert alloc.try_lease() is None

    async def scenario() -> int:
        waiter = asyncio.create_task(alloc.lease())
        await asyncio.sleep(0.05)
        assert not waiter.done()
        held.release()
        return (await waiter).slot

    assert asyncio.run(scenario()) == 0


def test_leases_are_exclusive_across_processes(tmp_path) -> None:
    """A slot leased by another process is skipped, and freed when that process dies."""
    code = ("import sys,time; from pathlib import Path; from runner.engine.slices import "
            "SliceAllocator as A; l=A(Path(sys.argv[1]), 2*65536).try_lease(); "
            "print(l.slot, flush=True); time.sleep(30)")
    with subprocess.Popen([sys.executable, "-c", code, str(tmp_path)],
                          stdout=subprocess.PIPE, text=True) as child:
        try:
            assert child.stdout is not None and child.stdout.readline().strip() == "0"
            lease = SliceAllocator(tmp_path, 2 * SLICE_SIZE).try_lease()
            assert lease is not None and lease.slot == 1
            lease.release()
        finally:
            child.kill()
    lease = SliceAllocator(tmp_path, 2 * SLICE_SIZE).try_lease()
    assert lease is not None and lease.slot == 0


def test_too_few_ids_is_a_host_error(tmp_path) -> None:
    """Fewer ids than one slice is a host set-up problem with a pointer to doctor."""
    with pytest.raises(HostSetupError, match="runner doctor"):
        SliceAllocator(tmp_path, 1000)


def test_a_slot_put_aside_is_not_leased_again_in_this_run(tmp_path) -> None:
    """A slot whose left-over pod cannot be removed is skipped; with every slot put aside,
    lease() says so instead of waiting for ever."""
    alloc = SliceAllocator(tmp_path, 2 * SLICE_SIZE, poll_s=0.01)
    first = alloc.try_lease()
    assert first is not None and first.slot == 0
    alloc.put_aside(first)
    second = asyncio.run(alloc.lease())
    assert second.slot == 1
    other_run = SliceAllocator(tmp_path, 2 * SLICE_SIZE).try_lease()
    assert other_run is not None and other_run.slot == 0  # only this run sets it aside
    other_run.release()
    alloc.put_aside(second)
    with pytest.raises(EngineError, match="every uid slot has a pod left on it"):
        asyncio.run(alloc.lease())
