"""A job tries to outlive its timeout by stopping the supervisor that should end it.

Every job container's PID 1 is runner's supervisor (``runner.engine.boot``);
the TERM and USR2 runner sends at a timeout, a Ctrl-C or an agent's cancel
go to it, and it passes them on. The job runs as root in the container, so
it may ``ptrace(PTRACE_ATTACH, 1)``: PID 1 is then stopped, every signal
but SIGKILL waits for a tracer that never lets it through, and a runner that
waits for the supervisor's answer waits forever. What must end the job is a
SIGKILL from outside the container, whose PID 1's death takes its whole PID
namespace with it.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import time
from collections.abc import Callable, Iterable
from pathlib import Path

import pytest

from tests.agent.conftest import agent, gl  # noqa: F401 - the agent's fixtures here
from tests.agent.fake_gitlab import FakeGitLab
from tests.agent.harness import AgentProcess, GitRepo, job, make_repo, wait_until
from tests.integration.harness import Project, wait_for_line
from tests.security.conftest import IMAGE, host_pids_with, static_program, token

pytestmark = pytest.mark.podman

RUN_TIMEOUT_S = 120
"""Far more than timeout + two grace periods: only a run that hangs takes this long."""

ATTACH_C = r"""
#include <signal.h>
#include <stdio.h>
#include <sys/ptrace.h>
#include <unistd.h>

/* Stop the container's PID 1 (runner's supervisor) and keep it stopped. */
int main(void) {
    signal(SIGTERM, SIG_IGN);
    signal(SIGINT, SIG_IGN);
    signal(SIGHUP, SIG_IGN);
    if (ptrace(PTRACE_ATTACH, 1, 0, 0) != 0) {
        perror("ptrace");
        return 1;
    }
    puts("attached-to-pid-1");
    fflush(stdout);
    for (;;)
        pause();
}
"""


def _attach_program(where: Path) -> None:
    """The attacker, static: busybox has no ptrace tool."""
    static_program(ATTACH_C, where)


def _kill_stuck_containers(project: Project) -> None:
    """Only when the run hung: SIGKILL every job container's PID 1, so nothing outlives the test."""
    _kill_pids_in((project.state / "work").glob("*/*/pid"))


def _kill_pids_in(pidfiles: Iterable[Path]) -> None:
    for pidfile in pidfiles:
        with contextlib.suppress(OSError, ValueError):
            os.kill(int(pidfile.read_text().strip()), signal.SIGKILL)


@pytest.mark.parametrize("engine", ["runc", "podman"])
def test_job_that_stops_pid_1_still_ends_at_its_timeout(project: Project, engine: str) -> None:
    """A job ptrace-stops its container's PID 1 and ignores TERM itself: at its timeout
    (2 s) runner still ends it (SIGKILL from outside, after the grace periods), reports it
    timed out, and leaves no container and no process of it behind."""
    marker = token("stuck")
    _attach_program(project.root / "attach")
    project.write(f"""
        version: 1
        jobs:
          stuck:
            image: {IMAGE}
            timeout: 2s
            script:
              - trap '' TERM INT
              - ./attach {marker}
            after_script: ["echo after-script-ran"]
        """)
    with project.start("--engine", engine) as proc:
        try:
            out, err = proc.communicate(timeout=RUN_TIMEOUT_S)
        except subprocess.TimeoutExpired:
            _kill_stuck_containers(project)
            out, err = proc.communicate(timeout=60)
            pytest.fail(f"runner was still waiting {RUN_TIMEOUT_S}s after a 2s timeout:\n"
                        f"{out}{err}")
    log = project.log("stuck")
    assert "attached-to-pid-1" in log, log  # the attack really stopped PID 1
    assert proc.returncode == 1, out + err
    assert "job timed out after 2s" in log, log
    result = json.loads((project.state / "result.json").read_text())
    assert result["jobs"][0]["status"] == "timed out", result
    deadline = time.monotonic() + 10
    while host_pids_with(marker) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert host_pids_with(marker) == []


@pytest.mark.parametrize("engine", ["runc", "podman"])
def test_job_that_stops_pid_1_still_ends_on_ctrl_c(project: Project, engine: str) -> None:
    """The same attack against one Ctrl-C (as an agent's graceful cancel, which takes the
    same path): runner ends the job without its cooperation and exits, job canceled."""
    marker = token("stuck")
    _attach_program(project.root / "attach")
    project.write(f"""
        version: 1
        jobs:
          stuck:
            image: {IMAGE}
            timeout: 1h
            script:
              - trap '' TERM INT
              - ./attach {marker}
        """)
    with project.start("--engine", engine) as proc:
        try:
            wait_for_line(proc, "attached-to-pid-1")
            proc.send_signal(signal.SIGINT)
            out, err = proc.communicate(timeout=RUN_TIMEOUT_S)
        except subprocess.TimeoutExpired:
            _kill_stuck_containers(project)
            out, err = proc.communicate(timeout=60)
            pytest.fail(f"runner was still waiting {RUN_TIMEOUT_S}s after a Ctrl-C:\n{out}{err}")
    result = json.loads((project.state / "result.json").read_text())
    assert result["jobs"][0]["status"] == "canceled", (result, out, err)
    assert proc.returncode not in (0, 1), out + err  # interrupted
    deadline = time.monotonic() + 10
    while host_pids_with(marker) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert host_pids_with(marker) == []


def test_job_that_stops_pid_1_still_ends_on_agent_cancel(
        gl: FakeGitLab, agent: Callable[..., AgentProcess], tmp_path: Path) -> None:  # noqa: F811
    """The same attack in a GitLab job that its user cancels (gracefully, so runner tries
    TERM and after_script first): the agent still ends it and reports it canceled."""
    marker = token("stuck")
    repo = make_repo(tmp_path / "repo", {"README": "hello\n"})
    _attach_program(repo.path / "attach")
    env = {**os.environ, "GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@example.com",
           "GIT_COMMITTER_NAME": "t", "GIT_COMMITTER_EMAIL": "t@example.com"}
    for args in (["add", "attach"], ["commit", "-q", "-m", "attacker"]):
        subprocess.run(["git", "-C", str(repo.path), *args], env=env, check=True, timeout=30)
    sha = subprocess.run(["git", "-C", str(repo.path), "rev-parse", "HEAD"], check=True,
                         capture_output=True, text=True, timeout=30).stdout.strip()
    stuck = gl.add_job(job(GitRepo(repo.path, sha), script=["trap '' TERM INT",
                                                            f"./attach {marker}"],
                           after_script=["echo after-script-ran"]))
    process = agent()
    wait_until(lambda: b"attached-to-pid-1" in gl.trace(stuck), timeout=120,
               what="the attack to stop PID 1")
    gl.cancel(stuck, graceful=True)
    try:
        state = gl.wait(stuck, timeout=RUN_TIMEOUT_S)
    except AssertionError:
        _kill_pids_in(path for path in process.data.rglob("pid") if path.is_file())
        raise
    assert state == "canceled", gl.dump(stuck)
    deadline = time.monotonic() + 10
    while host_pids_with(marker) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert host_pids_with(marker) == []
