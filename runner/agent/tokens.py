"""Runner token rotation: reset a token at 75 % of its lifetime, as gitlab-runner does.

GitLab can make runner authentication tokens expire (``token_expires_at``).
gitlab-runner resets a token through ``POST /runners/reset_authentication_token``
once 75 % of the time from obtaining it (``token_obtained_at``) to its expiry has
passed (``commands/multi.go`` ``nextRunnerToReset``, ``TokenResetIntervalFactor``),
re-reading its config first and saving the new token into it. The agent does
the same for each runner, with three differences that each close a hole:

* The old token is dead as soon as GitLab answers, so the reset and the
  runner's job requests never overlap (a shared lock): no request goes out
  with a token that was just replaced.
* A failed reset is tried again after a backoff (gitlab-runner tries again at
  once), and is logged without the token.
* A new token that cannot be saved (disk full) is still used, and saving is
  tried again until it works: losing it would lock the runner out at restart.

A token without ``token_obtained_at`` (a config from before the agent wrote
it) counts as obtained when the agent started: its reset then comes before
its expiry all the same.

Time comes from a ``Clock`` so that tests move it instead of waiting.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import Protocol

import structlog

from runner.agent import config as agentconfig
from runner.agent.config import RunnerEntry, parse_time
from runner.coordinator.gitlab.client import GitLabClient
from runner.coordinator.gitlab.retry import jittered
from runner.errors import CoordinatorError, UserInputError

log = structlog.get_logger(__name__)

RESET_FACTOR = 0.75
"""gitlab-runner's ``TokenResetIntervalFactor``."""
RETRY_FIRST_S = 10.0
RETRY_MAX_S = 600.0
NAP_MAX_S = 3600.0
"""The longest single sleep: the wall clock is looked at again after it (a suspended
laptop, a clock set by NTP), instead of trusting one sleep of weeks."""


class Clock(Protocol):
    """Wall-clock time (expiries are wall-clock times) and a way to wait for it."""

    def now(self) -> datetime.datetime:
        """The time now, timezone-aware."""
        ...

    async def sleep(self, seconds: float) -> None:
        """Wait ``seconds``."""
        ...


class SystemClock:
    """The real clock."""

    def now(self) -> datetime.datetime:
        """UTC now."""
        return datetime.datetime.now(datetime.UTC)

    async def sleep(self, seconds: float) -> None:
        """``asyncio.sleep``."""
        await asyncio.sleep(seconds)


def reset_time(obtained: datetime.datetime, expires: datetime.datetime) -> datetime.datetime:
    """When a token obtained at ``obtained`` and expiring at ``expires`` is reset."""
    return obtained + (expires - obtained) * RESET_FACTOR


def stamp(moment: datetime.datetime) -> str:
    """A time as the config keeps ``token_obtained_at``: UTC, to the second."""
    return moment.astimezone(datetime.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


class TokenRotation:
    """Keeps one runner's token fresh; ``run`` until ``stopping`` is set.

    ``entry`` returns the runner as the agent uses it now, and ``switch`` makes
    the agent use a new one; ``lock`` is held around every use of the token.
    """

    def __init__(self, *, path: Path, client: GitLabClient, clock: Clock,
                 entry: Callable[[], RunnerEntry], switch: Callable[[RunnerEntry], None],
                 lock: asyncio.Lock, stopping: asyncio.Event) -> None:
        self._path = path
        self._client = client
        self._clock = clock
        self._entry = entry
        self._switch = switch
        self._lock = lock
        self._stopping = stopping
        self._started = clock.now()
        self._unsaved = False
        """The token in use is not in the config file yet."""

    async def run(self) -> None:
        """Sleep until the token is due, reset it, save it; again with each new token."""
        failures = 0
        while not self._stopping.is_set():
            due = self._due()
            if due is None:
                return  # the token never expires
            if failures:
                due = self._clock.now() + datetime.timedelta(
                    seconds=jittered(min(RETRY_MAX_S, RETRY_FIRST_S * 2 ** (failures - 1))))
            if not await self._sleep_until(due):
                return
            done = await self._save() if self._unsaved else await self._rotate()
            failures = 0 if done else failures + 1

    def _due(self) -> datetime.datetime | None:
        entry = self._entry()
        if self._unsaved:
            return self._clock.now()
        expires = parse_time(entry.token_expires_at) if entry.token_expires_at else None
        if expires is None:
            return None
        obtained = (parse_time(entry.token_obtained_at) if entry.token_obtained_at
                    else None) or self._started
        return reset_time(obtained, expires)

    async def _sleep_until(self, due: datetime.datetime) -> bool:
        """Wait for ``due`` on the clock; False if the agent stops first."""
        while (left := (due - self._clock.now()).total_seconds()) > 0:
            nap = asyncio.ensure_future(self._clock.sleep(min(left, NAP_MAX_S)))
            stop = asyncio.ensure_future(self._stopping.wait())
            try:
                await asyncio.wait({nap, stop}, return_when=asyncio.FIRST_COMPLETED)
            finally:
                for task in (nap, stop):
                    task.cancel()
                    with contextlib.suppress(asyncio.CancelledError):
                        await task
            if self._stopping.is_set():
                return False
        return not self._stopping.is_set()

    async def _rotate(self) -> bool:
        """Reset the token and switch to the new one; False to try again later."""
        entry = self._entry()
        try:  # as gitlab-runner: the config is read first, so a new token can be saved
            saved = agentconfig.load(self._path, private=False)
        except UserInputError as exc:
            log.error("token_reset_postponed", error=str(exc),
                      why="the config cannot be read, so a new token could not be saved")
            return False
        on_disk = next((r for r in saved.runners if r.name == entry.name), None)
        if on_disk is None:
            log.error("token_reset_postponed", config=str(self._path),
                      why="the config no longer lists this runner")
            return False
        if on_disk.token != entry.token:  # replaced there (runner register): use that one
            log.warning("token_changed_in_config", config=str(self._path))
            self._switch(replace(entry, token=on_disk.token,
                                 token_obtained_at=on_disk.token_obtained_at,
                                 token_expires_at=on_disk.token_expires_at))
            return True
        async with self._lock:
            try:
                answer = await self._client.reset_token(entry.token)
            except CoordinatorError as exc:
                log.warning("token_reset_failed", error=str(exc))
                return False
            expires = answer.get("token_expires_at")
            self._switch(replace(entry, token=str(answer["token"]),
                                 token_obtained_at=stamp(self._clock.now()),
                                 token_expires_at=str(expires) if expires else None))
        self._unsaved = True
        log.info("token_reset", expires_at=str(expires) if expires else None)
        return await self._save()

    async def _save(self) -> bool:
        """Write the token in use into the config file (re-read, so other edits stay)."""
        entry = self._entry()
        try:
            saved = agentconfig.load(self._path, private=False)
            runners = tuple(replace(r, token=entry.token,
                                    token_obtained_at=entry.token_obtained_at,
                                    token_expires_at=entry.token_expires_at)
                            if r.name == entry.name else r for r in saved.runners)
            agentconfig.save(replace(saved, runners=runners))
        except (UserInputError, OSError) as exc:
            log.error("token_not_saved", config=str(self._path), error=str(exc),
                      why="the new token works but is not in the config yet; trying again")
            return False
        self._unsaved = False
        return True
