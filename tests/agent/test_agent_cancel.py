"""What a job keeps when GitLab cancels it gracefully: gitlab-runner's rules, checked end to end.

gitlab-runner cancels only the script on GitLab's *canceling* (``Job-Status:
canceling``); ``after_script`` still runs, and the job then goes on as a failed
one: caches and artifacts with ``when: on_failure`` or ``always`` are saved and
uploaded, ``on_success`` ones are not (``common/build.go``: ``executeUserScripts``
cancels the script's context only, then ``executeArchiveCache`` and
``executeUploadArtifacts`` run with the job's error). A hard cancel aborts the
whole build context: nothing runs after the script, nothing is uploaded.
"""

from __future__ import annotations

import gzip
import io
import zipfile
from collections.abc import Callable

import pytest

from tests.agent.fake_gitlab import FakeGitLab
from tests.agent.harness import AgentProcess, GitRepo, job, wait_until

pytestmark = pytest.mark.podman

Start = Callable[..., AgentProcess]

SCRIPT = ["mkdir -p out", "echo partial > out/debug.log",
          "echo '<testsuite name=\"t\"/>' > junit.xml", "echo started", "sleep 120"]


def test_graceful_cancel_uploads_on_failure_and_always_artifacts_not_on_success(
        gl: FakeGitLab, repo: GitRepo, agent: Start) -> None:
    on_failure = gl.add_job(job(repo, name="debug", script=SCRIPT,
                                after_script=["echo more >> out/debug.log"],
                                artifacts={"paths": ["out/"], "when": "on_failure",
                                           "reports": {"junit": ["junit.xml"]}}))
    on_success = gl.add_job(job(repo, name="release", script=SCRIPT,
                                artifacts={"paths": ["out/"], "when": "on_success",
                                           "reports": {"junit": ["junit.xml"]}}))
    agent(concurrent=2)
    for job_id in (on_failure, on_success):
        wait_until(lambda job_id=job_id: b"started" in gl.trace(job_id),  # type: ignore[misc]
                   what=f"job {job_id} to start")
        gl.cancel(job_id, graceful=True)
    for job_id in (on_failure, on_success):
        assert gl.wait(job_id, timeout=90) == "canceled", gl.dump(job_id)
        final = gl.final_update(job_id)
        assert final is not None and final["state"] == "failed"

    uploads = {a.artifact_type: a for a in gl.artifacts(on_failure)}
    assert set(uploads) == {"archive", "junit"}, gl.dump(on_failure)
    archive = zipfile.ZipFile(io.BytesIO(uploads["archive"].data))
    assert archive.read("out/debug.log") == b"partial\nmore\n"  # after_script's line too
    assert gzip.decompress(uploads["junit"].data) == b'<testsuite name="t"/>\n'
    assert "Uploading artifacts" in gl.trace(on_failure).decode()

    # on_success: not uploaded; the report (``when: always`` in GitLab's payload) is
    assert [a.artifact_type for a in gl.artifacts(on_success)] == ["junit"], gl.dump(on_success)


def test_hard_cancel_uploads_nothing(gl: FakeGitLab, repo: GitRepo, agent: Start) -> None:
    hard = gl.add_job(job(repo, script=SCRIPT, artifacts={
        "paths": ["out/"], "when": "always", "reports": {"junit": ["junit.xml"]}}))
    process = agent()
    wait_until(lambda: b"started" in gl.trace(hard), what="the job to start")
    gl.cancel(hard, graceful=False)
    wait_until(lambda: process.leftover_jobs() == [], timeout=60,
               what="the canceled job's directory to go")
    assert gl.artifacts(hard) == []


def test_graceful_cancel_saves_on_failure_caches_not_on_success_ones(
        gl: FakeGitLab, repo: GitRepo, agent: Start) -> None:
    """``archive_cache_on_failure`` runs after a graceful cancel in gitlab-runner too."""
    cache = [{"key": "kept", "paths": ["kept/"], "when": "on_failure"},
             {"key": "dropped", "paths": ["dropped/"], "when": "on_success"}]
    canceled = gl.add_job(job(repo, cache=cache, script=[
        "mkdir -p kept dropped", "echo saved > kept/f", "echo lost > dropped/f",
        "echo started", "sleep 120"]))
    agent(concurrent=1)
    wait_until(lambda: b"started" in gl.trace(canceled), what="the job to start")
    gl.cancel(canceled, graceful=True)
    assert gl.wait(canceled, timeout=90) == "canceled", gl.dump(canceled)
    reader = gl.add_job(job(repo, cache=cache, script=[
        "cat kept/f || echo no-kept", "cat dropped/f || echo no-dropped"]))
    assert gl.wait(reader) == "success", gl.dump(reader)
    lines = gl.trace(reader).decode().splitlines()
    assert "saved" in lines and "no-dropped" in lines, gl.dump(reader)
