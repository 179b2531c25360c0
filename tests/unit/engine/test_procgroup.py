"""stop_group: TERM the process group, KILL after the grace period, always reaped."""

from __future__ import annotations

import asyncio

from runner.engine.procgroup import stop_group


async def _spawn(script: str) -> asyncio.subprocess.Process:
    proc = await asyncio.create_subprocess_exec("sh", "-c", script, start_new_session=True,
                                                stdout=asyncio.subprocess.PIPE)
    assert proc.stdout is not None
    await proc.stdout.readline()  # the script is running (its traps are set)
    return proc


def test_a_process_that_ignores_term_is_killed_after_the_grace_period() -> None:
    async def scenario() -> int | None:
        proc = await _spawn("trap '' TERM; echo up; while :; do sleep 1; done")
        await stop_group(proc, 0.2)
        return proc.returncode

    assert asyncio.run(scenario()) == -9


def test_a_process_that_stops_on_term_is_not_killed_and_an_ended_one_is_left_alone() -> None:
    async def scenario() -> tuple[int | None, int | None]:
        proc = await _spawn("trap 'exit 7' TERM; echo up; while :; do sleep 0.1; done")
        await stop_group(proc, 10)
        first = proc.returncode
        await stop_group(proc, 10)  # already reaped: nothing to do
        return first, proc.returncode

    assert asyncio.run(scenario()) == (7, 7)
