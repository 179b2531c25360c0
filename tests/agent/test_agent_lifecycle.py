"""The agent's own life: graceful and forced shutdown, crash and restart."""

from __future__ import annotations

import signal
import time
from collections.abc import Callable

import pytest

from tests.agent.fake_gitlab import FakeGitLab
from tests.agent.harness import AgentProcess, GitRepo, job, wait_until
from tests.security.test_runc_host import slirp_alive, slirps_of

pytestmark = pytest.mark.podman

Start = Callable[..., AgentProcess]


def test_sigterm_lets_the_running_job_finish_and_takes_no_more(
        gl: FakeGitLab, repo: GitRepo, agent: Start) -> None:
    first = gl.add_job(job(repo, script=["echo started", "sleep 3", "echo finished"]))
    process = agent(concurrent=1)
    wait_until(lambda: b"started" in gl.trace(first), what="the job to start")
    second = gl.add_job(job(repo, script=["echo second"]))
    process.signal(signal.SIGTERM)
    assert process.wait(60) == 0
    assert gl.job_state(first) == "success", gl.dump(first)
    assert b"finished" in gl.trace(first)
    assert gl.job_state(second) == "pending"  # never taken: still queued for another runner


def test_second_signal_stops_jobs_and_reports_system_failure(
        gl: FakeGitLab, repo: GitRepo, agent: Start) -> None:
    long = gl.add_job(job(repo, script=["echo started", "sleep 120"],
                          after_script=["echo cleanup-ran"]))
    process = agent(concurrent=1)
    wait_until(lambda: b"started" in gl.trace(long), what="the job to start")
    began = time.monotonic()
    process.signal(signal.SIGTERM)
    time.sleep(0.5)
    process.signal(signal.SIGTERM)
    assert process.wait(60) == 0
    assert time.monotonic() - began < 30
    assert gl.job_state(long) == "failed", gl.dump(long)
    final = gl.final_update(long)
    assert final is not None and final["failure_reason"] == "runner_system_failure"
    assert b"cleanup-ran" not in gl.trace(long)


def test_grace_period_over_stops_jobs(gl: FakeGitLab, repo: GitRepo, agent: Start) -> None:
    long = gl.add_job(job(repo, script=["echo started", "sleep 120"]))
    process = agent(concurrent=1, shutdown_timeout=2)
    wait_until(lambda: b"started" in gl.trace(long), what="the job to start")
    process.signal(signal.SIGTERM)
    assert process.wait(60) == 0
    final = gl.final_update(long)
    assert final is not None and final["failure_reason"] == "runner_system_failure"


def test_restart_after_crash_cleans_up_and_reports_the_job_failed(
        gl: FakeGitLab, repo: GitRepo, agent: Start) -> None:
    long = gl.add_job(job(repo, script=["echo started", "sleep 120"]))
    crashed = agent(concurrent=1)
    wait_until(lambda: b"started" in gl.trace(long), what="the job to start")
    assert crashed.proc is not None
    slirps = slirps_of(crashed.proc.pid)  # the runc engine's, for the job's network
    assert len(slirps) == 1
    crashed.signal(signal.SIGKILL)
    crashed.wait(30)
    assert crashed.leftover_jobs() != []  # it could not clean up after itself
    restarted = AgentProcess(gl, crashed.work, concurrent=1).start()
    try:
        assert gl.wait(long, timeout=90) == "failed", gl.dump(long)
        final = gl.final_update(long)
        assert final is not None and final["failure_reason"] == "runner_system_failure"
        assert b"the runner agent stopped while this job ran" in gl.trace(long)
        wait_until(lambda: restarted.leftover_jobs() == [], timeout=60,
                   what="the crashed job's directory to be removed")
        wait_until(lambda: not any(map(slirp_alive, slirps)), timeout=60,
                   what="the crashed job's slirp4netns to be stopped")
    finally:
        restarted.stop()
