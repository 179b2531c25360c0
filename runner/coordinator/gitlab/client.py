"""GitLab's runner API over aiohttp: this module and jobchannel.py are all that speak to GitLab.

Every request goes through ``send``, which retries as gitlab-runner does
(``retry.py``) and reports each answer to an observer (the agent's metrics).
Tokens travel in headers and JSON bodies only, never in URLs, so they never
reach a proxy's or our own request log.
"""

from __future__ import annotations

import asyncio
import ssl
import time
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import aiohttp
import structlog

if TYPE_CHECKING:
    from runner.coordinator.gitlab.jobchannel import GitLabJobChannel

from runner.coordinator.base import RemoteState
from runner.coordinator.gitlab import retry
from runner.coordinator.gitlab.features import runner_info, user_agent
from runner.errors import CoordinatorError

log = structlog.get_logger(__name__)

Observer = Callable[[str, int | None, float], None]
"""Called after every answer: (endpoint name, HTTP status or None if no answer, seconds)."""

POLL_TIMEOUT_S = 90.0
"""A job request may be held ~50 s by Workhorse's long polling; leave room beyond that."""
CALL_TIMEOUT_S = 60.0
UPLOAD_TIMEOUT_S = 3600.0
TRACE_INTERVAL_MAX_S = 900.0


@dataclass(frozen=True)
class Answer:
    """One HTTP answer, body read."""

    status: int
    headers: Mapping[str, str]
    body: bytes

    def json(self, what: str) -> dict[str, object]:
        """The body as a JSON object, or a CoordinatorError naming ``what`` was asked."""
        import json  # noqa: PLC0415

        try:
            doc = json.loads(self.body)
        except ValueError as exc:
            raise CoordinatorError(f"GitLab answered {what} with a body that is not JSON",
                                   self.status) from exc
        if not isinstance(doc, dict):
            raise CoordinatorError(f"GitLab answered {what} with JSON that is not an object",
                                   self.status)
        return doc


def api_base(url: str) -> str:
    """``https://host/path/api/v4/`` from the server URL a user gives (``/ci`` suffix dropped)."""
    base = url.strip().rstrip("/")
    base = base.removesuffix("/ci")
    if not base.startswith(("http://", "https://")):
        raise CoordinatorError(f"GitLab URL {url!r} must start with http:// or https://")
    return base + "/api/v4/"


def remote_state(status: int, headers: Mapping[str, str]) -> RemoteState:
    """gitlab-runner's reading of an answer about a running job (``remote_job_state_response``)."""
    job_status = headers.get("Job-Status", "")
    if status == 403 or job_status in ("canceled", "failed"):
        return RemoteState.ABORT
    if status == 404:
        return RemoteState.GONE
    if job_status == "canceling":
        return RemoteState.CANCELING
    return RemoteState.RUNNING


def update_interval(headers: Mapping[str, str]) -> float | None:
    """``X-GitLab-Trace-Update-Interval`` in seconds (capped at 15 min), if present and sane."""
    raw = headers.get("X-GitLab-Trace-Update-Interval")
    if not raw:
        return None
    try:
        value = float(raw)
    except ValueError:
        return None
    return min(value, TRACE_INTERVAL_MAX_S) if value > 0 else None


class GitLabClient:
    """A session with one GitLab instance, shared by the poller and every job."""

    def __init__(self, url: str, *, ca_file: Path | None = None,
                 observer: Observer | None = None, attempts: int = retry.ATTEMPTS) -> None:
        self.base = api_base(url)
        self._ca_file = ca_file
        self._observer = observer
        self._attempts = attempts
        self._session: aiohttp.ClientSession | None = None
        self.info = runner_info()

    async def __aenter__(self) -> GitLabClient:
        return self

    async def __aexit__(self, *_exc: object) -> None:
        await self.close()

    def _open(self) -> aiohttp.ClientSession:
        if self._session is None:
            try:
                context = ssl.create_default_context(
                    cafile=str(self._ca_file) if self._ca_file else None)
            except (OSError, ssl.SSLError) as exc:  # the poller survives CoordinatorError only
                raise CoordinatorError(f"the CA file {self._ca_file} cannot be used to check "
                                       f"GitLab's certificate ({exc})") from None
            self._session = aiohttp.ClientSession(
                connector=aiohttp.TCPConnector(ssl=context, limit=64),
                headers={"User-Agent": user_agent()},
            )
        return self._session

    async def close(self) -> None:
        """Close the connection pool."""
        if self._session is not None:
            await self._session.close()
            self._session = None

    # -- runner-level calls -------------------------------------------------------------

    async def verify(self, token: str, system_id: str) -> dict[str, object]:
        """``POST /runners/verify``: the token is valid; GitLab's runner id and token expiry."""
        answer = await self.send("verify", "POST", "runners/verify", runner_token=token,
                                  json={"token": token, "system_id": system_id,
                                        "info": self.info})
        if answer.status == 200:
            try:
                return answer.json("the token check")
            except CoordinatorError:
                return {}  # GitLab before 16.x answered 200 with an empty body
        raise self.refused("checking the runner token", answer, {
            403: "the token is not valid (mistyped, reset, or the runner was deleted)",
            422: "the runner is orphaned on the GitLab side"})

    async def register(self, registration_token: str, fields: Mapping[str, object]
                       ) -> dict[str, object]:
        """``POST /runners`` with a legacy registration token; the new runner's id and token."""
        answer = await self.send("register", "POST", "runners", runner_token=None,
                                  json={"token": registration_token, **fields,
                                        "info": self.info})
        if answer.status == 201:
            return answer.json("the registration")
        raise self.refused("registering the runner", answer, {
            403: "the registration token is not valid",
            410: "this GitLab no longer accepts registration tokens; create the runner in "
                 "GitLab and register with its glrt- token"})

    async def unregister(self, token: str, system_id: str | None) -> None:
        """Remove the runner (legacy tokens) or only this machine's manager (``glrt-``)."""
        if system_id is not None and token.startswith("glrt-"):
            path, body = "runners/managers", {"token": token, "system_id": system_id}
        else:
            path, body = "runners", {"token": token}
        answer = await self.send("unregister", "DELETE", path, runner_token=token, json=body)
        if answer.status != 204:
            raise self.refused("unregistering the runner", answer, {
                403: "the token is not valid (already unregistered?)",
                404: "GitLab does not know this runner manager"})

    async def reset_token(self, token: str) -> dict[str, object]:
        """``POST /runners/reset_authentication_token``: a new token and its expiry.

        GitLab invalidates ``token`` as soon as it answers; the caller must switch.
        """
        answer = await self.send("reset_token", "POST", "runners/reset_authentication_token",
                                  runner_token=token, json={"token": token})
        if answer.status == 201:
            doc = answer.json("the token reset")
            if not isinstance(doc.get("token"), str) or not doc["token"]:
                raise CoordinatorError("GitLab answered the token reset without a token",
                                       answer.status)
            return doc
        raise self.refused("resetting the runner token", answer, {
            403: "the token is not valid any more (expired, reset elsewhere, or the runner "
                 "was deleted); register the runner again",
            422: "the runner is orphaned on the GitLab side"})

    async def request_job(self, token: str, system_id: str, last_update: str | None
                          ) -> tuple[dict[str, object] | None, str | None]:
        """``POST /jobs/request``: a job payload or None, and the queue marker to send next."""
        body: dict[str, object] = {"token": token, "system_id": system_id, "info": self.info}
        if last_update:
            body["last_update"] = last_update
        answer = await self.send("request_job", "POST", "jobs/request", runner_token=token,
                                  json=body, timeout_s=POLL_TIMEOUT_S)
        marker = answer.headers.get("X-GitLab-Last-Update") or None
        if answer.status == 201:
            return answer.json("the job request"), marker
        if answer.status in (204, 409):  # 409: someone else took it; healthy, ask again
            return None, marker
        raise self.refused("asking for a job", answer, {
            403: "the runner token is not valid (the runner was deleted or its token reset)",
            422: "the runner is orphaned on the GitLab side"})

    def channel(self, job_id: int, token: str) -> GitLabJobChannel:
        """The per-job side of the API, with that job's token."""
        from runner.coordinator.gitlab.jobchannel import GitLabJobChannel  # noqa: PLC0415

        return GitLabJobChannel(self, job_id, token)

    # -- plumbing --------------------------------------------------------------------------

    async def send(self, endpoint: str, method: str, path: str, *,
                    runner_token: str | None = None, job_token: str | None = None,
                    json: object = None, data: bytes | None = None,
                    form: Callable[[], aiohttp.FormData] | None = None,
                    headers: Mapping[str, str] | None = None,
                    params: Mapping[str, str] | None = None,
                    timeout_s: float = CALL_TIMEOUT_S, retries: bool = True,
                    into: Path | None = None) -> Answer:
        """One request with gitlab-runner's retries; connection failures count as 503.

        With ``into``, a 200's body is streamed to that file instead of memory.
        """
        session = self._open()
        sent: dict[str, str] = dict(headers or {})
        if runner_token:
            sent["RUNNER-TOKEN"] = runner_token
        if job_token:
            sent["JOB-TOKEN"] = job_token
        if json is not None:
            sent["Accept"] = "application/json"
        attempts = self._attempts if retries else 1
        for attempt in range(1, attempts + 1):
            sent["X-Request-Id"] = uuid.uuid4().hex
            began = time.monotonic()
            try:
                async with session.request(
                    method, self.base + path, json=json,
                    data=form() if form is not None else data, headers=sent,
                    params=params, allow_redirects=False,
                    timeout=aiohttp.ClientTimeout(total=timeout_s),
                ) as response:
                    if into is not None and response.status == 200:
                        with into.open("wb") as out:
                            async for chunk in response.content.iter_chunked(1 << 16):
                                out.write(chunk)
                        body = b""
                    else:
                        body = await response.read()
                    answer = Answer(response.status, dict(response.headers), body)
            except (aiohttp.ClientError, TimeoutError) as exc:
                self._observe(endpoint, None, began)
                if attempt == attempts:
                    raise CoordinatorError(f"GitLab at {self.base} could not be reached "
                                           f"({type(exc).__name__}: {exc}); tried {attempts} "
                                           "times") from exc
                await asyncio.sleep(retry.backoff_s(attempt))
                continue
            self._observe(endpoint, answer.status, began)
            if not retry.retryable(answer.status) or attempt == attempts:
                return answer
            wait = retry.wait_s(answer.headers, attempt)
            log.info("gitlab_retry", endpoint=endpoint, status=answer.status,
                     wait_s=round(wait, 3), attempt=attempt)
            await asyncio.sleep(wait)
        raise AssertionError("unreachable")  # pragma: no cover

    def _observe(self, endpoint: str, status: int | None, began: float) -> None:
        if self._observer is not None:
            self._observer(endpoint, status, time.monotonic() - began)

    @staticmethod
    def refused(doing: str, answer: Answer, meanings: Mapping[int, str]) -> CoordinatorError:
        """The error for an answer that is not what ``doing`` needed, saying what it means."""
        meaning = meanings.get(answer.status, "an answer runner does not expect")
        detail = answer.body[:200].decode("utf-8", "replace").strip()
        more = f" ({detail})" if detail else ""
        return CoordinatorError(f"GitLab refused {doing}: HTTP {answer.status}, {meaning}{more}",
                                answer.status)
