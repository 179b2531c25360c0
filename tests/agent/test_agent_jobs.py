"""The real ``runner agent`` running jobs from the GitLab fake in rootless podman.

Every test ends with the fake's protocol check (``gl.violations == []``), no
container of any run left, and no job directory left in the agent's data dir.
"""

from __future__ import annotations

import gzip
import io
import shutil
import time
import zipfile
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from tests.agent.fake_gitlab import FakeGitLab
from tests.agent.harness import IMAGE, AgentProcess, GitRepo, job, wait_until
from tests.agent.payloads import DEFAULT_FAILURE_REASONS
from tests.conftest import PrivateImage
from tests.registry import Registry

pytestmark = pytest.mark.podman

Start = Callable[..., AgentProcess]


def text(gl: FakeGitLab, job_id: int) -> str:
    return gl.trace(job_id).decode("utf-8", "replace")


def test_successful_job_with_artifacts_feeds_a_dependent_job(
        gl: FakeGitLab, repo: GitRepo, agent: Start) -> None:
    build = gl.add_job(job(repo, name="build", script=[
        "mkdir -p out", "echo built > out/app.txt", "echo junk > out/skip.log",
        "cat README src/main.sh"],
        artifacts=[{"name": "bin", "paths": ["out/"], "exclude": ["out/*.log"]}]))
    agent(concurrent=1)
    assert gl.wait(build) == "success", gl.dump(build)
    trace = text(gl, build)
    assert "hello" in trace and "echo main" in trace  # the checkout's files
    (archive,) = gl.artifacts(build)
    assert archive.artifact_type == "archive" and archive.artifact_format == "zip"
    names = zipfile.ZipFile(io.BytesIO(archive.data)).namelist()
    assert "out/app.txt" in names and "out/skip.log" not in names
    final = gl.final_update(build)
    assert final is not None and final["state"] == "success"

    test = gl.add_job(job(repo, name="test", stage="test", script=["cat out/app.txt"],
                          dependencies=[gl.dependency(build)]))
    assert gl.wait(test) == "success", gl.dump(test)
    assert "built" in text(gl, test)


def test_failing_job_reports_script_failure_and_exit_code(
        gl: FakeGitLab, repo: GitRepo, agent: Start) -> None:
    failing = gl.add_job(job(repo, script=["echo before", "exit 7", "echo never"],
                             after_script=["echo after $CI_JOB_STATUS"]))
    agent()
    assert gl.wait(failing) == "failed", gl.dump(failing)
    final = gl.final_update(failing)
    assert final is not None
    assert final["failure_reason"] == "script_failure" and final["exit_code"] == 7
    trace = text(gl, failing)
    assert "before" in trace and "never" not in trace.replace("echo never", "")
    assert "\nafter failed\n" in trace  # CI_JOB_STATUS as GitLab gives after_script


def test_masked_variables_tokens_and_file_variables(
        gl: FakeGitLab, repo: GitRepo, agent: Start) -> None:
    secret = "s3cr3t-Value-0123"
    build = gl.add_job(job(repo, masked={"DEPLOY_KEY": secret},
                           file_vars={"CONFIG": "line-one\nline-two\n"},
                           script=["echo key=$DEPLOY_KEY", "echo token=$CI_JOB_TOKEN",
                                   "echo pat=glpat-abcdefghijklmnop1234",
                                   "cat $CONFIG", "ls -l $CONFIG"]))
    agent()
    assert gl.wait(build) == "success", gl.dump(build)
    trace = text(gl, build)
    assert secret not in trace and "key=[MASKED]" in trace
    assert gl.job_token(build) not in trace and "token=[MASKED]" in trace
    assert "glpat-abcdefghijklmnop1234" not in trace and "pat=glpat-[MASKED]" in trace
    assert "line-one" in trace and "line-two" in trace


def test_checkout_is_the_exact_commit_with_a_working_git_dir(
        gl: FakeGitLab, repo: GitRepo, agent: Start) -> None:
    build = gl.add_job(job(repo, script=["cat .git/HEAD", "ls src", "pwd"]))
    agent()
    assert gl.wait(build) == "success", gl.dump(build)
    trace = text(gl, build)
    assert repo.sha in trace  # detached HEAD at the payload's sha
    assert "main.sh" in trace and "/builds/group/project" in trace


def test_job_timeout_is_a_timeout_failure(gl: FakeGitLab, repo: GitRepo, agent: Start) -> None:
    slow = gl.add_job(job(repo, script=["echo start", "sleep 60"], timeout=3))
    agent()
    began = time.monotonic()
    assert gl.wait(slow, timeout=60) == "failed", gl.dump(slow)
    assert time.monotonic() - began < 40
    final = gl.final_update(slow)
    assert final is not None and final["failure_reason"] == "job_execution_timeout"


def test_graceful_cancel_runs_after_script_then_stops(
        gl: FakeGitLab, repo: GitRepo, agent: Start) -> None:
    long = gl.add_job(job(repo, script=["echo started $CI_JOB_STATUS", "sleep 120"],
                          after_script=["echo cleanup-ran $CI_JOB_STATUS"]))
    agent()
    wait_until(lambda: b"started" in gl.trace(long), what="the job to start")
    gl.cancel(long, graceful=True)
    assert gl.wait(long, timeout=60) == "canceled", gl.dump(long)
    trace = text(gl, long)
    assert "\nstarted running\n" in trace and "\ncleanup-ran canceled\n" in trace


def test_hard_cancel_stops_at_once_without_after_script(
        gl: FakeGitLab, repo: GitRepo, agent: Start) -> None:
    long = gl.add_job(job(repo, script=["echo started", "sleep 120"],
                          after_script=["echo cleanup-ran"]))
    process = agent()
    wait_until(lambda: b"started" in gl.trace(long), what="the job to start")
    gl.cancel(long, graceful=False)
    wait_until(lambda: process.leftover_jobs() == [], timeout=60,
               what="the canceled job's directory to go")
    assert "cleanup-ran" not in text(gl, long)


def test_trace_survives_416_and_502s_and_429s(gl: FakeGitLab, repo: GitRepo,
                                              agent: Start) -> None:
    lines = [f"echo line-{i}; sleep 0.1" for i in range(30)]
    chatty = gl.add_job(job(repo, script=lines))
    gl.inject(r"/trace$", 416, times=1, headers={"Range": "0-0"})
    agent()
    wait_until(lambda: b"line-3" in gl.trace(chatty), what="some output")
    gl.inject(r"/trace$", 502, times=4)
    gl.inject(r"/trace$", 429, times=2, headers={"Retry-After": "1"})
    assert gl.wait(chatty) == "success", gl.dump(chatty)
    trace = text(gl, chatty)
    for i in range(30):
        assert f"\nline-{i}\n" in trace, f"line-{i} lost"
    statuses = [r.status for r in gl.requests if r.path.endswith("/trace")]
    assert 416 in statuses and 502 in statuses and 429 in statuses


def test_server_unreachable_for_a_while_loses_no_trace(gl: FakeGitLab, repo: GitRepo,
                                                       agent: Start) -> None:
    lines = [f"echo step-{i}; sleep 0.2" for i in range(25)]
    chatty = gl.add_job(job(repo, script=lines))
    agent()
    wait_until(lambda: b"step-2" in gl.trace(chatty), what="some output")
    gl.pause()
    time.sleep(3)
    gl.resume()
    assert gl.wait(chatty) == "success", gl.dump(chatty)
    trace = text(gl, chatty)
    for i in range(25):
        assert f"\nstep-{i}\n" in trace, f"step-{i} lost"


def test_concurrent_limit_is_honoured(gl: FakeGitLab, repo: GitRepo, agent: Start) -> None:
    ids = [gl.add_job(job(repo, name=f"j{i}", script=["sleep 1.5"])) for i in range(5)]
    agent(concurrent=2)
    peak = 0
    end = time.monotonic() + 90
    while time.monotonic() < end:
        states = [gl.job_state(i) for i in ids]
        peak = max(peak, states.count("running"))
        if all(s in ("success", "failed", "canceled") for s in states):
            break
        time.sleep(0.05)
    assert [gl.job_state(i) for i in ids] == ["success"] * 5
    assert peak == 2


def test_metrics_and_health(gl: FakeGitLab, repo: GitRepo, agent: Start) -> None:
    done = gl.add_job(job(repo, script=["true"]))
    process = agent()
    assert gl.wait(done) == "success"
    wait_until(lambda: 'runner_jobs_finished_total{state="success"} 1' in process.metrics(),
               what="the metrics to count the job")
    page = process.metrics()
    assert "runner_jobs_running 0" in page and "runner_up 1" in page
    assert "runner_poll_duration_seconds_count" in page


def test_reports_upload_even_when_the_job_fails(gl: FakeGitLab, repo: GitRepo,
                                                agent: Start) -> None:
    failing = gl.add_job(job(repo, script=[
        "echo '<testsuite name=\"t\"/>' > junit.xml", "mkdir dist", "echo x > dist/x",
        "exit 3"],
        artifacts={"paths": ["dist/"], "expire_in": "1 week",
                   "reports": {"junit": ["junit.xml"]}}))
    agent()
    assert gl.wait(failing) == "failed", gl.dump(failing)
    uploads = {a.artifact_type: a for a in gl.artifacts(failing)}
    assert set(uploads) == {"junit"}  # the archive is on_success only
    junit = uploads["junit"]
    assert junit.artifact_format == "gzip" and junit.expire_in == "1 week"
    assert gzip.decompress(junit.data) == b'<testsuite name="t"/>\n'


def test_cache_is_kept_per_project(gl: FakeGitLab, repo: GitRepo, agent: Start) -> None:
    cache = [{"key": "deps", "paths": ["vendor/"], "policy": "pull-push", "when": "on_success"}]
    write = gl.add_job(job(repo, cache=cache, project_id=1,
                           script=["mkdir -p vendor", "echo from-project-1 > vendor/lib"]))
    agent(concurrent=1)
    assert gl.wait(write) == "success", gl.dump(write)
    same = gl.add_job(job(repo, cache=cache, project_id=1,
                          script=["cat vendor/lib || echo no-cache"]))
    assert gl.wait(same) == "success", gl.dump(same)
    assert "from-project-1" in text(gl, same)
    other = gl.add_job(job(repo, cache=cache, project_id=2, project_path="other/project",
                           script=["cat vendor/lib || echo no-cache"]))
    assert gl.wait(other) == "success", gl.dump(other)
    assert "from-project-1" not in text(gl, other).replace("echo from-project-1", "")
    assert "no-cache" in text(gl, other)


def test_job_requests_back_off_on_errors_and_echo_last_update(
        gl: FakeGitLab, repo: GitRepo, agent: Start) -> None:
    gl.inject(r"/jobs/request$", 502, times=7)
    agent(check_interval=0.2)
    wait_until(lambda: len(gl.job_requests) >= 3, timeout=60, what="polling to resume")
    statuses = [r.status for r in gl.requests if r.path.endswith("/jobs/request")]
    assert statuses[:7] == [502] * 7
    late = gl.add_job(job(repo, script=["echo late"]))
    assert gl.wait(late, timeout=60) == "success", gl.dump(late)
    markers = [body.get("last_update") for body in gl.job_requests]
    assert any(markers[1:]), "the X-GitLab-Last-Update marker was never sent back"


def test_services_answer_on_localhost_and_their_aliases(gl: FakeGitLab, repo: GitRepo,
                                                        agent: Start) -> None:
    serve = ("mkdir -p /srv && cd /srv && echo served-by-service > index.html "
             "&& exec httpd -f -p 8080 -h /srv")
    web = gl.add_job(job(repo, services=[{
        "name": IMAGE, "alias": "web,api.internal", "entrypoint": ["sh", "-c"],
        "command": [serve], "ports": [{"number": 8080, "protocol": "http"}]}],
        script=['for h in localhost web api.internal; do echo "$h=$(wget -qO- http://$h:8080/)";'
                " done"]))
    agent()
    assert gl.wait(web) == "success", gl.dump(web)
    trace = text(gl, web)
    for host in ("localhost", "web", "api.internal"):
        assert f"{host}=served-by-service" in trace, trace


@pytest.fixture
def trusted(registry: Registry) -> Iterator[Registry]:
    """The registry's CA in the user's ``certs.d``, as an admin would install it: GitLab
    sends credentials, never a CA."""
    host_dir = Path.home() / ".config" / "containers" / "certs.d" / registry.host
    host_dir.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(registry.ca_file, host_dir / "ca.crt")
    try:
        yield registry
    finally:
        shutil.rmtree(host_dir)


def test_private_image_pulls_with_the_jobs_credentials_for_its_project_only(
        gl: FakeGitLab, repo: GitRepo, agent: Start, trusted: Registry,
        private_image: PrivateImage) -> None:
    """GitLab's job credentials pull a private image into the project's own store; a job of
    the same project whose token the registry refuses, and a job of another project without
    credentials, are both refused by the registry."""
    creds = [{"type": "registry", "url": trusted.host, "username": trusted.username,
              "password": trusted.password}]
    own = gl.add_job(job(repo, image=private_image.reference, credentials=creds,
                         script=["cat /private-marker"]))
    denied = gl.add_job(job(repo, image=private_image.reference, script=["cat /private-marker"],
                            credentials=[{**creds[0], "password": "not-the-password-at-all"}],
                            failure_reasons=(*DEFAULT_FAILURE_REASONS, "image_pull_failure")))
    other = gl.add_job(job(repo, image=private_image.reference, project_id=4343,
                           project_path="other/project", script=["cat /private-marker"],
                           failure_reasons=(*DEFAULT_FAILURE_REASONS, "image_pull_failure")))
    agent(concurrent=1)
    assert gl.wait(own) == "success", gl.dump(own)
    trace = text(gl, own)
    assert private_image.marker in trace
    assert f"pulling image {private_image.reference} into this project's image store" in trace
    assert trusted.password not in trace
    # Same project, a token the registry refuses: the copy in the project's store must not
    # stand in for the registry's answer (a GitLab job token has its own user's access).
    assert gl.wait(denied) == "failed", gl.dump(denied)
    assert private_image.marker not in text(gl, denied)
    assert "unauthorized" in text(gl, denied), text(gl, denied)
    assert gl.wait(other) == "failed", gl.dump(other)
    stolen = text(gl, other)
    assert private_image.marker not in stolen
    assert "unauthorized" in stolen, stolen
    final = gl.final_update(other)
    assert final is not None and final["failure_reason"] == "image_pull_failure"
