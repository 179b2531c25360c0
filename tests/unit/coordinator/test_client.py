"""GitLabClient against a real aiohttp server on 127.0.0.1: what goes out, what comes back.

Each test runs one ``asyncio.run``: the server (``AppRunner`` + ``TCPSite`` on
port 0) and the client share that loop, and both are closed before it ends.
Waits between attempts are recorded instead of slept (``fast_sleep``).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import re
import socket
import types
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from aiohttp import BodyPartReader, web
from multidict import CIMultiDict

from runner.coordinator.base import RemoteState, TraceAck, Upload
from runner.coordinator.gitlab import client as client_module
from runner.coordinator.gitlab import retry
from runner.coordinator.gitlab.client import GitLabClient, api_base, remote_state, update_interval
from runner.errors import CoordinatorError

RUNNER_TOKEN = "glrt-t1_runnerToken0001"
JOB_TOKEN = "glcbt-64_jobToken0001"
SYSTEM_ID = "r_abcdefABCDEF"
REQUEST_ID = re.compile(r"^[0-9a-f]{32}$")

Answer = tuple[int, Any, dict[str, str]]
"""(status, body: bytes | str | JSON-able | None, headers) — one scripted answer."""


@dataclass
class Seen:
    """One request as the server received it."""

    method: str
    path: str
    query: dict[str, str]
    headers: CIMultiDict[str]
    """Case-insensitive, as HTTP headers are (aiohttp sends ``X-Request-ID``)."""
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)


class Script:
    """Answers requests in order (the last answer repeats) and records each request."""

    def __init__(self, *answers: Answer) -> None:
        self.answers = list(answers)
        self.seen: list[Seen] = []

    async def __call__(self, request: web.Request) -> web.StreamResponse:
        body = await request.read()
        self.seen.append(Seen(request.method, request.path, dict(request.query),
                              CIMultiDict(request.headers), body))
        status, payload, headers = self.answers.pop(0) if len(self.answers) > 1 \
            else self.answers[0]
        return respond(status, payload, headers)


def respond(status: int, payload: Any = None, headers: dict[str, str] | None = None
            ) -> web.Response:
    if payload is None:
        return web.Response(status=status, headers=headers)
    if isinstance(payload, bytes | str):
        data = payload.encode() if isinstance(payload, str) else payload
        return web.Response(status=status, body=data, headers=headers)
    return web.Response(status=status, text=json.dumps(payload),
                        content_type="application/json", headers=headers)


def application(handler: Callable[[web.Request], Awaitable[web.StreamResponse]]
                ) -> web.Application:
    """Every path and method goes to ``handler`` (wrapped: aiohttp wants a coroutine function)."""

    async def handle(request: web.Request) -> web.StreamResponse:
        return await handler(request)

    app = web.Application()
    app.router.add_route("*", "/{tail:.*}", handle)
    return app


@contextlib.asynccontextmanager
async def serving(handler: Callable[[web.Request], Awaitable[web.StreamResponse]]
                  ) -> AsyncIterator[str]:
    runner = web.AppRunner(application(handler), access_log=None)
    await runner.setup()
    try:
        site = web.TCPSite(runner, "127.0.0.1", 0)
        await site.start()
        yield f"http://127.0.0.1:{runner.addresses[0][1]}/"
    finally:
        await runner.cleanup()


Test = Callable[[GitLabClient], Awaitable[None]]


def run(handler: Callable[[web.Request], Awaitable[web.StreamResponse]], test: Test,
        **client_args: Any) -> None:
    async def main() -> None:
        async with serving(handler) as url, GitLabClient(url, **client_args) as client:
            await test(client)

    asyncio.run(main())


@pytest.fixture
def waits(monkeypatch: pytest.MonkeyPatch) -> list[float]:
    """Every wait the client asks for between attempts, recorded and not slept."""
    asked: list[float] = []
    real_sleep = asyncio.sleep

    async def sleep(seconds: float) -> None:
        asked.append(seconds)
        await real_sleep(0)

    monkeypatch.setattr(client_module, "asyncio", types.SimpleNamespace(sleep=sleep))
    monkeypatch.setattr(retry, "backoff_s", lambda attempt, rng=None: 0.01 * attempt)
    return asked


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return port


# --- URL ------------------------------------------------------------------------------


@pytest.mark.parametrize(("given", "base"), [
    ("https://gitlab.example.com", "https://gitlab.example.com/api/v4/"),
    ("https://gitlab.example.com/", "https://gitlab.example.com/api/v4/"),
    ("https://gitlab.example.com///", "https://gitlab.example.com/api/v4/"),
    ("https://gitlab.example.com/ci", "https://gitlab.example.com/api/v4/"),
    ("https://gitlab.example.com/ci/", "https://gitlab.example.com/api/v4/"),
    ("https://example.com/gitlab/ci", "https://example.com/gitlab/api/v4/"),
    ("https://example.com/gitlab/", "https://example.com/gitlab/api/v4/"),
    ("http://127.0.0.1:8080", "http://127.0.0.1:8080/api/v4/"),
    ("  https://gitlab.example.com  ", "https://gitlab.example.com/api/v4/"),
    ("https://example.com/cicd", "https://example.com/cicd/api/v4/"),
])
def test_api_base(given: str, base: str) -> None:
    assert api_base(given) == base
    assert GitLabClient(given).base == base


@pytest.mark.parametrize("bad", ["ftp://gitlab.example.com", "gitlab.example.com",
                                 "unix:///run/gitlab.sock", ""])
def test_api_base_refuses_other_schemes(bad: str) -> None:
    with pytest.raises(CoordinatorError, match="must start with http:// or https://"):
        api_base(bad)


# --- pure readings of answers -----------------------------------------------------------


@pytest.mark.parametrize(("status", "job_status", "state"), [
    (200, "", RemoteState.RUNNING),
    (202, "running", RemoteState.RUNNING),
    (202, "canceling", RemoteState.CANCELING),
    (202, "canceled", RemoteState.ABORT),
    (200, "failed", RemoteState.ABORT),
    (403, "", RemoteState.ABORT),
    (403, "canceling", RemoteState.ABORT),
    (404, "", RemoteState.GONE),
])
def test_remote_state(status: int, job_status: str, state: RemoteState) -> None:
    headers = {"Job-Status": job_status} if job_status else {}
    assert remote_state(status, headers) is state


@pytest.mark.parametrize(("raw", "interval"), [
    (None, None), ("", None), ("3", 3.0), ("2.5", 2.5), ("0", None), ("-4", None),
    ("soon", None), ("100000", 900.0),
])
def test_update_interval(raw: str | None, interval: float | None) -> None:
    headers = {} if raw is None else {"X-GitLab-Trace-Update-Interval": raw}
    assert update_interval(headers) == interval


# --- headers ----------------------------------------------------------------------------


def test_runner_call_headers_and_body() -> None:
    script = Script((200, {"id": 12, "token": RUNNER_TOKEN, "token_expires_at": None}, {}))

    async def test(client: GitLabClient) -> None:
        assert await client.verify(RUNNER_TOKEN, SYSTEM_ID) == {
            "id": 12, "token": RUNNER_TOKEN, "token_expires_at": None}
        await client.verify(RUNNER_TOKEN, SYSTEM_ID)

    run(script, test)
    first, second = script.seen
    assert (first.method, first.path, first.query) == ("POST", "/api/v4/runners/verify", {})
    assert first.headers["RUNNER-TOKEN"] == RUNNER_TOKEN
    assert "JOB-TOKEN" not in first.headers
    assert first.headers["Content-Type"] == "application/json"
    assert first.headers["Accept"] == "application/json"
    assert first.headers["User-Agent"].startswith("runner ")
    assert "gitlab-runner protocol" in first.headers["User-Agent"]
    assert REQUEST_ID.match(first.headers["X-Request-Id"])
    assert first.headers["X-Request-Id"] != second.headers["X-Request-Id"]
    body = first.json()
    assert body["token"] == RUNNER_TOKEN
    assert body["system_id"] == SYSTEM_ID
    assert body["info"]["features"]["cancel_gracefully"] is True
    assert body["info"]["features"]["two_phase_job_commit"] is True


def test_job_call_headers_carry_the_job_token_only() -> None:
    script = Script((200, "200", {}))

    async def test(client: GitLabClient) -> None:
        await client.channel(55, JOB_TOKEN).update("running")

    run(script, test)
    (seen,) = script.seen
    assert (seen.method, seen.path) == ("PUT", "/api/v4/jobs/55")
    assert seen.headers["JOB-TOKEN"] == JOB_TOKEN
    assert "RUNNER-TOKEN" not in seen.headers
    assert seen.headers["Content-Type"] == "application/json"
    assert REQUEST_ID.match(seen.headers["X-Request-Id"])
    assert seen.json()["token"] == JOB_TOKEN


def test_tokens_never_travel_in_urls() -> None:
    script = Script((202, None, {"Range": "0-3"}), (204, None, {}))

    async def test(client: GitLabClient) -> None:
        channel = client.channel(9, JOB_TOKEN)
        await channel.append_trace(0, b"abc")
        await client.request_job(RUNNER_TOKEN, SYSTEM_ID, None)

    run(script, test)
    for seen in script.seen:
        url = seen.path + json.dumps(seen.query)
        assert JOB_TOKEN not in url
        assert RUNNER_TOKEN not in url


# --- verify / register / unregister --------------------------------------------------------


def test_verify_with_an_empty_body_from_old_gitlab() -> None:
    async def test(client: GitLabClient) -> None:
        assert await client.verify(RUNNER_TOKEN, SYSTEM_ID) == {}

    run(Script((200, "", {})), test)


def test_verify_refused() -> None:
    async def test(client: GitLabClient) -> None:
        with pytest.raises(CoordinatorError) as caught:
            await client.verify(RUNNER_TOKEN, SYSTEM_ID)
        assert caught.value.status == 403
        assert "HTTP 403" in str(caught.value)
        assert "not valid" in str(caught.value)
        assert "403 Forbidden" in str(caught.value)  # GitLab's own words come along

    run(Script((403, {"message": "403 Forbidden"}, {})), test)


def test_register_legacy() -> None:
    script = Script((201, {"id": 31, "token": "glrtr-newToken", "token_expires_at": None}, {}))

    async def test(client: GitLabClient) -> None:
        details = await client.register("GR1348941reg", {"description": "d", "tag_list": "a,b"})
        assert details["token"] == "glrtr-newToken"

    run(script, test)
    (seen,) = script.seen
    assert (seen.method, seen.path) == ("POST", "/api/v4/runners")
    assert "RUNNER-TOKEN" not in seen.headers
    body = seen.json()
    assert body["token"] == "GR1348941reg"
    assert body["tag_list"] == "a,b"
    assert "features" in body["info"]


def test_register_gone() -> None:
    async def test(client: GitLabClient) -> None:
        with pytest.raises(CoordinatorError, match="no longer accepts registration tokens"):
            await client.register("GR1348941reg", {})

    run(Script((410, {"message": "410 Gone"}, {})), test)


def test_unregister_a_created_runner_removes_only_this_manager() -> None:
    script = Script((204, None, {}))

    async def test(client: GitLabClient) -> None:
        await client.unregister(RUNNER_TOKEN, SYSTEM_ID)

    run(script, test)
    (seen,) = script.seen
    assert (seen.method, seen.path) == ("DELETE", "/api/v4/runners/managers")
    assert seen.json() == {"token": RUNNER_TOKEN, "system_id": SYSTEM_ID}


def test_unregister_a_legacy_runner_removes_the_runner() -> None:
    script = Script((204, None, {}))

    async def test(client: GitLabClient) -> None:
        await client.unregister("legacyRunnerToken123", SYSTEM_ID)

    run(script, test)
    (seen,) = script.seen
    assert (seen.method, seen.path) == ("DELETE", "/api/v4/runners")
    assert seen.json() == {"token": "legacyRunnerToken123"}


def test_unregister_refused() -> None:
    async def test(client: GitLabClient) -> None:
        with pytest.raises(CoordinatorError, match="does not know this runner manager"):
            await client.unregister(RUNNER_TOKEN, SYSTEM_ID)

    run(Script((404, {"message": "404 Not Found"}, {})), test)


# --- jobs/request ----------------------------------------------------------------------


def test_request_job_201_is_a_payload() -> None:
    payload = {"id": 77, "token": JOB_TOKEN, "job_info": {"name": "build"}}
    script = Script((201, payload, {"X-GitLab-Last-Update": "abc123"}))

    async def test(client: GitLabClient) -> None:
        assert await client.request_job(RUNNER_TOKEN, SYSTEM_ID, None) == (payload, "abc123")

    run(script, test)
    (seen,) = script.seen
    assert (seen.method, seen.path) == ("POST", "/api/v4/jobs/request")
    assert seen.headers["RUNNER-TOKEN"] == RUNNER_TOKEN
    body = seen.json()
    assert body["token"] == RUNNER_TOKEN
    assert body["system_id"] == SYSTEM_ID
    assert "last_update" not in body


def test_request_job_204_and_the_queue_marker() -> None:
    script = Script((204, None, {"X-GitLab-Last-Update": "m2"}))

    async def test(client: GitLabClient) -> None:
        assert await client.request_job(RUNNER_TOKEN, SYSTEM_ID, "m1") == (None, "m2")

    run(script, test)
    assert script.seen[0].json()["last_update"] == "m1"


def test_request_job_204_without_marker() -> None:
    async def test(client: GitLabClient) -> None:
        assert await client.request_job(RUNNER_TOKEN, SYSTEM_ID, None) == (None, None)

    run(Script((204, None, {})), test)


def test_request_job_409_is_no_job() -> None:
    async def test(client: GitLabClient) -> None:
        assert await client.request_job(RUNNER_TOKEN, SYSTEM_ID, None) == (None, "m")

    run(Script((409, {"message": "409 Conflict"}, {"X-GitLab-Last-Update": "m"})), test)


def test_request_job_403_is_a_refused_token() -> None:
    async def test(client: GitLabClient) -> None:
        with pytest.raises(CoordinatorError, match="runner token is not valid") as caught:
            await client.request_job(RUNNER_TOKEN, SYSTEM_ID, None)
        assert caught.value.status == 403

    run(Script((403, {"message": "403 Forbidden"}, {})), test)


def test_request_job_201_that_is_not_json() -> None:
    async def test(client: GitLabClient) -> None:
        with pytest.raises(CoordinatorError, match="not JSON"):
            await client.request_job(RUNNER_TOKEN, SYSTEM_ID, None)

    run(Script((201, "<html>proxy</html>", {})), test)


def test_request_job_201_with_json_that_is_not_an_object() -> None:
    async def test(client: GitLabClient) -> None:
        with pytest.raises(CoordinatorError, match="not an object"):
            await client.request_job(RUNNER_TOKEN, SYSTEM_ID, None)

    run(Script((201, [1, 2], {})), test)


def test_redirects_are_not_followed() -> None:
    script = Script((302, None, {"Location": "https://elsewhere.example/"}))

    async def test(client: GitLabClient) -> None:
        with pytest.raises(CoordinatorError, match="HTTP 302"):
            await client.request_job(RUNNER_TOKEN, SYSTEM_ID, None)

    run(script, test)
    assert len(script.seen) == 1


# --- retries ---------------------------------------------------------------------------


def test_retry_on_502_then_success(waits: list[float]) -> None:
    payload = {"id": 1, "token": JOB_TOKEN}
    script = Script((502, "bad gateway", {}), (502, "bad gateway", {}), (201, payload, {}))
    observed: list[tuple[str, int | None]] = []

    async def test(client: GitLabClient) -> None:
        assert await client.request_job(RUNNER_TOKEN, SYSTEM_ID, None) == (payload, None)

    run(script, test, observer=lambda ep, status, _s: observed.append((ep, status)))
    assert len(script.seen) == 3
    assert len({seen.headers["X-Request-Id"] for seen in script.seen}) == 3
    assert all(seen.json()["token"] == RUNNER_TOKEN for seen in script.seen)  # body resent
    assert waits == [0.01, 0.02]  # backoff for attempts 1 and 2
    assert observed == [("request_job", 502), ("request_job", 502), ("request_job", 201)]


def test_429_with_retry_after_zero(waits: list[float]) -> None:
    script = Script((429, {"message": "429 Too Many Requests"}, {"Retry-After": "0"}),
                    (204, None, {}))

    async def test(client: GitLabClient) -> None:
        assert await client.request_job(RUNNER_TOKEN, SYSTEM_ID, None) == (None, None)

    run(script, test)
    assert len(script.seen) == 2
    assert waits == [0.0]


def test_429_with_retry_after_zero_really_sleeping() -> None:
    """Without any patching: Retry-After: 0 means no wait at all."""
    script = Script((429, None, {"Retry-After": "0"}), (204, None, {}))

    async def test(client: GitLabClient) -> None:
        loop = asyncio.get_running_loop()
        began = loop.time()
        assert await client.request_job(RUNNER_TOKEN, SYSTEM_ID, None) == (None, None)
        assert loop.time() - began < 5.0

    run(script, test)
    assert len(script.seen) == 2


def test_retry_after_is_honoured(waits: list[float]) -> None:
    script = Script((503, None, {"Retry-After": "7"}), (200, "200", {}))

    async def test(client: GitLabClient) -> None:
        ack = await client.channel(3, JOB_TOKEN).update("running")
        assert ack.done

    run(script, test)
    assert waits == [7.0]


def test_gives_up_after_five_attempts(waits: list[float]) -> None:
    script = Script((503, {"message": "503 Service Unavailable"}, {}))
    observed: list[int | None] = []

    async def test(client: GitLabClient) -> None:
        with pytest.raises(CoordinatorError, match="HTTP 503") as caught:
            await client.request_job(RUNNER_TOKEN, SYSTEM_ID, None)
        assert caught.value.status == 503

    run(script, test, observer=lambda _ep, status, _s: observed.append(status))
    assert len(script.seen) == 5
    assert observed == [503] * 5
    assert len(waits) == 4  # none after the last attempt


def test_attempts_is_configurable(waits: list[float]) -> None:
    script = Script((500, None, {}))

    async def test(client: GitLabClient) -> None:
        with pytest.raises(CoordinatorError, match="HTTP 500"):
            await client.verify(RUNNER_TOKEN, SYSTEM_ID)

    run(script, test, attempts=2)
    assert len(script.seen) == 2
    assert len(waits) == 1


def test_client_errors_are_not_retried(waits: list[float]) -> None:
    script = Script((400, {"message": "400 Bad request"}, {}))

    async def test(client: GitLabClient) -> None:
        with pytest.raises(CoordinatorError, match="not valid for this job"):
            await client.channel(4, JOB_TOKEN).update("success")

    run(script, test)
    assert len(script.seen) == 1
    assert waits == []


def test_connection_refused(waits: list[float]) -> None:
    url = f"http://127.0.0.1:{free_port()}/"
    observed: list[tuple[str, int | None]] = []

    async def main() -> None:
        async with GitLabClient(url, attempts=3,
                                observer=lambda ep, st, _s: observed.append((ep, st))) as client:
            with pytest.raises(CoordinatorError) as caught:
                await client.request_job(RUNNER_TOKEN, SYSTEM_ID, None)
        message = str(caught.value)
        assert "could not be reached" in message
        assert "tried 3 times" in message
        assert url + "api/v4/" in message
        assert RUNNER_TOKEN not in message
        assert caught.value.status is None

    asyncio.run(main())
    assert observed == [("request_job", None)] * 3
    assert waits == [0.01, 0.02]


def test_connection_refused_then_reachable(waits: list[float]) -> None:
    """A refused connection counts as an attempt like a 503; the next one may succeed."""
    script = Script((204, None, {}))

    async def main() -> None:
        runner = web.AppRunner(application(script), access_log=None)
        await runner.setup()
        port = free_port()
        async with GitLabClient(f"http://127.0.0.1:{port}", attempts=3) as client:
            real_sleep = asyncio.sleep

            async def start_then_sleep(_seconds: float) -> None:
                waits.append(_seconds)
                if len(waits) == 1:
                    await web.TCPSite(runner, "127.0.0.1", port).start()
                await real_sleep(0)

            client_module.asyncio.sleep = start_then_sleep  # type: ignore[attr-defined]
            try:
                assert await client.request_job(RUNNER_TOKEN, SYSTEM_ID, None) == (None, None)
            finally:
                await runner.cleanup()

    asyncio.run(main())
    assert len(script.seen) == 1
    assert waits == [0.01]


# --- PATCH trace -------------------------------------------------------------------------


def test_append_trace_content_range_and_202() -> None:
    script = Script((202, None, {"Range": "0-15", "Job-Status": "running",
                                 "X-GitLab-Trace-Update-Interval": "3"}))

    async def test(client: GitLabClient) -> None:
        ack = await client.channel(8, JOB_TOKEN).append_trace(10, b"hello")
        assert ack == TraceAck(RemoteState.RUNNING, 15, 3.0)

    run(script, test)
    (seen,) = script.seen
    assert (seen.method, seen.path) == ("PATCH", "/api/v4/jobs/8/trace")
    assert seen.headers["Content-Range"] == "10-14"
    assert seen.headers["Content-Type"] == "text/plain"
    assert seen.headers["JOB-TOKEN"] == JOB_TOKEN
    assert seen.body == b"hello"


def test_append_trace_first_byte_range() -> None:
    script = Script((202, None, {"Range": "0-1"}))

    async def test(client: GitLabClient) -> None:
        assert (await client.channel(8, JOB_TOKEN).append_trace(0, b"x")).offset == 1

    run(script, test)
    assert script.seen[0].headers["Content-Range"] == "0-0"


def test_append_trace_202_without_range_assumes_all_stored() -> None:
    async def test(client: GitLabClient) -> None:
        ack = await client.channel(8, JOB_TOKEN).append_trace(4, b"abc")
        assert ack == TraceAck(RemoteState.RUNNING, 7, None)

    run(Script((202, None, {})), test)


def test_append_trace_416_says_where_gitlab_is() -> None:
    async def test(client: GitLabClient) -> None:
        ack = await client.channel(8, JOB_TOKEN).append_trace(20, b"later bytes")
        assert ack == TraceAck(RemoteState.RUNNING, 12, None)

    run(Script((416, {"message": "416 Range Not Satisfiable"}, {"Range": "0-12"})), test)


def test_append_trace_416_without_range_keeps_the_offset() -> None:
    async def test(client: GitLabClient) -> None:
        assert (await client.channel(8, JOB_TOKEN).append_trace(20, b"x")).offset == 20

    run(Script((416, None, {})), test)


@pytest.mark.parametrize(("status", "job_status", "state"), [
    (202, "canceling", RemoteState.CANCELING),
    (202, "canceled", RemoteState.ABORT),
    (403, "canceled", RemoteState.ABORT),
    (403, "", RemoteState.ABORT),
    (404, "", RemoteState.GONE),
])
def test_append_trace_job_status(status: int, job_status: str, state: RemoteState) -> None:
    headers = {"Job-Status": job_status} if job_status else {}
    if status == 202:
        headers["Range"] = "0-3"

    async def test(client: GitLabClient) -> None:
        ack = await client.channel(8, JOB_TOKEN).append_trace(0, b"abc")
        assert ack.state is state
        assert ack.offset == 3 if status == 202 else ack.offset == 0

    run(Script((status, None, headers)), test)


def test_append_trace_400_is_an_error() -> None:
    async def test(client: GitLabClient) -> None:
        with pytest.raises(CoordinatorError, match="Content-Range header was refused"):
            await client.channel(8, JOB_TOKEN).append_trace(0, b"abc")

    run(Script((400, {"message": "400 Missing header Content-Range"}, {})), test)


# --- PUT job -----------------------------------------------------------------------------


def test_update_200_and_its_body() -> None:
    script = Script((200, "200", {"Job-Status": "running"}))

    async def test(client: GitLabClient) -> None:
        channel = client.channel(21, JOB_TOKEN)
        ack = await channel.update("failed", failure_reason="script_failure", exit_code=3,
                                   checksum="crc32:0000abcd", bytesize=99)
        assert (ack.state, ack.done, ack.interval_s) == (RemoteState.RUNNING, True, None)

    run(script, test)
    body = script.seen[0].json()
    assert body["token"] == JOB_TOKEN
    assert body["state"] == "failed"
    assert body["failure_reason"] == "script_failure"
    assert body["exit_code"] == 3
    assert body["checksum"] == "crc32:0000abcd"
    assert body["output"] == {"checksum": "crc32:0000abcd", "bytesize": 99}
    assert "features" in body["info"]


def test_update_leaves_out_what_was_not_given() -> None:
    script = Script((200, "200", {}))

    async def test(client: GitLabClient) -> None:
        await client.channel(21, JOB_TOKEN).update("success", exit_code=0)

    run(script, test)
    body = script.seen[0].json()
    assert body["state"] == "success"
    for absent in ("failure_reason", "exit_code", "checksum", "output"):
        assert absent not in body


def test_update_200_canceling() -> None:
    async def test(client: GitLabClient) -> None:
        ack = await client.channel(21, JOB_TOKEN).update("running")
        assert (ack.state, ack.done) == (RemoteState.CANCELING, True)

    run(Script((200, "200", {"Job-Status": "canceling"})), test)


def test_update_202_is_not_done_yet() -> None:
    script = Script((202, "202", {"Job-Status": "running", "X-GitLab-Trace-Update-Interval": "1"}))

    async def test(client: GitLabClient) -> None:
        ack = await client.channel(21, JOB_TOKEN).update("success", checksum="crc32:00000000",
                                                         bytesize=0)
        assert (ack.state, ack.done, ack.interval_s) == (RemoteState.RUNNING, False, 1.0)

    run(script, test)


def test_update_412_asks_for_the_whole_trace_again() -> None:
    async def test(client: GitLabClient) -> None:
        ack = await client.channel(21, JOB_TOKEN).update("success", checksum="crc32:00000000",
                                                         bytesize=0)
        assert (ack.done, ack.reset) == (False, True)

    run(Script((412, "412", {})), test)


def test_update_403_is_abort() -> None:
    async def test(client: GitLabClient) -> None:
        ack = await client.channel(21, JOB_TOKEN).update("running")
        assert (ack.state, ack.done) == (RemoteState.ABORT, True)

    run(Script((403, {"message": "403 Forbidden"}, {"Job-Status": "canceled"})), test)


def test_update_404_is_gone() -> None:
    async def test(client: GitLabClient) -> None:
        ack = await client.channel(21, JOB_TOKEN).update("running")
        assert (ack.state, ack.done) == (RemoteState.GONE, True)

    run(Script((404, None, {})), test)


def test_update_409_is_an_error() -> None:
    async def test(client: GitLabClient) -> None:
        with pytest.raises(CoordinatorError, match="another runner took this job"):
            await client.channel(21, JOB_TOKEN).update("running")

    run(Script((409, None, {})), test)


# --- artifacts ---------------------------------------------------------------------------


class UploadSink:
    """Reads the multipart body as GitLab would; answers from a script."""

    def __init__(self, *statuses: int) -> None:
        self.statuses = list(statuses)
        self.parts: list[list[tuple[str | None, str | None, str | None, bytes]]] = []
        self.seen: list[Seen] = []

    async def __call__(self, request: web.Request) -> web.Response:
        self.seen.append(Seen(request.method, request.path, dict(request.query),
                              CIMultiDict(request.headers), b""))
        parts = []
        reader = await request.multipart()
        while (part := await reader.next()) is not None:
            assert isinstance(part, BodyPartReader)
            parts.append((part.name, part.filename, part.headers.get("Content-Type"),
                          bytes(await part.read())))
        self.parts.append(parts)
        status = self.statuses.pop(0) if len(self.statuses) > 1 else self.statuses[0]
        return respond(status, {"message": str(status)})


def test_upload_multipart_file_part_and_query(tmp_path: Path) -> None:
    archive = tmp_path / "artifacts.zip"
    data = bytes(range(256)) * 1000
    archive.write_bytes(data)
    sink = UploadSink(201)

    async def test(client: GitLabClient) -> None:
        await client.channel(41, JOB_TOKEN).upload(
            Upload(archive, "artifacts.zip", "archive", "zip", "1 week"))

    run(sink, test)
    (seen,) = sink.seen
    assert (seen.method, seen.path) == ("POST", "/api/v4/jobs/41/artifacts")
    assert seen.query == {"artifact_format": "zip", "artifact_type": "archive",
                          "expire_in": "1 week"}
    assert seen.headers["JOB-TOKEN"] == JOB_TOKEN
    assert seen.headers["Content-Type"].startswith("multipart/form-data")
    assert sink.parts == [[("file", "artifacts.zip", "application/octet-stream", data)]]


def test_upload_without_expiry_sends_no_expire_in(tmp_path: Path) -> None:
    report = tmp_path / "junit.xml.gz"
    report.write_bytes(b"\x1f\x8b gz")
    sink = UploadSink(201)

    async def test(client: GitLabClient) -> None:
        await client.channel(41, JOB_TOKEN).upload(Upload(report, "junit.xml.gz", "junit",
                                                          "gzip"))

    run(sink, test)
    assert sink.seen[0].query == {"artifact_format": "gzip", "artifact_type": "junit"}
    assert sink.parts[0][0][:2] == ("file", "junit.xml.gz")


def test_upload_retried_sends_the_whole_file_again(tmp_path: Path, waits: list[float]) -> None:
    archive = tmp_path / "a.zip"
    archive.write_bytes(b"PK-data" * 100)
    sink = UploadSink(502, 201)

    async def test(client: GitLabClient) -> None:
        await client.channel(41, JOB_TOKEN).upload(Upload(archive, "a.zip"))

    run(sink, test)
    assert [parts[0][3] for parts in sink.parts] == [b"PK-data" * 100] * 2
    assert len(waits) == 1


def test_upload_too_large(tmp_path: Path) -> None:
    archive = tmp_path / "a.zip"
    archive.write_bytes(b"PK")

    async def test(client: GitLabClient) -> None:
        with pytest.raises(CoordinatorError, match="too large") as caught:
            await client.channel(41, JOB_TOKEN).upload(Upload(archive, "a.zip"))
        assert caught.value.status == 413

    run(UploadSink(413), test)


def test_download_streams_into_the_file(tmp_path: Path) -> None:
    data = bytes(range(256)) * 4096  # 1 MiB, several chunks
    script = Script((200, data, {"Content-Type": "application/zip"}))
    dest = tmp_path / "dep.zip"

    async def test(client: GitLabClient) -> None:
        assert await client.channel(41, JOB_TOKEN).download(12, "glcbt-depToken", dest)

    run(script, test)
    assert dest.read_bytes() == data
    (seen,) = script.seen
    assert (seen.method, seen.path) == ("GET", "/api/v4/jobs/12/artifacts")
    assert seen.headers["JOB-TOKEN"] == "glcbt-depToken"  # the dependency's token, not ours


def test_download_404_is_no_artifacts(tmp_path: Path) -> None:
    dest = tmp_path / "dep.zip"

    async def test(client: GitLabClient) -> None:
        assert not await client.channel(41, JOB_TOKEN).download(12, "glcbt-dep", dest)

    run(Script((404, {"message": "404 Not Found"}, {})), test)
    assert not dest.exists()


def test_download_refused(tmp_path: Path) -> None:
    async def test(client: GitLabClient) -> None:
        with pytest.raises(CoordinatorError, match="access was denied"):
            await client.channel(41, JOB_TOKEN).download(12, "glcbt-dep", tmp_path / "d.zip")

    run(Script((403, {"message": "403 Forbidden"}, {})), test)


@pytest.mark.parametrize("content", [None, "not a certificate\n"])
def test_unusable_ca_file_is_a_coordinator_error(tmp_path: Path, content: str | None) -> None:
    """Not a FileNotFoundError/SSLError: the agent's poller survives only CoordinatorError
    (it logs it, marks itself unhealthy and backs off); anything else ends the poller."""
    ca_file = tmp_path / "ca.pem"
    if content is not None:
        ca_file.write_text(content)

    async def main() -> None:
        async with GitLabClient("https://gitlab.example.com", ca_file=ca_file) as client:
            with pytest.raises(CoordinatorError, match=f"CA file {ca_file}"):
                await client.request_job(RUNNER_TOKEN, SYSTEM_ID, None)

    asyncio.run(main())


def test_reset_token_sends_the_old_token_and_returns_the_new_one() -> None:
    new = {"token": "glrt-t1_newToken0002", "token_expires_at": "2027-01-05T10:00:00.000Z"}
    script = Script((201, new, {}), (403, {"message": "403 Forbidden"}, {}))

    async def test(client: GitLabClient) -> None:
        assert await client.reset_token(RUNNER_TOKEN) == new
        with pytest.raises(CoordinatorError, match="HTTP 403, the token is not valid any more"
                           ) as caught:
            await client.reset_token(RUNNER_TOKEN)
        assert RUNNER_TOKEN not in str(caught.value)

    run(script, test)
    first = script.seen[0]
    assert (first.method, first.path) == ("POST", "/api/v4/runners/reset_authentication_token")
    assert first.json() == {"token": RUNNER_TOKEN}
    assert first.headers["RUNNER-TOKEN"] == RUNNER_TOKEN


def test_reset_token_answer_without_a_token_is_an_error() -> None:
    script = Script((201, {"token_expires_at": None}, {}))

    async def test(client: GitLabClient) -> None:
        with pytest.raises(CoordinatorError, match="without a token"):
            await client.reset_token(RUNNER_TOKEN)

    run(script, test)
