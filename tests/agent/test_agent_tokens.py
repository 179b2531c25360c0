"""Runner token rotation against the GitLab fake: reset at 75 % of the lifetime, switch, save.

The agent runs in this process, on a clock the test moves (``FakeClock``): no test
waits for a token to age, and the reset time is read from the clock's sleeper, not
guessed from timing. No job runs, so no container is involved: a job request with
the new token is what proves the switch (the fake counts any use of the old one).
"""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import yaml

from runner.agent import config as agentconfig
from runner.agent.service import Agent
from runner.cli.exec_ import agent_settings
from tests.agent.fake_gitlab import FakeGitLab
from tests.agent.harness import REPO

LIFETIME = timedelta(seconds=100)
HANG_GUARD_S = 60.0
"""Only to end a hung test: nothing asserts how long anything took."""


class FakeClock:
    """The agent's clock (``runner.agent.tokens.Clock``), moved by the test."""

    def __init__(self, start: datetime) -> None:
        self._now = start
        self._sleepers: list[tuple[datetime, asyncio.Future[None]]] = []

    def now(self) -> datetime:
        return self._now

    async def sleep(self, seconds: float) -> None:
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        entry = (self._now + timedelta(seconds=max(seconds, 0.0)), future)
        self._sleepers.append(entry)
        try:
            if entry[0] <= self._now:
                future.set_result(None)
            await future
        finally:
            self._sleepers.remove(entry)

    def wakeups(self) -> list[datetime]:
        """When the sleepers want to wake, earliest first."""
        return sorted(when for when, future in self._sleepers if not future.done())

    def advance_to(self, moment: datetime) -> None:
        self._now = max(self._now, moment)
        for when, future in self._sleepers:
            if when <= self._now and not future.done():
                future.set_result(None)


async def until(predicate: Callable[[], bool], what: str) -> None:
    """Let the agent run until ``predicate()`` holds."""
    deadline = time.monotonic() + HANG_GUARD_S
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"gave up waiting for {what}")
        await asyncio.sleep(0.02)


@pytest.fixture
def gl() -> Iterator[FakeGitLab]:
    with FakeGitLab() as fake:
        fake.token_lifetime_s = LIFETIME.total_seconds()
        yield fake
        assert fake.violations == []


def write_config(path: Path, gl: FakeGitLab, obtained: datetime) -> Path:
    """An agent config whose token GitLab gave at ``obtained``, for ``LIFETIME``."""
    expires = obtained + LIFETIME
    doc = {"concurrent": 1, "check_interval": 0.05, "shutdown_timeout": 5,
           "system_id": "r_tokentest001", "data_dir": str(path.parent / "data"),
           "runners": [{"name": "rotating", "url": gl.url, "token": gl.runner_token,
                        "token_obtained_at": obtained.strftime("%Y-%m-%dT%H:%M:%SZ"),
                        "token_expires_at": expires.strftime("%Y-%m-%dT%H:%M:%S.000Z")}]}
    path.write_text(yaml.safe_dump(doc))
    path.chmod(0o600)
    return path


def requested_with(gl: FakeGitLab) -> list[str]:
    """The runner token of every job request, in order."""
    return [str(body.get("token")) for body in gl.job_requests]


def start_agent(path: Path, clock: FakeClock) -> tuple[Agent, asyncio.Task[None]]:
    config = agentconfig.load(path)
    agent = Agent(config, agent_settings(config.work_root() / "cache"), clock=clock)
    return agent, asyncio.create_task(agent.run())


def test_token_is_reset_at_75_percent_switched_to_and_saved(
        gl: FakeGitLab, tmp_path: Path) -> None:
    start = datetime.now(UTC).replace(microsecond=0)
    clock = FakeClock(start)
    old = gl.runner_token
    gl.expire_token_in(old, LIFETIME.total_seconds())
    path = write_config(tmp_path / "agent.yml", gl, obtained=start)

    async def scenario() -> None:
        agent, task = start_agent(path, clock)
        await until(lambda: len(gl.job_requests) >= 2 and clock.wakeups() != [],
                    "the agent to poll and its token rotation to wait")
        assert clock.wakeups() == [start + LIFETIME * 0.75]
        assert gl.token_resets == []
        clock.advance_to(start + LIFETIME * 0.75)
        await until(lambda: gl.token_resets != [], "the token reset")
        new = gl.token_resets[0]["new"]
        await until(lambda: requested_with(gl)[-1] == new, "a job request with the new token")
        agent.request_stop()
        await task

    asyncio.run(scenario())
    tokens = requested_with(gl)
    switched = tokens.index(gl.runner_token)
    assert set(tokens[:switched]) == {old} and set(tokens[switched:]) == {gl.runner_token}
    saved = agentconfig.load(path)  # refuses a config others can read: still 0600
    (entry,) = saved.runners
    assert entry.token == gl.runner_token
    assert entry.token_obtained_at == (start + LIFETIME * 0.75).strftime("%Y-%m-%dT%H:%M:%SZ")
    expires_at = gl.token_resets[0]["expires_at"]
    assert expires_at is not None
    assert entry.token_expires_at is not None
    assert datetime.fromisoformat(entry.token_expires_at).timestamp() == pytest.approx(
        expires_at, abs=0.001)
    assert old not in path.read_text()


def test_failed_reset_is_retried_with_backoff_and_the_old_token_kept_meanwhile(
        gl: FakeGitLab, tmp_path: Path, capfd: pytest.CaptureFixture[str]) -> None:
    start = datetime.now(UTC).replace(microsecond=0)
    clock = FakeClock(start)
    old = gl.runner_token
    path = write_config(tmp_path / "agent.yml", gl, obtained=start - LIFETIME)  # due now
    gl.inject("reset_authentication_token", 502, times=5)  # one whole call, all its retries

    async def scenario() -> None:
        agent, task = start_agent(path, clock)
        await until(lambda: gl.requests.count(
            ("POST", "/api/v4/runners/reset_authentication_token", 502)) == 5
            and clock.wakeups() != [], "the failed reset and its backoff")
        (retry_at,) = clock.wakeups()
        assert retry_at > clock.now()  # waits before trying again, does not spin
        polled = len(gl.job_requests)
        await until(lambda: len(gl.job_requests) > polled, "polls with the old token")
        assert set(requested_with(gl)) == {old}
        clock.advance_to(retry_at)
        await until(lambda: gl.token_resets != [], "the retried reset")
        await until(lambda: requested_with(gl)[-1] == gl.runner_token,
                    "a job request with the new token")
        agent.request_stop()
        await task

    asyncio.run(scenario())
    (entry,) = agentconfig.load(path).runners
    assert entry.token == gl.runner_token
    logged = "".join(capfd.readouterr())
    assert "token_reset_failed" in logged
    assert old not in logged and gl.runner_token not in logged


def test_restarted_agent_polls_with_the_saved_token(gl: FakeGitLab, tmp_path: Path) -> None:
    start = datetime.now(UTC).replace(microsecond=0)
    clock = FakeClock(start)
    path = write_config(tmp_path / "agent.yml", gl, obtained=start - LIFETIME)  # due now

    async def rotate() -> None:
        agent, task = start_agent(path, clock)
        await until(lambda: gl.token_resets != [], "the token reset")
        agent.request_stop()
        await task

    asyncio.run(rotate())
    polled = len(gl.job_requests)
    log = (tmp_path / "agent.log").open("wb")
    process = subprocess.Popen(
        [sys.executable, "-m", "runner", "agent", "--config", str(path)],
        env={**os.environ, "PYTHONPATH": str(REPO)}, stdout=log, stderr=log,
        stdin=subprocess.DEVNULL)
    log.close()
    try:
        gl.wait_for(lambda: len(gl.job_requests) > polled + 1, HANG_GUARD_S,
                    what="the restarted agent to poll")
    finally:
        process.send_signal(signal.SIGTERM)
        assert process.wait(HANG_GUARD_S) == 0, (tmp_path / "agent.log").read_text()
    assert set(requested_with(gl)[polled:]) == {gl.runner_token}
