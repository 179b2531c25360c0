"""SIGHUPs that arrive while a reload is reading the file: the last edit always wins."""

from __future__ import annotations

import asyncio
import threading
from pathlib import Path

import pytest
import yaml

from runner.agent import config as agentconfig
from runner.agent.service import Agent
from runner.execute.results import Settings


def write(path: Path, concurrent: int) -> None:
    path.write_text(yaml.safe_dump({"concurrent": concurrent, "system_id": "r_testagent001",
                                    "runners": []}))
    path.chmod(0o600)


def test_signals_during_a_reload_read_the_file_once_more_after_it(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "agent.yml"
    write(path, 1)
    agent = Agent(agentconfig.load(path), Settings(
        concurrency=1, color=False, cache_root=tmp_path, slot_dir=tmp_path / "slots",
        subordinate_ids=65536))
    reading = threading.Event()
    go_on = threading.Event()
    loads: list[int] = []
    real_load = agentconfig.load

    def slow_load(*args: object, **kwargs: object) -> agentconfig.AgentConfig:
        loaded = real_load(*args, **kwargs)  # type: ignore[arg-type]
        loads.append(loaded.concurrent)
        if len(loads) == 1:
            reading.set()
            go_on.wait(30)
        return loaded

    monkeypatch.setattr(agentconfig, "load", slow_load)

    async def scenario() -> None:
        write(path, 2)
        agent.request_reload()
        await asyncio.to_thread(reading.wait, 30)  # the first reload has read "2"
        write(path, 3)
        agent.request_reload()
        agent.request_reload()  # one more read covers both
        go_on.set()
        while agent._reloading is not None and not agent._reloading.done():
            await asyncio.sleep(0.01)

    asyncio.run(scenario())
    assert loads == [2, 3]
    assert agent.config.concurrent == 3
    assert agent.metrics.concurrent == 3
