"""The GitLab fake itself: agent tests trust its verdicts, so its protocol must be right.

Plain HTTP clients only (urllib, or aiohttp inside ``asyncio.run``): these tests must
not depend on the agent code they will later judge.
"""

from __future__ import annotations

import asyncio
import json
import threading
import time
import urllib.error
import urllib.request
import zlib
from collections.abc import Iterator
from email.message import Message
from typing import Any, NamedTuple

import aiohttp
import pytest

from tests.agent.fake_gitlab import FakeGitLab
from tests.agent.payloads import DEFAULT_FAILURE_REASONS, job_payload

SYSTEM_ID = "s_0123456789ab"
FEATURES = {"variables": True, "image": True, "artifacts": True, "cache": True,
            "upload_multiple_artifacts": True, "trace_checksum": True, "trace_size": True,
            "cancelable": True, "cancel_gracefully": True, "two_phase_job_commit": True}


class Reply(NamedTuple):
    status: int
    headers: Message
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)


def call(gl: FakeGitLab, method: str, path: str, *, body: Any = None, data: bytes | None = None,
         headers: dict[str, str] | None = None, timeout: float = 10) -> Reply:
    """One HTTP request to the fake; error statuses are returned, not raised."""
    all_headers = dict(headers or {})
    if body is not None:
        data = json.dumps(body).encode()
        all_headers.setdefault("Content-Type", "application/json")
    request = urllib.request.Request(gl.api_url + path, data=data, method=method,
                                     headers=all_headers)
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            return Reply(response.status, response.headers, response.read())
    except urllib.error.HTTPError as err:
        with err:
            return Reply(err.code, err.headers, err.read())


def request_job(gl: FakeGitLab, *, token: str | None = None, last_update: str | None = None,
                features: dict[str, Any] | None = None) -> Reply:
    body: dict[str, Any] = {"token": token or gl.runner_token, "system_id": SYSTEM_ID,
                            "info": {"name": "runner", "features": features or FEATURES}}
    if last_update is not None:
        body["last_update"] = last_update
    return call(gl, "POST", "jobs/request", body=body)


def update(gl: FakeGitLab, job_id: int, state: str, token: str | None = None,
           **extra: Any) -> Reply:
    token = token or gl.job_token(job_id)
    return call(gl, "PUT", f"jobs/{job_id}", body={"token": token, "state": state, **extra},
                headers={"JOB-TOKEN": token})


def patch(gl: FakeGitLab, job_id: int, data: bytes, start: int,
          end: int | None = None) -> Reply:
    end = start + len(data) - 1 if end is None else end
    return call(gl, "PATCH", f"jobs/{job_id}/trace", data=data, headers={
        "JOB-TOKEN": gl.job_token(job_id), "Content-Range": f"{start}-{end}",
        "Content-Type": "text/plain"})


def output(trace: bytes) -> dict[str, Any]:
    return {"checksum": f"crc32:{zlib.crc32(trace):08x}", "bytesize": len(trace)}


def running_job(gl: FakeGitLab, **payload: Any) -> int:
    """A job handed to the runner and accepted (PUT state=running)."""
    job_id = gl.add_job(lambda i, t: job_payload(job_id=i, token=t, server_url=gl.url, **payload))
    assert request_job(gl).status == 201
    assert update(gl, job_id, "running").status == 200
    return job_id


@pytest.fixture
def gl() -> Iterator[FakeGitLab]:
    with FakeGitLab() as fake:
        yield fake


def test_request_assigns_then_answers_204_with_last_update(gl: FakeGitLab) -> None:
    """201 hands out the queued job; then 204 + X-GitLab-Last-Update, echoed value → 204."""
    job_id = gl.add_job(lambda i, t: job_payload(job_id=i, token=t))
    first = request_job(gl)
    assert first.status == 201
    assert first.headers["Content-Type"].startswith("application/json")
    assert first.json()["id"] == job_id
    assert first.json()["token"] == gl.job_token(job_id)
    assert gl.job(job_id).assigned_to == gl.runner_token
    assert gl.job(job_id).system_id == SYSTEM_ID

    empty = request_job(gl)
    assert empty.status == 204
    last_update = empty.headers["X-GitLab-Last-Update"]
    assert last_update
    cached = request_job(gl, last_update=last_update)
    assert (cached.status, cached.headers["X-GitLab-Last-Update"]) == (204, last_update)

    second = gl.add_job(job_payload(name="second"))
    assert request_job(gl, last_update=last_update).json()["id"] == second
    assert len(gl.polls) == 4
    assert gl.violations == []


def test_jobs_are_handed_out_fifo(gl: FakeGitLab) -> None:
    ids = [gl.add_job(job_payload(name=f"j{n}")) for n in range(3)]
    assert [request_job(gl).json()["id"] for _ in ids] == ids


def test_bad_runner_token_is_403(gl: FakeGitLab) -> None:
    gl.add_job(job_payload())
    assert request_job(gl, token="glrt-wrong").status == 403
    assert gl.job_state(gl.add_job(job_payload())) == "pending"
    assert gl.violations == []


def test_malformed_job_requests_are_violations(gl: FakeGitLab) -> None:
    """Form-encoded body, missing system_id, missing info.features: each is recorded."""
    raw = call(gl, "POST", "jobs/request", data=b"token=x",
               headers={"Content-Type": "application/x-www-form-urlencoded"})
    assert raw.status == 400
    assert call(gl, "POST", "jobs/request", body={"token": gl.runner_token}).status == 204
    found = "\n".join(gl.violations)
    assert "not application/json" in found
    assert "system_id None" in found
    assert "info.features" in found


def test_trace_gap_answers_416_with_stored_size(gl: FakeGitLab) -> None:
    job_id = running_job(gl)
    ok = patch(gl, job_id, b"hello", 0)
    assert ok.status == 202
    assert (ok.headers["Range"], ok.headers["Job-Status"]) == ("0-5", "running")
    gap = patch(gl, job_id, b"world", 10)
    assert (gap.status, gap.headers["Range"]) == (416, "0-5")
    overlap = patch(gl, job_id, b"lo", 3)
    assert (overlap.status, overlap.headers["Range"]) == (416, "0-5")
    assert patch(gl, job_id, b" world", 5).headers["Range"] == "0-11"

    assert gl.trace(job_id) == b"hello world"
    assert [(p.start, p.end, p.status) for p in gl.patches(job_id)] == [
        (0, 4, 202), (10, 14, 416), (3, 4, 416), (5, 10, 202)]
    assert [size for _, size in gl.trace_progress(job_id)] == [5, 11]
    assert gl.byte_arrival(job_id, 7) == gl.trace_progress(job_id)[1][0]
    assert gl.byte_arrival(job_id, 11) is None
    assert gl.violations == []


def test_trace_interval_header_when_configured(gl: FakeGitLab) -> None:
    job_id = running_job(gl)
    assert "X-GitLab-Trace-Update-Interval" not in patch(gl, job_id, b"a", 0).headers
    gl.trace_interval_s = 3
    assert patch(gl, job_id, b"b", 1).headers["X-GitLab-Trace-Update-Interval"] == "3"
    assert update(gl, job_id, "running").headers["X-GitLab-Trace-Update-Interval"] == "3"


def test_bad_content_range_is_a_violation(gl: FakeGitLab) -> None:
    job_id = running_job(gl)
    assert patch(gl, job_id, b"abc", 0, end=3).status == 202  # Rails ignores END
    missing = call(gl, "PATCH", f"jobs/{job_id}/trace", data=b"x",
                   headers={"JOB-TOKEN": gl.job_token(job_id)})
    assert missing.status == 400
    assert len(gl.violations) == 2
    assert "END must be START+len-1 = 2" in gl.violations[0]
    assert "no Content-Range" in gl.violations[1]


def test_patch_before_put_running_is_a_violation(gl: FakeGitLab) -> None:
    """Two-phase commit: the job is only 'pending' until PUT state=running."""
    job_id = gl.add_job(job_payload())
    assert request_job(gl).status == 201
    early = patch(gl, job_id, b"too early", 0)
    assert (early.status, early.headers["Job-Status"]) == (403, "pending")
    assert "before the job was accepted" in gl.violations[0]

    assert update(gl, job_id, "pending").status == 200  # keep-alive while preparing
    assert update(gl, job_id, "running").status == 200
    assert gl.job_state(job_id) == "running"
    assert patch(gl, job_id, b"now", 0).status == 202
    assert len(gl.violations) == 1


def test_wrong_job_token_is_403(gl: FakeGitLab) -> None:
    job_id = running_job(gl)
    assert update(gl, job_id, "running", token="glcbt-64_nope").status == 403
    no_header = call(gl, "PUT", f"jobs/{job_id}",
                     body={"token": gl.job_token(job_id), "state": "running"})
    assert no_header.status == 403
    assert "JOB-TOKEN header" in gl.violations[0]
    assert update(gl, 999_999, "running", token="x").status == 403  # unknown job: 403 too


def test_final_update_checksum_mismatch_is_recorded(gl: FakeGitLab) -> None:
    job_id = running_job(gl)
    patch(gl, job_id, b"line\n", 0)
    bad = update(gl, job_id, "success", output={"checksum": "crc32:00000000", "bytesize": 4})
    assert bad.status == 200
    assert gl.job_state(job_id) == "success"
    assert len(gl.violations) == 2
    assert "checksum crc32:00000000" in gl.violations[0]
    assert "bytesize 4" in gl.violations[1]


def test_final_update_with_correct_checksum_is_accepted(gl: FakeGitLab) -> None:
    job_id = running_job(gl)
    trace = b"$ false\nERROR: Job failed: exit code 3\n"
    patch(gl, job_id, trace, 0)
    done = update(gl, job_id, "failed", output=output(trace), failure_reason="script_failure",
                  exit_code=3)
    assert (done.status, done.headers["Job-Status"]) == (200, "failed")
    assert gl.wait(job_id, timeout=1) == "failed"
    snapshot = gl.job(job_id)
    assert (snapshot.failure_reason, snapshot.exit_code) == ("script_failure", 3)
    assert gl.final_update(job_id) == {"token": gl.job_token(job_id), "state": "failed",
                                       "output": output(trace),
                                       "failure_reason": "script_failure", "exit_code": 3}
    after = patch(gl, job_id, b"late", len(trace))
    assert (after.status, after.headers["Job-Status"]) == (403, "failed")
    assert gl.violations == [f"PATCH /jobs/{job_id}/trace: trace sent after the final update"]


def test_unmapped_failure_reason_is_a_violation(gl: FakeGitLab) -> None:
    job_id = running_job(gl)
    update(gl, job_id, "failed", output=output(b""), failure_reason="image_pull_failure")
    assert "image_pull_failure" in gl.violations[0]


def test_final_update_answers_202_then_200(gl: FakeGitLab) -> None:
    gl.final_202_count = 2
    job_id = running_job(gl)
    for _ in range(2):
        pending = update(gl, job_id, "success", output=output(b""))
        assert pending.status == 202
        assert pending.headers["X-GitLab-Trace-Update-Interval"] == "1"
        assert gl.job_state(job_id) == "running"
    assert update(gl, job_id, "success", output=output(b"")).status == 200
    assert gl.job_state(job_id) == "success"
    assert gl.violations == []


def test_injected_502_then_success(gl: FakeGitLab) -> None:
    gl.inject(r"/jobs/request$", 502, times=2)
    gl.inject(r"/runners/verify$", 429, headers={"Retry-After": "7"})
    assert request_job(gl).status == 502
    assert request_job(gl).status == 502
    assert request_job(gl).status == 204
    limited = call(gl, "POST", "runners/verify", body={"token": gl.runner_token})
    assert (limited.status, limited.headers["Retry-After"]) == (429, "7")
    assert [r.status for r in gl.requests] == [502, 502, 204, 429]
    assert len(gl.polls) == 3
    assert gl.violations == []


def test_cancel_graceful_shows_canceling_then_ends_canceled(gl: FakeGitLab) -> None:
    job_id = running_job(gl)
    assert gl.cancel(job_id) == "canceling"
    seen = patch(gl, job_id, b"bye\n", 0)
    assert (seen.status, seen.headers["Job-Status"]) == (202, "canceling")
    assert update(gl, job_id, "running").headers["Job-Status"] == "canceling"
    update(gl, job_id, "failed", output=output(b"bye\n"), failure_reason="script_failure")
    assert gl.job_state(job_id) == "canceled"  # Rails: canceling + final update → canceled
    assert gl.violations == []


def test_cancel_without_graceful_support_is_hard(gl: FakeGitLab) -> None:
    """No cancel_gracefully advertised → Rails cancels at once; the runner sees a 403."""
    job_id = gl.add_job(job_payload())
    request_job(gl, features={k: v for k, v in FEATURES.items() if k != "cancel_gracefully"})
    update(gl, job_id, "running")
    assert gl.cancel(job_id, graceful=True) == "canceled"
    gone = patch(gl, job_id, b"x", 0)
    assert (gone.status, gone.headers["Job-Status"]) == (403, "canceled")
    assert update(gl, job_id, "running").headers["Job-Status"] == "canceled"
    assert gl.violations == []  # racing a cancel is not the runner's fault


def test_cancel_of_a_queued_job_removes_it(gl: FakeGitLab) -> None:
    job_id = gl.add_job(job_payload())
    assert gl.cancel(job_id) == "canceled"
    assert request_job(gl).status == 204


async def _upload(gl: FakeGitLab, job_id: int, token: str, data: bytes, *,
                  part: str = "file", **query: str) -> int:
    form = aiohttp.FormData()
    form.add_field(part, data, filename="artifacts.zip", content_type="application/zip")
    async with aiohttp.ClientSession() as session, session.post(
            f"{gl.api_url}jobs/{job_id}/artifacts", data=form, params=query,
            headers={"JOB-TOKEN": token}) as response:
        await response.read()
        return response.status


def test_artifacts_upload_and_download_with_dependency_token(gl: FakeGitLab) -> None:
    producer = running_job(gl)
    token = gl.job_token(producer)
    status = asyncio.run(_upload(gl, producer, token, b"PK\x03\x04zip", artifact_format="zip",
                                 artifact_type="archive", expire_in="1 week"))
    assert status == 201
    [stored] = gl.artifacts(producer)
    assert (stored.filename, stored.artifact_type, stored.artifact_format, stored.expire_in,
            stored.data) == ("artifacts.zip", "archive", "zip", "1 week", b"PK\x03\x04zip")
    update(gl, producer, "success", output=output(b""))

    dep = gl.dependency(producer)
    assert dep["artifacts_file"] == {"filename": "artifacts.zip", "size": 7}
    consumer = running_job(gl, dependencies=[dep])
    assert gl.job_payload(consumer)["dependencies"][0]["token"] == token
    got = call(gl, "GET", f"jobs/{producer}/artifacts", headers={"JOB-TOKEN": dep["token"]})
    assert (got.status, got.headers["Content-Type"], got.body) == (
        200, "application/zip", b"PK\x03\x04zip")
    wrong = call(gl, "GET", f"jobs/{producer}/artifacts",
                 headers={"JOB-TOKEN": gl.job_token(consumer)})
    assert wrong.status == 403
    none = call(gl, "GET", f"jobs/{consumer}/artifacts",
                headers={"JOB-TOKEN": gl.job_token(consumer)})
    assert none.status == 404
    assert gl.violations == []


def test_artifact_upload_mistakes_are_violations(gl: FakeGitLab) -> None:
    job_id = running_job(gl)
    token = gl.job_token(job_id)
    assert asyncio.run(_upload(gl, job_id, token, b"x", part="artifact")) == 400
    assert asyncio.run(_upload(gl, job_id, token, b"x", artifact_type="junit",
                               artifact_format="zip")) == 400
    assert asyncio.run(_upload(gl, job_id, "glcbt-64_wrong", b"x")) == 403
    assert asyncio.run(_upload(gl, job_id, token, b"x")) == 201
    assert asyncio.run(_upload(gl, job_id, token, b"x")) == 400  # one archive per job
    found = "\n".join(gl.violations)
    assert "named 'artifact'" in found
    assert "'gzip' for that type" in found
    assert "second archive" in found


def test_seeded_dependency_can_be_downloaded(gl: FakeGitLab) -> None:
    dep_id = gl.seed_job(job_payload(name="build"), archive=b"zipdata")
    dep = gl.dependency(dep_id)
    assert dep["name"] == "build"
    got = call(gl, "GET", f"jobs/{dep_id}/artifacts", headers={"JOB-TOKEN": dep["token"]})
    assert got.body == b"zipdata"


def test_legacy_register_verify_and_unregister(gl: FakeGitLab) -> None:
    info = {"name": "runner", "features": FEATURES}
    register = {"token": gl.registration_token, "description": "ci box", "tag_list": "a,b",
                "run_untagged": True, "locked": False, "access_level": "not_protected",
                "maximum_timeout": 3600, "paused": False, "info": info}
    assert call(gl, "POST", "runners", body={**register, "token": "GR1348941nope"}).status == 403
    created = call(gl, "POST", "runners", body=register)
    assert created.status == 201
    new = created.json()
    assert new["token"].startswith("glrt-")
    assert new["token_expires_at"] is None
    assert gl.registered[0]["tag_list"] == "a,b"

    verified = call(gl, "POST", "runners/verify",
                    body={"token": new["token"], "system_id": SYSTEM_ID, "info": info})
    assert verified.status == 200
    assert verified.json() == {"id": new["id"], "token": new["token"], "token_expires_at": None}
    assert request_job(gl, token=new["token"]).status == 204

    manager = {"token": new["token"], "system_id": SYSTEM_ID}
    assert call(gl, "DELETE", "runners/managers", body=manager).status == 204
    assert call(gl, "DELETE", "runners/managers", body=manager).status == 404
    assert call(gl, "DELETE", "runners", body={"token": new["token"]}).status == 204
    assert call(gl, "DELETE", "runners", body={"token": new["token"]}).status == 403
    assert request_job(gl, token=new["token"]).status == 403
    assert [u["endpoint"] for u in gl.unregistered] == ["managers", "runners"]
    assert gl.violations == []


def test_register_validation_errors_are_violations(gl: FakeGitLab) -> None:
    bad = call(gl, "POST", "runners", body={"token": gl.registration_token,
                                            "access_level": "everyone", "maximum_timeout": 60})
    assert bad.status == 400
    assert "access_level" in gl.violations[0]
    assert "maximum_timeout 60" in gl.violations[0]


def test_long_poll_answers_as_soon_as_a_job_is_queued(gl: FakeGitLab) -> None:
    gl.long_poll_s = 10
    timer = threading.Timer(0.3, lambda: gl.add_job(job_payload()))
    started = time.monotonic()
    timer.start()
    try:
        reply = request_job(gl)
    finally:
        timer.join()
    assert reply.status == 201
    assert reply.headers["Gitlab-Ci-Builds-Polling"] == "yes"
    assert 0.2 < time.monotonic() - started < 5


def test_long_poll_times_out_with_204(gl: FakeGitLab) -> None:
    gl.long_poll_s = 0.3
    started = time.monotonic()
    assert request_job(gl).status == 204
    assert time.monotonic() - started >= 0.25


def test_pause_refuses_connections_until_resume(gl: FakeGitLab) -> None:
    assert request_job(gl).status == 204
    gl.pause()
    with pytest.raises(urllib.error.URLError) as refused:
        request_job(gl)
    assert isinstance(refused.value.reason, ConnectionRefusedError)
    gl.resume()
    assert request_job(gl).status == 204


async def _two_requests_around_pause(gl: FakeGitLab) -> tuple[int, str]:
    """One request on a keep-alive connection, pause, then a second on the same session."""
    body = {"token": gl.runner_token, "system_id": SYSTEM_ID, "info": {"features": FEATURES}}
    async with aiohttp.ClientSession() as session:
        async with session.post(gl.api_url + "jobs/request", json=body) as first:
            status = first.status
        await asyncio.to_thread(gl.pause)
        try:
            async with session.post(gl.api_url + "jobs/request", json=body) as second:
                return status, f"answered {second.status}"
        except aiohttp.ClientError as exc:
            return status, type(exc).__name__


def test_pause_also_drops_idle_keepalive_connections(gl: FakeGitLab) -> None:
    """A pooled connection must not keep talking to a 'down' GitLab."""
    status, second = asyncio.run(_two_requests_around_pause(gl))
    assert status == 204
    assert not second.startswith("answered"), second


def test_stop_releases_a_held_long_poll() -> None:
    replies: list[Reply] = []
    with FakeGitLab() as fake:
        fake.long_poll_s = 60
        poller = threading.Thread(target=lambda: replies.append(request_job(fake)))
        poller.start()
        fake.wait_for(lambda: len(fake.polls) == 1, timeout=5)
        time.sleep(0.1)  # let the handler reach its wait
        started = time.monotonic()
    poller.join(10)
    assert time.monotonic() - started < 2
    assert [reply.status for reply in replies] == [204]


def test_job_needing_an_unadvertised_feature_is_dropped(gl: FakeGitLab) -> None:
    """Rails' pre-assign check: artifacts:exclude needs the artifacts_exclude feature."""
    job_id = gl.add_job(job_payload(artifacts=[{"paths": ["out"], "exclude": ["out/*.tmp"]}]))
    assert request_job(gl).status == 204
    assert gl.job(job_id).failure_reason == "runner_unsupported"
    assert "artifacts_exclude" in gl.violations[0]


def test_unmasked_job_token_in_trace_is_a_violation(gl: FakeGitLab) -> None:
    job_id = running_job(gl)
    token = gl.job_token(job_id).encode()
    patch(gl, job_id, b"cloning with " + token[:5], 0)
    patch(gl, job_id, token[5:] + b"\n", 18)  # split across two patches
    assert gl.violations == [f"PATCH /jobs/{job_id}/trace: the job token appears unmasked "
                             "in the trace"]


def test_unknown_endpoint_is_a_violation(gl: FakeGitLab) -> None:
    assert call(gl, "GET", "jobs/request").status == 404
    assert gl.violations == ["unknown endpoint GET /api/v4/jobs/request"]


def test_wait_times_out_with_a_dump(gl: FakeGitLab) -> None:
    job_id = gl.add_job(job_payload())
    with pytest.raises(AssertionError, match=r"state=pending"):
        gl.wait(job_id, timeout=0.2)


def test_payload_embeds_the_job_token() -> None:
    """CI_JOB_TOKEN is masked, the clone URL carries it, steps are as Rails builds them."""
    payload = job_payload(job_id=9, token="glcbt-64_abc", server_url="http://127.0.0.1:8/",
                          after_script=["cleanup"], variables={"A": "1"},
                          masked=[("SECRET", "hunter2hunter2")], file_vars={"CFG": "x=1"},
                          artifacts=[{"paths": ["dist"]}])
    variables = {v["key"]: v for v in payload["variables"]}
    assert variables["CI_JOB_TOKEN"] == {"key": "CI_JOB_TOKEN", "value": "glcbt-64_abc",
                                         "public": False, "masked": True}
    assert variables["SECRET"]["masked"] is True
    assert variables["CFG"]["file"] is True
    assert "file" not in variables["A"]
    assert payload["git_info"]["repo_url"] == (
        "http://gitlab-ci-token:glcbt-64_abc@127.0.0.1:8/group/project.git")
    assert variables["CI_REPOSITORY_URL"]["value"] == payload["git_info"]["repo_url"]
    assert [s["name"] for s in payload["steps"]] == ["script", "after_script"]
    assert payload["steps"][1]["when"] == "always"
    assert payload["steps"][1]["allow_failure"] is True
    assert payload["artifacts"] == [{
        "name": None, "untracked": False, "paths": ["dist"], "when": "on_success",
        "expire_in": None, "artifact_type": "archive", "artifact_format": "zip"}]
    assert payload["features"]["failure_reasons"] == list(DEFAULT_FAILURE_REASONS)
    assert payload["git_info"]["refspecs"] == ["+refs/heads/*:refs/remotes/origin/*",
                                               "+refs/tags/*:refs/tags/*"]


def test_builder_gets_the_job_id_and_token(gl: FakeGitLab) -> None:
    job_id = gl.add_job(lambda i, t: job_payload(job_id=i, token=t))
    payload = request_job(gl).json()
    ci_token = next(v["value"] for v in payload["variables"] if v["key"] == "CI_JOB_TOKEN")
    assert (payload["id"], ci_token) == (job_id, gl.job_token(job_id))
    with pytest.raises(ValueError, match="builder"):
        gl.add_job(lambda i, t: job_payload(job_id=i))


def test_token_reset_hands_out_a_new_token_and_retires_the_old(gl: FakeGitLab) -> None:
    old = gl.runner_token
    gl.token_lifetime_s = 3600
    assert call(gl, "POST", "runners/reset_authentication_token", body={}).status == 400
    assert gl.violations == ["POST /runners/reset_authentication_token: no token in the body "
                             "(Rails requires it)"]
    reset = call(gl, "POST", "runners/reset_authentication_token", body={"token": old})
    assert reset.status == 201
    new = reset.json()["token"]
    assert new != old and new.startswith("glrt-") and gl.runner_token == new
    expires = reset.json()["token_expires_at"]
    assert expires.endswith("Z") and len(expires) == len("2027-01-05T10:00:00.000Z")
    assert request_job(gl, token=new).status == 204
    assert gl.token_resets[0]["old"] == old and gl.token_resets[0]["new"] == new
    # the old token is dead at once, and using it is the runner's mistake
    assert request_job(gl, token=old).status == 403
    assert call(gl, "POST", "runners/reset_authentication_token",
                body={"token": old}).status == 403
    assert gl.violations[1:] == [
        "POST /jobs/request: sent a runner token that was reset (the old token is invalid "
        "as soon as the reset answers)",
        "POST /runners/reset_authentication_token: sent a runner token that was reset (the "
        "old token is invalid as soon as the reset answers)"]


def test_expired_runner_token_is_403_without_violation(gl: FakeGitLab) -> None:
    expires = gl.expire_token_in(gl.runner_token, -1)
    assert expires is not None
    assert request_job(gl).status == 403
    assert call(gl, "POST", "runners/reset_authentication_token",
                body={"token": gl.runner_token}).status == 403
    gl.expire_token_in(gl.runner_token, 60)
    verified = call(gl, "POST", "runners/verify", body={
        "token": gl.runner_token, "system_id": SYSTEM_ID, "info": {"features": FEATURES}})
    assert verified.status == 200 and verified.json()["token_expires_at"].endswith("Z")
    assert gl.violations == []
