"""SIGHUP: the agent reads its config again without dropping the job it is running."""

from __future__ import annotations

import signal
from collections.abc import Callable, Iterator
from typing import Any

import pytest
import structlog
import yaml

from runner.cli import main
from tests.agent.fake_gitlab import FakeGitLab
from tests.agent.harness import AgentProcess, GitRepo, job, wait_until

pytestmark = pytest.mark.podman

Start = Callable[..., AgentProcess]


@pytest.fixture(autouse=True)
def _keep_logging() -> Iterator[None]:
    """``main`` (runner register, in-process) configures structlog; put the old set-up back."""
    saved: dict[str, Any] = structlog.get_config()
    yield
    structlog.configure(**saved)


def polls_with(gl: FakeGitLab, token: str) -> int:
    return sum(body.get("token") == token for body in gl.job_requests)


def test_sighup_swaps_runners_and_raises_concurrent_while_a_job_runs(
        gl: FakeGitLab, repo: GitRepo, agent: Start) -> None:
    first = gl.add_job(job(repo, script=["echo started", "sleep 15", "echo finished"]))
    process = agent(concurrent=1)
    wait_until(lambda: b"started" in gl.trace(first), what="the first job to start")
    old_token = gl.runner_token

    # An operator registers a second runner into the same file, removes the first one,
    # raises concurrent, and reloads (what `systemctl reload` sends).
    assert main(["register", "--url", gl.url, "--registration-token", gl.registration_token,
                 "--name", "second", "--image", "localhost/busybox:latest",
                 "--config", str(process.config)]) == 0
    doc = yaml.safe_load(process.config.read_text())
    doc["runners"] = [r for r in doc["runners"] if r["name"] == "second"]
    doc["concurrent"] = 2
    new_token = doc["runners"][0]["token"]
    process.config.write_text(yaml.safe_dump(doc))
    process.signal(signal.SIGHUP)

    wait_until(lambda: polls_with(gl, new_token) > 0, what="the new runner to poll")
    assert gl.job_state(first) == "running"  # not dropped, not restarted
    old_polls = polls_with(gl, old_token)
    second = gl.add_job(job(repo, script=["echo second"]))
    assert gl.wait(second) == "success", gl.dump(second)
    assert gl.wait(first) == "success", gl.dump(first)
    assert b"finished" in gl.trace(first)
    assert polls_with(gl, old_token) == old_polls  # the removed runner asks no more
    page = process.metrics()
    assert "gitlab_runner_concurrent 2" in page
    assert 'runner_name="second"' in page and 'runner_name="test"' not in page.split(
        "gitlab_runner_limit")[1].split("# HELP")[0]
    assert "config_reloaded" in process.log()


def test_a_broken_config_on_sighup_changes_nothing(
        gl: FakeGitLab, repo: GitRepo, agent: Start) -> None:
    process = agent(concurrent=1)
    wait_until(lambda: polls_with(gl, gl.runner_token) > 0, what="the agent to poll")
    good = process.config.read_text()
    process.config.write_text(good.replace("concurrent: 1", "concurrent: many"))
    process.signal(signal.SIGHUP)
    wait_until(lambda: "config_reload_refused" in process.log(), what="the refusal")
    refusal = next(line for line in process.log().splitlines()
                   if "config_reload_refused" in line)
    assert f"{process.config}:" in refusal and "(key 'concurrent')" in refusal
    done = gl.add_job(job(repo, script=["echo still-here"]))
    assert gl.wait(done) == "success", gl.dump(done)
    assert "gitlab_runner_concurrent 1" in process.metrics()
