"""Tests of runner.execute.health: docker's health verdicts, reached by runner's own probes."""

from __future__ import annotations

import asyncio

import pytest

from runner.engine.pods import Probe
from runner.execute.health import HealthJudge, Prober, service_label, wait_healthy
from runner.pipeline.model import Health, Service

FAIL = Probe(False, "no")
OK = Probe(True, "yes")


def test_first_success_is_healthy_even_before_dockers_first_run() -> None:
    """docker's first run is an interval after the start; runner's earlier success counts."""
    judge = HealthJudge(Health("x", interval_s=10.0))
    judge.record(0.0, 0.1, FAIL)
    judge.record(0.2, 0.3, OK)
    assert judge.healthy
    assert not judge.unhealthy


def test_failures_count_only_on_dockers_schedule() -> None:
    """Retries count runs docker would make: at the interval, then an interval after each end."""
    judge = HealthJudge(Health("x", interval_s=10.0, retries=3))
    for at in (0.0, 1.0, 5.0, 9.9):  # between docker's runs: never counted
        judge.record(at, at + 0.1, FAIL)
    assert judge.counted == 0
    judge.record(10.0, 10.5, FAIL)  # docker's first run
    judge.record(15.0, 15.1, FAIL)  # too soon after it
    assert judge.counted == 1
    assert judge.next_count_s == 20.5
    judge.record(20.5, 20.6, FAIL)
    assert not judge.decided
    judge.record(30.6, 30.7, FAIL)
    assert judge.unhealthy
    assert judge.counted == 3


def test_start_period_failures_do_not_count() -> None:
    """With a start period, the first counted run is docker's first one at or after it."""
    judge = HealthJudge(Health("x", interval_s=10.0, retries=1, start_period_s=25.0))
    assert judge.next_count_s == 30.0
    judge.record(29.0, 29.5, FAIL)
    assert not judge.decided
    judge.record(30.0, 30.1, FAIL)
    assert judge.unhealthy
    assert HealthJudge(Health("x", interval_s=10.0, start_period_s=20.0)).next_count_s == 20.0
    assert HealthJudge(Health("x", interval_s=10.0, start_period_s=0.0)).next_count_s == 10.0


def test_a_service_that_exited_is_unhealthy_at_once() -> None:
    judge = HealthJudge(Health("x"))
    judge.record(0.0, 0.1, Probe(False, "gone", exited=True))
    assert judge.unhealthy


def test_probe_delays_back_off_and_never_miss_dockers_run() -> None:
    """From 0.1 s doubling to 1 s (or the interval if shorter); docker's next run comes first."""
    judge = HealthJudge(Health("x", interval_s=30.0))
    assert [judge.delay(0.0, n) for n in range(6)] == [0.1, 0.2, 0.4, 0.8, 1.0, 1.0]
    assert judge.delay(29.5, 9) == pytest.approx(0.5)
    assert judge.delay(31.0, 9) == 0.0
    assert HealthJudge(Health("x", interval_s=0.3)).delay(0.0, 5) == pytest.approx(0.3)


def scripted(*probes: Probe) -> tuple[list[int], Prober]:
    """A prober that answers ``probes`` in turn (then the last forever), counting calls."""
    calls = [0]

    async def probe() -> Probe:
        calls[0] += 1
        return probes[min(calls[0], len(probes)) - 1]

    return calls, probe


def test_wait_healthy_until_the_command_succeeds() -> None:
    calls, probe = scripted(FAIL, FAIL, OK)
    verdict = asyncio.run(wait_healthy(Health("x", interval_s=0.01), probe,
                                       asyncio.Event(), limit_s=60.0))
    assert verdict.healthy
    assert verdict.last == OK
    assert calls[0] == 3


def test_wait_healthy_gives_up_as_docker_would() -> None:
    """Always failing: unhealthy after `retries` counted runs, with the last output kept."""
    calls, probe = scripted(FAIL)
    verdict = asyncio.run(wait_healthy(Health("x", interval_s=0.01, retries=2),
                                       probe, asyncio.Event(), limit_s=60.0))
    assert not verdict.healthy
    assert not verdict.timed_out
    assert verdict.last == FAIL
    assert calls[0] >= 2


def test_wait_healthy_stops_at_the_jobs_time_limit() -> None:
    _, probe = scripted(FAIL)
    verdict = asyncio.run(wait_healthy(Health("x"), probe, asyncio.Event(),
                                       limit_s=0.0))
    assert verdict.timed_out
    assert not verdict.healthy


def test_wait_healthy_stops_on_cancel() -> None:
    """Ctrl-C while a service starts ends the wait without a verdict."""
    async def main() -> bool:
        canceled = asyncio.Event()
        calls, probe = scripted(FAIL)

        async def cancel_soon() -> None:
            while calls[0] < 2:
                await asyncio.sleep(0.01)
            canceled.set()

        canceling = asyncio.ensure_future(cancel_soon())
        verdict = await wait_healthy(Health("x"), probe, canceled,
                                     limit_s=3600.0)
        await canceling
        return verdict.healthy

    assert asyncio.run(main()) is False


def test_service_label_is_its_id() -> None:
    assert service_label(Service("postgres:16", aliases=("db", "postgres"))) == "db"
    assert service_label(Service("postgres:16")) == "postgres:16"


def test_a_zero_interval_from_another_model_builder_is_dockers_smallest() -> None:
    """The parser never makes one, but a Health built elsewhere with 0 must not divide by it."""
    judge = HealthJudge(Health("x", interval_s=0.0, retries=1))
    assert judge.next_count_s == 0.001
    judge.record(0.001, 0.002, FAIL)
    assert judge.unhealthy
