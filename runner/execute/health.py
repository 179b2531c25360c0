"""Readiness by health command: a service with ``health`` is ready once its command succeeds.

GitHub's runner starts a job's services, then waits while docker says a
service's health is "starting" and fails the job ("Failed to initialize,
redis service is unhealthy.") unless it becomes "healthy". runner has no
docker daemon running checks, so it runs them itself (``pods.probe_health``)
and reaches docker's verdicts:

- healthy at the first run of the command that exits 0;
- unhealthy once ``retries`` runs in a row have failed, counting only runs
  docker would have made after the start period: its first run is one
  ``interval`` after the start, each next one an ``interval`` after the end
  of the last.

Between docker's runs runner probes more often (from 0.1 s, doubling, up to
a second), so a service is found healthy as soon as it is, not an interval
later; only docker's runs can make it unhealthy, so the verdict "unhealthy"
comes when docker's would. A service whose container has exited is unhealthy
at once.
"""

from __future__ import annotations

import asyncio
import math
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

from runner.engine import pods
from runner.engine.argv import StoreSpec
from runner.engine.pods import Probe
from runner.pipeline.model import Health, Service

FIRST_DELAY_S = 0.1
MAX_DELAY_S = 1.0
MIN_INTERVAL_S = 0.001


@dataclass
class HealthJudge:
    """docker's health state machine for one service, from "starting" to a verdict (pure).

    Times are seconds since the service started.
    """

    health: Health
    counted: int = 0
    """Failed runs that count towards ``retries``."""
    healthy: bool = False
    unhealthy: bool = False
    next_count_s: float = field(init=False)
    """When docker's next run that counts would start."""

    def __post_init__(self) -> None:
        interval = self.interval_s
        first = max(1, math.ceil(self.health.start_period_s / interval - 1e-9))
        self.next_count_s = first * interval

    @property
    def interval_s(self) -> float:
        """The interval, at least docker's smallest (1 ms) whoever built the model."""
        return max(self.health.interval_s, MIN_INTERVAL_S)

    def record(self, began_s: float, ended_s: float, probe: Probe) -> None:
        """Take one probe's result: it may give the verdict."""
        if probe.ok:
            self.healthy = True
        elif probe.exited:
            self.unhealthy = True
        elif began_s >= self.next_count_s - 1e-9:
            self.counted += 1
            self.next_count_s = ended_s + self.interval_s
            self.unhealthy = self.counted >= self.health.retries

    @property
    def decided(self) -> bool:
        return self.healthy or self.unhealthy

    def delay(self, now_s: float, probes: int) -> float:
        """How long to wait before the next probe (the ``probes``-th), from ``now_s``."""
        backoff = min(FIRST_DELAY_S * 2.0 ** min(probes, 16), MAX_DELAY_S, self.interval_s)
        return max(0.0, min(backoff, self.next_count_s - now_s))


@dataclass(frozen=True)
class Verdict:
    """How waiting for one service ended."""

    healthy: bool
    took_s: float
    last: Probe | None
    """The last probe's result (its output goes in the job log on failure)."""
    timed_out: bool = False
    """The job's time ran out while the service was still starting."""


Prober = Callable[[], Awaitable[Probe]]


async def wait_healthy(health: Health, probe: Prober, canceled: asyncio.Event,
                       limit_s: float) -> Verdict:
    """Probe until docker's verdict, Ctrl-C (``canceled``) or ``limit_s`` (the job's time)."""
    judge = HealthJudge(health)
    began = time.monotonic()
    last: Probe | None = None
    probes = 0
    while not canceled.is_set():
        start = time.monotonic() - began
        if start >= limit_s:
            return Verdict(False, start, last, timed_out=True)
        last = await probe()
        end = time.monotonic() - began
        judge.record(start, end, last)
        if judge.decided:
            return Verdict(judge.healthy, end, last)
        delay = judge.delay(end, probes)
        probes += 1
        with_cancel = asyncio.ensure_future(canceled.wait())
        try:
            await asyncio.wait([with_cancel], timeout=min(delay, max(0.0, limit_s - end)))
        finally:
            with_cancel.cancel()
    return Verdict(False, time.monotonic() - began, last)


def service_label(service: Service) -> str:
    """How the job log names a service: its id (first alias, as GitHub's), else its image."""
    return service.aliases[0] if service.aliases else service.image


async def check_service(name: str, service: Service, *, runtime: str | None,
                        store: StoreSpec | None, notice: Callable[[str], None],
                        canceled: asyncio.Event, limit_s: float) -> bool:
    """Wait for container ``name``'s health command; whether it became healthy.

    An unhealthy service gets GitHub's line, the command's last output and the
    service's own last output in the job log.
    """
    health = service.health
    assert health is not None
    label = service_label(service)

    async def probe() -> Probe:
        return await pods.probe_health(name, health.command, health.timeout_s, runtime, store)

    verdict = await wait_healthy(health, probe, canceled, limit_s)
    if canceled.is_set():
        return False
    if verdict.healthy:
        notice(f"runner: {label} service is healthy after {verdict.took_s:.2f}s")
        return True
    if verdict.last is not None and verdict.last.exited:
        why = f"could not run: the service exited ({await pods.state(name, store)})"
    elif verdict.timed_out:
        why = f"was still failing when the job's time ran out ({limit_s:g}s)"
    else:
        why = (f"failed {health.retries} times in a row, {health.interval_s:g}s apart"
               + (f", after a start period of {health.start_period_s:g}s"
                  if health.start_period_s else ""))
    notice(f"runner: Failed to initialize, {label} service is unhealthy: its health command"
           f" `{health.command}` {why}. The command's last output:")
    last = verdict.last.output if verdict.last is not None and not verdict.last.exited else ""
    for line in last.splitlines() or ["(none)"]:
        notice(f"  {line}")
    notice(f"runner: the {label} service's last output:")
    for line in (await pods.logs(name, tail=20, store=store)).splitlines() or ["(none)"]:
        notice(f"  {line}")
    return False
