"""What a SIGHUP reload changes (``reload.plan``) and the resizable slots it resizes."""

from __future__ import annotations

import asyncio
from dataclasses import replace
from pathlib import Path

from runner.agent.config import AgentConfig, RunnerEntry
from runner.agent.reload import plan
from runner.agent.slots import Slots, free_slot_id

A = RunnerEntry(name="a", url="https://gitlab.example.com/", token="glrt-aaaaaaaaaaaa")
B = RunnerEntry(name="b", url="https://gitlab.example.com/", token="glrt-bbbbbbbbbbbb")
OLD = AgentConfig(path=Path("/c/agent.yml"), system_id="r_aaaaaaaaaaaa", runners=(A, B),
                  concurrent=2, listen_address="127.0.0.1:9252", data_dir=Path("/d"))


def test_nothing_changed() -> None:
    change = plan(OLD, OLD)
    assert (change.added, change.removed, change.changed, change.needs_restart) == \
        ((), (), (), ())
    assert change.config == OLD


def test_runners_added_removed_changed_and_agent_settings() -> None:
    c = RunnerEntry(name="c", url="https://other.example.com/", token="glrt-cccccccccccc")
    b2 = replace(B, limit=3, token="glrt-newnewnewnew")
    new = replace(OLD, runners=(b2, c), concurrent=5, check_interval_s=1.0)
    change = plan(OLD, new)
    assert change.added == (c,)
    assert change.removed == (A,)
    assert change.changed == (b2,)
    assert change.config.concurrent == 5 and change.config.check_interval_s == 1.0
    assert change.needs_restart == ()


def test_a_new_url_is_a_new_runner() -> None:
    moved = replace(A, url="https://moved.example.com/")
    change = plan(OLD, replace(OLD, runners=(moved, B)))
    assert (change.added, change.removed, change.changed) == ((moved,), (A,), ())


def test_settings_bound_at_start_are_kept_and_named() -> None:
    new = replace(OLD, listen_address="127.0.0.1:9999", data_dir=Path("/e"),
                  system_id="r_bbbbbbbbbbbb", concurrent=3)
    change = plan(OLD, new)
    assert change.needs_restart == ("listen_address", "data_dir", "system_id")
    assert change.config.listen_address == "127.0.0.1:9252"
    assert change.config.data_dir == Path("/d")
    assert change.config.system_id == "r_aaaaaaaaaaaa"
    assert change.config.concurrent == 3


def test_a_file_without_system_id_keeps_the_running_one_silently() -> None:
    new = replace(OLD, system_id="r_madeupnow00", fresh_system_id=True)
    change = plan(OLD, new)
    assert change.needs_restart == ()
    assert change.config.system_id == "r_aaaaaaaaaaaa"
    assert change.config.fresh_system_id is False


def test_slots_shrink_waits_for_holders_and_grow_wakes_waiters() -> None:
    async def scenario() -> list[str]:
        events: list[str] = []
        slots = Slots(2)
        await slots.acquire()
        await slots.acquire()
        slots.resize(1)  # both holders keep their slots

        async def third() -> None:
            await slots.acquire()
            events.append("third")

        waiter = asyncio.create_task(third())
        await asyncio.sleep(0)
        slots.release()  # 1 used, size 1: still full
        await asyncio.sleep(0)
        events.append(f"after one release: used={slots.used}")
        slots.resize(3)
        await waiter
        events.append(f"used={slots.used}")
        return events

    assert asyncio.run(scenario()) == ["after one release: used=1", "third", "used=2"]


def test_slots_of_size_0_never_wait() -> None:
    async def scenario() -> int:
        slots = Slots(0)
        for _ in range(50):
            await slots.acquire()
        return slots.used

    assert asyncio.run(scenario()) == 50


def test_free_slot_id_is_the_lowest_free_one() -> None:
    assert free_slot_id(3, set()) == 0
    assert free_slot_id(3, {0, 2}) == 1
    assert free_slot_id(1, {0, 3}) == 1  # after a shrink: a free id all the same
