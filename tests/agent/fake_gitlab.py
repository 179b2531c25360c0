"""A strict test double of GitLab's runner HTTP API (``/api/v4``), for ``runner agent`` tests.

Why a fake and not a real GitLab: a real instance is gigabytes, minutes to boot and
cannot be told to answer 502 three times, drop connections or hold a long poll on
cue. The fake speaks the same protocol as Rails (status codes, headers, two-phase
job acceptance, trace offsets, CRC-32 trace checksums, artifacts multipart) as
described in ``/work/shared/reference/gitlab-runner-protocol.md`` sections 1-7, and
is stricter than Rails: every breach it sees is appended to ``violations`` with a
sentence saying what was wrong, so a test ends with ``assert gl.violations == []``.

Threading model: the aiohttp server runs in a background thread with its own event
loop, so plain synchronous pytest tests and a ``runner agent`` subprocess can both
use it. All state sits behind one re-entrant lock (``_lock``); handlers take it only
between awaits, accessors return copies, and a condition on the same lock lets
``wait``/``wait_for`` block until a handler changes something.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import json
import re
import secrets
import threading
import time
import zlib
from collections.abc import Awaitable, Callable, Coroutine, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from types import TracebackType
from typing import Any, NamedTuple

from aiohttp import BodyPartReader, web

from tests.agent.payloads import TYPE_AND_FORMAT, new_job_token

API = "/api/v4"
FINISHED = frozenset({"success", "failed", "canceled"})
DEFAULT_RUNNER_TOKEN = "glrt-t1_fakeRunnerToken01"
DEFAULT_REGISTRATION_TOKEN = "GR1348941fakeRegToken"
SYSTEM_ID = re.compile(r"^[sr]_[0-9a-zA-Z]{12}$")
CONTENT_RANGE = re.compile(r"^(\d+)-(\d+)$")
CHECKSUM = re.compile(r"^crc32:[0-9a-f]{8}$")
JOB_REQUEST_BODY_LIMIT = 32 * 1024  # Workhorse refuses bigger /jobs/request bodies
TRACE_PATCH_LIMIT = 1024 * 1024  # gitlab-runner never sends more per PATCH
ACCESS_LEVELS = frozenset({"not_protected", "ref_protected"})
MIN_MAXIMUM_TIMEOUT = 600  # Ci::Runner validates maximum_timeout >= 600 s
# Failure reasons the runner may always send (failure_reason_mapper.go's base set).
ALWAYS_ACCEPTED_REASONS = frozenset({"script_failure", "runner_system_failure",
                                     "job_execution_timeout"})
STOP_TIMEOUT = 15.0

JSONDict = dict[str, Any]
Builder = Callable[[int, str], JSONDict]
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


class RequestRecord(NamedTuple):
    """One request as the fake answered it (injected answers included)."""

    method: str
    path: str
    status: int


class TracePatch(NamedTuple):
    """One ``PATCH /jobs/:id/trace``: arrival time (monotonic), Content-Range, size, answer."""

    time: float
    start: int
    end: int
    length: int
    status: int


@dataclass(frozen=True)
class Artifact:
    """One uploaded artifacts file, as stored by ``POST /jobs/:id/artifacts``."""

    filename: str
    artifact_type: str
    artifact_format: str
    expire_in: str | None
    data: bytes


@dataclass(frozen=True)
class JobSnapshot:
    """A copy of what the fake knows about a job, for assertions and failure dumps."""

    id: int
    state: str
    assigned_to: str | None
    system_id: str | None
    features: JSONDict
    assigned_at: float | None
    accepted_at: float | None
    finished_at: float | None
    failure_reason: str | None
    exit_code: int | None
    trace_size: int


@dataclass
class _Job:
    """Server-side job record. ``state`` uses GitLab's names: a queued or assigned but
    not yet accepted job is ``pending`` (two-phase commit), then ``running``,
    ``canceling`` and the final ``success``/``failed``/``canceled``."""

    id: int
    token: str
    payload: JSONDict
    requires: frozenset[str]
    state: str = "pending"
    queued: bool = True
    runner_token: str | None = None
    system_id: str | None = None
    features: JSONDict = field(default_factory=dict)
    assigned_at: float | None = None
    accepted_at: float | None = None
    finished_at: float | None = None
    trace: bytearray = field(default_factory=bytearray)
    patches: list[TracePatch] = field(default_factory=list)
    progress: list[tuple[float, int]] = field(default_factory=list)
    updates: list[JSONDict] = field(default_factory=list)
    final_update: JSONDict | None = None
    final_202_left: int | None = None
    failure_reason: str | None = None
    exit_code: int | None = None
    artifacts: list[Artifact] = field(default_factory=list)
    leaks_reported: set[str] = field(default_factory=set)


@dataclass
class _Injection:
    pattern: re.Pattern[str]
    method: str | None
    status: int
    remaining: int
    headers: dict[str, str]


class FakeGitLab:
    """GitLab's runner API on ``http://127.0.0.1:<port>/`` (see the module docstring).

    Knobs, set any time: ``long_poll_s`` (hold an empty ``/jobs/request`` this long,
    answering 201 as soon as a job is queued), ``trace_interval_s`` (value of
    ``X-GitLab-Trace-Update-Interval`` on job responses; absent when None),
    ``final_202_count`` (answer each job's final PUT with 202 this many times first),
    ``token_lifetime_s`` (runner tokens handed out by a reset expire that long after it;
    None: they never expire). ``runner_token`` is always the runner's current token.
    """

    def __init__(self, *, runner_token: str = DEFAULT_RUNNER_TOKEN,
                 registration_token: str = DEFAULT_REGISTRATION_TOKEN,
                 runner_id: int = 7, port: int = 0) -> None:
        self.runner_token = runner_token
        self.registration_token = registration_token
        self.runner_id = runner_id
        self.long_poll_s: float = 0.0
        self.trace_interval_s: int | None = None
        self.final_202_count: int = 0
        self.token_lifetime_s: float | None = None

        self._lock = threading.RLock()
        self._changed = threading.Condition(self._lock)
        self._port = port
        self._runner_ids: dict[str, int] = {runner_token: runner_id}
        self._managers: dict[str, set[str]] = {runner_token: set()}
        self._expires: dict[str, float] = {}
        """Runner token -> when it expires (``time.time()``); absent: never."""
        self._retired: set[str] = set()
        """Runner tokens replaced by a reset: Rails no longer knows them."""
        self._token_resets: list[JSONDict] = []
        self._jobs: dict[int, _Job] = {}
        self._queue: list[int] = []
        self._next_job_id = 1001
        self._next_runner_id = 100
        self._last_update = secrets.token_hex(8)
        self._violations: list[str] = []
        self._requests: list[RequestRecord] = []
        self._polls: list[float] = []
        self._job_requests: list[JSONDict] = []
        self._verifications: list[JSONDict] = []
        self._registered: list[JSONDict] = []
        self._unregistered: list[JSONDict] = []
        self._injections: list[_Injection] = []

        self._thread: threading.Thread | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stop_event: asyncio.Event | None = None
        self._queue_event: asyncio.Event | None = None
        self._runner: web.AppRunner | None = None
        self._site: web.TCPSite | None = None
        self._closing = False

    # ------------------------------------------------------------------ lifecycle

    def __enter__(self) -> FakeGitLab:
        self.start()
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.stop()

    def start(self) -> None:
        """Start serving in a background thread; returns once the port is bound."""
        if self._thread is not None:
            raise RuntimeError("FakeGitLab already started")
        ready: concurrent.futures.Future[None] = concurrent.futures.Future()
        self._closing = False
        self._thread = threading.Thread(target=self._thread_main, args=(ready,),
                                        name="fake-gitlab", daemon=True)
        self._thread.start()
        try:
            ready.result(timeout=STOP_TIMEOUT)
        except BaseException:
            self._thread.join(STOP_TIMEOUT)
            self._thread = None
            raise

    def stop(self) -> None:
        """Stop the server (held long polls answer 204 at once) and join the thread."""
        thread, loop, stop_event = self._thread, self._loop, self._stop_event
        if thread is None or loop is None or stop_event is None:
            return
        loop.call_soon_threadsafe(stop_event.set)
        thread.join(STOP_TIMEOUT)
        if thread.is_alive():
            raise RuntimeError("FakeGitLab server thread did not stop")
        self._thread = None
        self._loop = None

    def pause(self) -> None:
        """Close the listening socket and cut every open connection, as a GitLab going
        down would: new connections are refused, pooled keep-alive ones and requests in
        flight (a held long poll) see the connection drop."""
        self._call_in_loop(self._pause())

    def resume(self) -> None:
        """Listen again on the same port after ``pause``."""
        self._call_in_loop(self._resume())

    @property
    def port(self) -> int:
        return self._port

    @property
    def url(self) -> str:
        """Server URL as configured in a runner (the agent appends ``api/v4/``)."""
        return f"http://127.0.0.1:{self._port}/"

    @property
    def api_url(self) -> str:
        return f"{self.url}api/v4/"

    # ------------------------------------------------------------------ job control

    def add_job(self, payload: JSONDict | Builder, *, requires: Iterable[str] = ()) -> int:
        """Queue a job (FIFO) and return its id.

        ``payload`` is a ready 201 body (``id``/``token`` assigned when absent) or a
        builder ``(job_id, token) -> payload``, needed because GitLab embeds the job
        token in the payload (``CI_JOB_TOKEN``, the clone URL). ``requires`` adds
        runner features the job needs beyond those derived from the payload (e.g.
        ``return_exit_code``); a runner lacking one gets the job dropped with
        ``runner_unsupported``, as ``Ci::RegisterJobService`` does.
        """
        job = self._new_job(payload, requires)
        with self._lock:
            self._queue.append(job.id)
            self._queue_changed()
        return job.id

    def seed_job(self, payload: JSONDict | Builder, *, state: str = "success",
                 archive: bytes | None = None, filename: str = "artifacts.zip") -> int:
        """Record an already finished job (never queued), optionally with an archive
        artifact: the dependency of a job under test. See ``dependency``."""
        if state not in FINISHED:
            raise ValueError(f"seeded jobs are finished, not {state!r}")
        job = self._new_job(payload, ())
        with self._lock:
            job.queued = False
            job.state = state
            job.finished_at = time.monotonic()
            if archive is not None:
                job.artifacts.append(Artifact(filename, "archive", "zip", None, archive))
        return job.id

    def dependency(self, job_id: int) -> JSONDict:
        """The ``dependencies[]`` entry GitLab would send for ``job_id`` (own token,
        ``artifacts_file`` only when an archive exists)."""
        with self._lock:
            job = self._job(job_id)
            entry: JSONDict = {"id": job.id, "name": _job_name(job), "token": job.token}
            archive = _archive_of(job)
            if archive is not None:
                entry["artifacts_file"] = {"filename": archive.filename,
                                           "size": len(archive.data)}
            return entry

    def cancel(self, job_id: int, *, graceful: bool = True) -> str:
        """Cancel a job as a user would; returns the new state.

        As Rails: a queued or not yet accepted job goes straight to ``canceled``; a
        running one goes to ``canceling`` only when ``graceful`` and the runner
        advertised ``cancel_gracefully`` when it took the job, else to ``canceled``.
        The runner only learns it from ``Job-Status`` on its next PATCH/PUT.
        """
        with self._lock:
            job = self._job(job_id)
            if job.state in FINISHED:
                return job.state
            if job.queued:
                self._queue.remove(job.id)
                job.queued = False
                self._queue_changed()
            if job.state == "running" and graceful and job.features.get("cancel_gracefully"):
                job.state = "canceling"
            elif job.state != "canceling" or not graceful:
                job.state = "canceled"
                job.finished_at = time.monotonic()
            self._changed.notify_all()
            return job.state

    def inject(self, path_regex: str, status: int, times: int = 1,
               headers: Mapping[str, str] | None = None, *, method: str | None = None) -> None:
        """Answer the next ``times`` requests whose path matches (``re.search``) with
        ``status`` and ``headers`` instead of processing them: 502s, 429 with
        ``Retry-After``, 409 conflicts... Rules are tried in the order added."""
        if times < 1:
            raise ValueError(f"times must be at least 1, not {times}")
        with self._lock:
            self._injections.append(_Injection(re.compile(path_regex), method, status, times,
                                               dict(headers or {})))

    # ------------------------------------------------------------------ accessors

    @property
    def violations(self) -> list[str]:
        """Every protocol breach seen, one sentence each. Tests assert it is empty."""
        with self._lock:
            return list(self._violations)

    @property
    def requests(self) -> list[RequestRecord]:
        with self._lock:
            return list(self._requests)

    @property
    def polls(self) -> list[float]:
        """Arrival times (``time.monotonic``) of every ``POST /jobs/request``."""
        with self._lock:
            return list(self._polls)

    @property
    def job_requests(self) -> list[JSONDict]:
        """Bodies of the ``/jobs/request`` calls that could be parsed."""
        with self._lock:
            return [dict(body) for body in self._job_requests]

    @property
    def token_resets(self) -> list[JSONDict]:
        """``{"old", "new", "expires_at"}`` per successful ``reset_authentication_token``."""
        with self._lock:
            return [dict(reset) for reset in self._token_resets]

    def expire_token_in(self, token: str, seconds: float | None) -> str | None:
        """Give ``token`` an expiry ``seconds`` from now (None: never); returns it as Rails
        writes ``token_expires_at`` (ISO 8601, milliseconds, ``Z``)."""
        with self._lock:
            if seconds is None:
                self._expires.pop(token, None)
                return None
            self._expires[token] = time.time() + seconds
            return _iso(self._expires[token])

    @property
    def verifications(self) -> list[JSONDict]:
        with self._lock:
            return [dict(body) for body in self._verifications]

    @property
    def registered(self) -> list[JSONDict]:
        """Legacy registrations: request body plus the ``id`` and ``token`` handed out."""
        with self._lock:
            return [dict(body) for body in self._registered]

    @property
    def unregistered(self) -> list[JSONDict]:
        """``{"endpoint": "runners"|"managers", "token", "system_id"}`` per deletion."""
        with self._lock:
            return [dict(body) for body in self._unregistered]

    def job_state(self, job_id: int) -> str:
        with self._lock:
            return self._job(job_id).state

    def job_token(self, job_id: int) -> str:
        with self._lock:
            return self._job(job_id).token

    def job_payload(self, job_id: int) -> JSONDict:
        with self._lock:
            return json.loads(json.dumps(self._job(job_id).payload))  # type: ignore[no-any-return]

    def job(self, job_id: int) -> JobSnapshot:
        with self._lock:
            job = self._job(job_id)
            return JobSnapshot(job.id, job.state, job.runner_token, job.system_id,
                               dict(job.features), job.assigned_at, job.accepted_at,
                               job.finished_at, job.failure_reason, job.exit_code,
                               len(job.trace))

    def trace(self, job_id: int) -> bytes:
        with self._lock:
            return bytes(self._job(job_id).trace)

    def patches(self, job_id: int) -> list[TracePatch]:
        """Every trace PATCH for the job, rejected ones included (see ``status``)."""
        with self._lock:
            return list(self._job(job_id).patches)

    def trace_progress(self, job_id: int) -> list[tuple[float, int]]:
        """``(monotonic arrival time, stored trace size after it)`` per accepted PATCH."""
        with self._lock:
            return list(self._job(job_id).progress)

    def byte_arrival(self, job_id: int, offset: int) -> float | None:
        """When the trace byte at ``offset`` arrived (monotonic), None if it has not:
        with the time the agent produced it, the trace latency a benchmark wants."""
        with self._lock:
            for arrived, size in self._job(job_id).progress:
                if size > offset:
                    return arrived
            return None

    def updates(self, job_id: int) -> list[JSONDict]:
        """Bodies of every ``PUT /jobs/:id`` that passed authentication."""
        with self._lock:
            return [dict(body) for body in self._job(job_id).updates]

    def final_update(self, job_id: int) -> JSONDict | None:
        """The final (success/failed) PUT body that was applied, None before."""
        with self._lock:
            final = self._job(job_id).final_update
            return None if final is None else dict(final)

    def artifacts(self, job_id: int) -> list[Artifact]:
        with self._lock:
            return list(self._job(job_id).artifacts)

    def wait(self, job_id: int, states: Iterable[str] = FINISHED, timeout: float = 60) -> str:
        """Block until the job is in one of ``states``; returns that state.

        On timeout raises AssertionError with the job's state, trace tail, violations
        and the last requests, which is usually all a failing agent test needs.
        """
        wanted = frozenset(states)
        self.wait_for(lambda: self._job(job_id).state in wanted, timeout,
                      what=f"job {job_id} to reach {sorted(wanted)}", job_id=job_id)
        return self.job_state(job_id)

    def wait_for(self, predicate: Callable[[], bool], timeout: float = 60, *,
                 what: str = "condition", job_id: int | None = None) -> None:
        """Block until ``predicate()`` (re-checked after every request) is true."""
        deadline = time.monotonic() + timeout
        with self._changed:
            while not predicate():
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise AssertionError(f"timed out after {timeout}s waiting for {what}\n"
                                         + self.dump(job_id))
                self._changed.wait(remaining)

    def dump(self, job_id: int | None = None) -> str:
        """A human-readable summary of the fake's state, for failure messages."""
        with self._lock:
            lines: list[str] = []
            if job_id is not None and job_id in self._jobs:
                job = self._jobs[job_id]
                tail = bytes(job.trace[-2000:]).decode("utf-8", "replace")
                lines += [f"job {job.id}: state={job.state} assigned_to={job.runner_token} "
                          f"trace_size={len(job.trace)} final_update={job.final_update}",
                          "trace tail:", tail]
            lines.append("violations:")
            lines += [f"  {violation}" for violation in self._violations] or ["  (none)"]
            lines.append("last requests:")
            lines += [f"  {rec.method} {rec.path} -> {rec.status}" for rec in self._requests[-20:]]
            return "\n".join(lines)

    # ------------------------------------------------------------------ internals: state

    def _new_job(self, payload: JSONDict | Builder, requires: Iterable[str]) -> _Job:
        with self._lock:
            if callable(payload):
                job_id = self._allocate_id(None)
                token = new_job_token()
                body = payload(job_id, token)
                if body.get("id") != job_id or body.get("token") != token:
                    raise ValueError("a payload builder must use the job_id and token it is given")
            else:
                body = json.loads(json.dumps(payload))  # deep copy, and proves it is JSON
                job_id = self._allocate_id(body.get("id"))
                body["id"] = job_id
                body.setdefault("token", new_job_token())
                token = body["token"]
            json.dumps(body)
            job = _Job(job_id, token, body, frozenset(requires) | _required_features(body))
            self._jobs[job_id] = job
            return job

    def _allocate_id(self, wanted: Any) -> int:
        if wanted is None:
            while self._next_job_id in self._jobs:
                self._next_job_id += 1
            wanted = self._next_job_id
            self._next_job_id += 1
        if not isinstance(wanted, int) or wanted in self._jobs:
            raise ValueError(f"job id {wanted!r} is not a new integer id")
        return wanted

    def _job(self, job_id: int) -> _Job:
        try:
            return self._jobs[job_id]
        except KeyError:
            raise KeyError(f"no job {job_id} in the fake") from None

    def _violation(self, message: str) -> None:
        with self._lock:
            self._violations.append(message)
            self._changed.notify_all()

    def _queue_changed(self) -> None:
        """New ``X-GitLab-Last-Update`` value, and wake held long polls. Lock held."""
        self._last_update = secrets.token_hex(8)
        self._changed.notify_all()
        loop = self._loop
        if loop is not None:
            # RuntimeError: the loop closed under us, so nobody is waiting any more.
            with contextlib.suppress(RuntimeError):
                loop.call_soon_threadsafe(self._wake_pollers)

    def _wake_pollers(self) -> None:
        """In the loop: release everyone waiting on the current queue event."""
        with self._lock:
            event, self._queue_event = self._queue_event, asyncio.Event()
        if event is not None:
            event.set()

    def _assign_next(self, token: str, system_id: str | None, features: JSONDict) -> _Job | None:
        """Pop the first queued job this runner can take (Rails' pre-assign checks drop
        the ones it lacks features for). Lock held."""
        while self._queue:
            job = self._jobs[self._queue.pop(0)]
            job.queued = False
            self._queue_changed()
            missing = sorted(f for f in job.requires if not features.get(f))
            if missing:
                job.state = "failed"
                job.failure_reason = "runner_unsupported"
                job.finished_at = time.monotonic()
                self._violations.append(
                    f"job {job.id} dropped as runner_unsupported: the runner did not advertise "
                    f"info.features {missing} that the job needs")
                continue
            job.runner_token = token
            job.system_id = system_id
            job.features = dict(features)
            job.assigned_at = time.monotonic()
            return job
        return None

    # ------------------------------------------------------------------ internals: server

    def _thread_main(self, ready: concurrent.futures.Future[None]) -> None:
        asyncio.run(self._serve(ready))

    async def _serve(self, ready: concurrent.futures.Future[None]) -> None:
        self._loop = asyncio.get_running_loop()
        self._stop_event = asyncio.Event()
        self._queue_event = asyncio.Event()
        app = web.Application(middlewares=[self._middleware], client_max_size=256 * 1024 * 1024)
        self._routes(app)
        self._runner = web.AppRunner(app, access_log=None, shutdown_timeout=2.0)
        try:
            await self._runner.setup()
            self._site = web.TCPSite(self._runner, "127.0.0.1", self._port)
            await self._site.start()
            self._port = self._runner.addresses[0][1]
        except BaseException as exc:
            await self._runner.cleanup()
            ready.set_exception(exc)
            return
        ready.set_result(None)
        await self._stop_event.wait()
        self._closing = True
        self._wake_pollers()
        await self._runner.cleanup()

    def _call_in_loop(self, coro: Coroutine[Any, Any, None]) -> None:
        loop = self._loop
        if loop is None:
            coro.close()
            raise RuntimeError("FakeGitLab is not running")
        asyncio.run_coroutine_threadsafe(coro, loop).result(STOP_TIMEOUT)

    async def _pause(self) -> None:
        if self._site is None or self._runner is None:
            return
        await self._site.stop()
        self._site = None
        server = self._runner.server
        if server is not None:
            # Not close(): on an idle keep-alive connection aiohttp 3.14 then stops
            # reading but leaves the socket open, and the client hangs.
            for connection in server.connections:
                connection.force_close()

    async def _resume(self) -> None:
        if self._site is not None or self._runner is None:
            return
        self._site = web.TCPSite(self._runner, "127.0.0.1", self._port, reuse_address=True)
        await self._site.start()

    def _routes(self, app: web.Application) -> None:
        job = API + r"/jobs/{job_id:\d+}"
        app.router.add_post(API + "/runners/verify", self._verify)
        app.router.add_post(API + "/runners/reset_authentication_token", self._reset_token)
        app.router.add_post(API + "/runners", self._register)
        app.router.add_delete(API + "/runners", self._unregister)
        app.router.add_delete(API + "/runners/managers", self._unregister_manager)
        app.router.add_post(API + "/jobs/request", self._request_job)
        app.router.add_put(job, self._update_job)
        app.router.add_patch(job + "/trace", self._patch_trace)
        app.router.add_post(job + "/artifacts", self._upload_artifacts)
        app.router.add_get(job + "/artifacts", self._download_artifacts)
        app.router.add_route("*", "/{tail:.*}", self._unknown)

    @web.middleware
    async def _middleware(self, request: web.Request, handler: Handler) -> web.StreamResponse:
        """Fault injection, request log, poll times, X-Request-Id; fake bugs become 500s
        *and* violations so they cannot pass unnoticed."""
        if request.method == "POST" and request.path == API + "/jobs/request":
            with self._lock:
                self._polls.append(time.monotonic())
                self._changed.notify_all()
        injection = self._take_injection(request)
        response: web.StreamResponse
        if injection is not None:
            await request.read()
            response = _json_response({"message": f"{injection.status} (injected)"},
                                      injection.status, injection.headers)
        else:
            try:
                response = await handler(request)
            except web.HTTPException as exc:
                response = web.Response(status=exc.status, text=exc.text, headers=exc.headers)
            except Exception as exc:  # a bug in the fake must surface in the test
                self._violation(f"fake GitLab crashed on {request.method} {request.path}: "
                                f"{exc!r}")
                response = _json_response({"message": "500 Internal Server Error"}, 500)
        response.headers["X-Request-Id"] = secrets.token_hex(13)
        with self._lock:
            self._requests.append(RequestRecord(request.method, request.path, response.status))
            self._changed.notify_all()
        return response

    def _take_injection(self, request: web.Request) -> _Injection | None:
        with self._lock:
            for injection in self._injections:
                if injection.method not in (None, request.method):
                    continue
                if injection.pattern.search(request.path):
                    injection.remaining -= 1
                    if injection.remaining <= 0:
                        self._injections.remove(injection)
                    return injection
        return None

    async def _read_json(self, request: web.Request, what: str) -> JSONDict | None:
        """The JSON object body, or None after recording why it is not one."""
        raw = await request.read()
        if request.content_type != "application/json":
            self._violation(f"{what}: Content-Type is {request.content_type!r}, "
                            "not application/json")
            return None
        try:
            body = json.loads(raw)
        except ValueError as exc:
            self._violation(f"{what}: body is not JSON ({exc})")
            return None
        if not isinstance(body, dict):
            self._violation(f"{what}: body is not a JSON object")
            return None
        return body

    # ------------------------------------------------------------------ runners endpoints

    async def _verify(self, request: web.Request) -> web.Response:
        body = await self._read_json(request, "POST /runners/verify")
        if body is None:
            return _error(400)
        token = body.get("token")
        with self._lock:
            self._verifications.append(body)
            if not self._known(token, "POST /runners/verify"):
                return _error(403)
            assert isinstance(token, str)
            self._check_system_id(body, "POST /runners/verify", token)
            if not isinstance(body.get("info"), dict):
                self._violations.append("POST /runners/verify: no info object (Rails creates the "
                                        "runner manager from it; send info.features)")
            runner_id = self._runner_ids[token]
            expires = self._expires.get(token)
        return _json_response({"id": runner_id, "token": token,
                               "token_expires_at": None if expires is None else _iso(expires)},
                              200)

    async def _reset_token(self, request: web.Request) -> web.Response:
        """``POST /runners/reset_authentication_token``: a new token, the old one dead at once."""
        what = "POST /runners/reset_authentication_token"
        body = await self._read_json(request, what)
        if body is None:
            return _error(400)
        token = body.get("token")
        if not isinstance(token, str):
            self._violation(f"{what}: no token in the body (Rails requires it)")
            return _error(400, "400 token is missing")
        with self._lock:
            if not self._known(token, what):
                return _error(403)
            new = "glrt-t1_" + secrets.token_hex(10)
            self._runner_ids[new] = self._runner_ids.pop(token)
            self._managers[new] = self._managers.pop(token, set())
            self._expires.pop(token, None)
            self._retired.add(token)
            if self.token_lifetime_s is not None:
                self._expires[new] = time.time() + self.token_lifetime_s
            if token == self.runner_token:
                self.runner_token = new
            expires = self._expires.get(new)
            self._token_resets.append({"old": token, "new": new, "expires_at": expires})
            self._changed.notify_all()
        return _json_response({"token": new,
                               "token_expires_at": None if expires is None else _iso(expires)},
                              201)

    def _known(self, token: object, what: str) -> bool:
        """Rails' ``authenticate_runner!``: a current, unexpired token. A token that a reset
        replaced is a protocol violation as well: the runner must switch at once. Lock held."""
        if not isinstance(token, str) or token not in self._runner_ids:
            if isinstance(token, str) and token in self._retired:
                self._violations.append(f"{what}: sent a runner token that was reset (the "
                                        "old token is invalid as soon as the reset answers)")
            return False
        expires = self._expires.get(token)
        return expires is None or time.time() < expires

    async def _register(self, request: web.Request) -> web.Response:
        body = await self._read_json(request, "POST /runners")
        if body is None:
            return _error(400)
        problems = _registration_problems(body)
        if problems:
            self._violation("POST /runners: " + "; ".join(problems))
            return _json_response({"message": problems}, 400)
        with self._lock:
            if body["token"] != self.registration_token:
                return _error(403)
            runner_id = self._next_runner_id
            self._next_runner_id += 1
            token = "glrt-" + secrets.token_hex(10)
            self._runner_ids[token] = runner_id
            self._managers[token] = set()
            self._registered.append({**body, "id": runner_id, "token": token,
                                     "registration_token": body["token"]})
        return _json_response({"id": runner_id, "token": token, "token_expires_at": None}, 201)

    async def _unregister(self, request: web.Request) -> web.Response:
        body = await self._read_json(request, "DELETE /runners")
        if body is None or not isinstance(body.get("token"), str):
            return _error(400)
        with self._lock:
            token = body["token"]
            if not self._known(token, "DELETE /runners"):
                return _error(403)
            del self._runner_ids[token]
            self._managers.pop(token, None)
            self._unregistered.append({"endpoint": "runners", "token": token,
                                       "system_id": None})
        return web.Response(status=204)

    async def _unregister_manager(self, request: web.Request) -> web.Response:
        body = await self._read_json(request, "DELETE /runners/managers")
        if body is None:
            return _error(400)
        token, system_id = body.get("token"), body.get("system_id")
        if not isinstance(token, str) or not isinstance(system_id, str):
            self._violation("DELETE /runners/managers: token and system_id are both required")
            return _error(400)
        with self._lock:
            if not self._known(token, "DELETE /runners/managers"):
                return _error(403)
            managers = self._managers.setdefault(token, set())
            if system_id not in managers:
                return _json_response({"message": "404 Runner manager not found"}, 404)
            managers.discard(system_id)
            self._unregistered.append({"endpoint": "managers", "token": token,
                                       "system_id": system_id})
        return web.Response(status=204)

    def _check_system_id(self, body: JSONDict, what: str, token: str) -> str | None:
        """Record the manager, or a violation when ``system_id`` is missing or malformed."""
        system_id = body.get("system_id")
        if not isinstance(system_id, str) or not SYSTEM_ID.match(system_id):
            self._violations.append(f"{what}: system_id {system_id!r} does not match "
                                    f"{SYSTEM_ID.pattern} (required with glrt- tokens)")
            return None
        self._managers.setdefault(token, set()).add(system_id)
        return system_id

    # ------------------------------------------------------------------ jobs/request

    async def _request_job(self, request: web.Request) -> web.Response:
        what = "POST /jobs/request"
        if request.content_length is not None and request.content_length > JOB_REQUEST_BODY_LIMIT:
            self._violation(f"{what}: body of {request.content_length} bytes is over "
                            "Workhorse's 32 KiB limit")
        body = await self._read_json(request, what)
        if body is None:
            return _error(400)
        token = body.get("token")
        if not isinstance(token, str):
            self._violation(f"{what}: no token in the body")
            return _error(400)
        with self._lock:
            self._job_requests.append(body)
            if not self._known(token, what):
                return _error(403)
            system_id = self._check_system_id(body, what, token)
            info = body.get("info")
            features = info.get("features") if isinstance(info, dict) else None
            if not isinstance(features, dict):
                self._violations.append(f"{what}: info.features is not an object; GitLab then "
                                        "assumes the runner supports nothing")
                features = {}
            last_update = body.get("last_update")
            has_job = bool(self._queue)
        if self.long_poll_s > 0 and not has_job:
            await self._hold_long_poll(self.long_poll_s)
        headers = {"Gitlab-Ci-Builds-Polling": "yes"} if self.long_poll_s > 0 else {}
        with self._lock:
            if last_update is not None and last_update == self._last_update:
                return web.Response(status=204,
                                    headers={**headers, "X-GitLab-Last-Update": last_update})
            current = self._last_update
            job = self._assign_next(token, system_id, features)
            self._changed.notify_all()
            if job is None:
                return web.Response(status=204,
                                    headers={**headers, "X-GitLab-Last-Update": current})
            return _json_response(job.payload, 201, headers)

    async def _hold_long_poll(self, timeout: float) -> None:
        """Workhorse-style: wait until the queue changes, the window ends or we stop."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while not self._closing:
            with self._lock:
                if self._queue:
                    return
                event = self._queue_event
            remaining = deadline - loop.time()
            if remaining <= 0 or event is None:
                return
            try:
                await asyncio.wait_for(event.wait(), remaining)
            except TimeoutError:
                return

    # ------------------------------------------------------------------ PUT /jobs/:id

    async def _update_job(self, request: web.Request) -> web.Response:
        job_id = int(request.match_info["job_id"])
        what = f"PUT /jobs/{job_id}"
        body = await self._read_json(request, what)
        if body is None:
            return _error(400)
        header_token = request.headers.get("JOB-TOKEN")
        if not isinstance(body.get("token"), str):
            self._violation(f"{what}: no token in the body (Rails requires it)")
            return _error(400, "400 token is missing")
        with self._lock:
            job = self._jobs.get(job_id)
            if job is None:
                return _error(403)  # Rails answers 403, not 404, for unknown jobs
            if body.get("token") != job.token or header_token != job.token:
                if body.get("token") == job.token:
                    self._violations.append(f"{what}: JOB-TOKEN header missing or different "
                                            "from the body token")
                return _error(403)
            if job.runner_token is None:
                self._violations.append(f"{what}: job was never handed out to a runner")
                return self._job_forbidden(job)
            if job.state in FINISHED:
                if job.final_update is not None:
                    self._violations.append(f"{what}: update after the job was finished by its "
                                            f"final update (state {body.get('state')!r})")
                return self._job_forbidden(job)
            job.updates.append(body)
            self._changed.notify_all()
            state = body.get("state")
            if state == "pending":
                if job.state != "pending":
                    self._violations.append(f"{what}: state=pending keep-alive for a job "
                                            f"already {job.state}")
                    return _error(400)
                return self._job_response(job, 200, text="200")
            if state == "running":
                if job.state == "pending":
                    job.state = "running"
                    job.accepted_at = time.monotonic()
                return self._job_response(job, 200, text="200")
            if state in ("success", "failed"):
                return self._final_update(job, body, what)
            self._violations.append(f"{what}: unknown state {state!r}")
            return _error(400)

    def _final_update(self, job: _Job, body: JSONDict, what: str) -> web.Response:
        """success/failed: 202 ``final_202_count`` times, then check output and apply."""
        if job.final_202_left is None:
            job.final_202_left = self.final_202_count
        if job.final_202_left > 0:
            job.final_202_left -= 1
            return web.Response(status=202, text="202", headers={
                "Job-Status": job.state, "X-GitLab-Trace-Update-Interval": "1"})
        self._check_output(job, body, what)
        state = body["state"]
        reason = body.get("failure_reason")
        if state == "failed":
            accepted = set(job.payload.get("features", {}).get("failure_reasons") or ())
            if reason is not None and accepted and reason not in accepted | ALWAYS_ACCEPTED_REASONS:
                self._violations.append(f"{what}: failure_reason {reason!r} is not in the job's "
                                        "features.failure_reasons (map it first)")
        exit_code = body.get("exit_code")
        if exit_code is not None and not isinstance(exit_code, int):
            self._violations.append(f"{what}: exit_code {exit_code!r} is not an integer")
        job.final_update = dict(body)
        job.failure_reason = reason if state == "failed" else None
        job.exit_code = exit_code if isinstance(exit_code, int) else None
        job.state = "canceled" if job.state == "canceling" else state
        job.finished_at = time.monotonic()
        return self._job_response(job, 200, text="200")

    def _check_output(self, job: _Job, body: JSONDict, what: str) -> None:
        output = body.get("output")
        if not isinstance(output, dict):
            self._violations.append(f"{what}: final update without output "
                                    "{checksum, bytesize}")
            return
        checksum, bytesize = output.get("checksum"), output.get("bytesize")
        expected = f"crc32:{zlib.crc32(job.trace):08x}"
        if not isinstance(checksum, str) or not CHECKSUM.match(checksum):
            self._violations.append(f"{what}: output.checksum {checksum!r} is not crc32:%08x")
        elif checksum != expected:
            self._violations.append(f"{what}: output.checksum {checksum} but the stored trace's "
                                    f"is {expected}")
        if bytesize != len(job.trace):
            self._violations.append(f"{what}: output.bytesize {bytesize!r} but the stored trace "
                                    f"has {len(job.trace)} bytes")

    # ------------------------------------------------------------------ PATCH trace

    async def _patch_trace(self, request: web.Request) -> web.Response:
        job_id = int(request.match_info["job_id"])
        what = f"PATCH /jobs/{job_id}/trace"
        data = await request.read()
        arrived = time.monotonic()
        with self._lock:
            job = self._jobs.get(job_id)
            if job is None or request.headers.get("JOB-TOKEN") != job.token:
                return _error(403)
            content_range = request.headers.get("Content-Range")
            start, end = _parse_range(content_range)
            response = self._append_trace(job, data, content_range, what)
            job.patches.append(TracePatch(arrived, start, end, len(data), response.status))
            self._changed.notify_all()
            return response

    def _append_trace(self, job: _Job, data: bytes, content_range: str | None,
                      what: str) -> web.Response:
        """Rails' order: authenticate (403), Content-Range (400), offset (416), append."""
        if job.state == "pending":
            self._violations.append(f"{what}: trace sent before the job was accepted with "
                                    "PUT state=running (two-phase commit)")
            return self._job_forbidden(job)
        if job.state in FINISHED:
            if job.final_update is not None:
                self._violations.append(f"{what}: trace sent after the final update")
            return self._job_forbidden(job)
        if content_range is None:
            self._violations.append(f"{what}: no Content-Range header")
            return _error(400, "400 Missing header Content-Range")
        match = CONTENT_RANGE.match(content_range)
        if match is None:
            self._violations.append(f"{what}: Content-Range {content_range!r} is not START-END")
            return _error(400)
        start, end = int(match[1]), int(match[2])
        size = len(job.trace)
        if start != size:
            return _error(416, headers={"Range": f"0-{size}"})
        if not data:
            self._violations.append(f"{what}: empty PATCH (gitlab-runner skips those)")
        elif end != start + len(data) - 1:
            self._violations.append(f"{what}: Content-Range {content_range} for {len(data)} "
                                    f"bytes (END must be START+len-1 = {start + len(data) - 1})")
        if len(data) > TRACE_PATCH_LIMIT:
            self._violations.append(f"{what}: {len(data)} bytes in one PATCH (limit 1 MiB)")
        job.trace += data
        job.progress.append((time.monotonic(), len(job.trace)))
        self._check_leaks(job, start, what)
        return self._job_response(job, 202, headers={"Range": f"0-{len(job.trace)}"})

    def _check_leaks(self, job: _Job, start: int, what: str) -> None:
        """Job and runner tokens must never reach the trace unmasked (GitLab would
        overwrite them in the stored log, making the checksum wrong as well)."""
        secrets_ = {"job token": job.token, "runner token": job.runner_token or ""}
        for name, secret in secrets_.items():
            if not secret or name in job.leaks_reported:
                continue
            window = bytes(job.trace[max(0, start - len(secret)):])
            if secret.encode() in window:
                job.leaks_reported.add(name)
                self._violations.append(f"{what}: the {name} appears unmasked in the trace")

    # ------------------------------------------------------------------ artifacts

    async def _upload_artifacts(self, request: web.Request) -> web.Response:
        job_id = int(request.match_info["job_id"])
        what = f"POST /jobs/{job_id}/artifacts"
        refusal: web.Response | None = None
        with self._lock:  # never held across an await: the loop thread would re-enter it
            job = self._jobs.get(job_id)
            if job is None or request.headers.get("JOB-TOKEN") != job.token:
                refusal = _error(403)
            elif job.state not in ("running", "canceling"):
                if job.final_update is not None or job.state == "pending":
                    self._violations.append(f"{what}: upload while the job is {job.state}")
                refusal = self._job_forbidden(job)
        if refusal is not None or job is None:
            await request.read()
            return refusal or _error(403)
        if request.content_type != "multipart/form-data":
            await request.read()
            self._violation(f"{what}: Content-Type {request.content_type!r} is not "
                            "multipart/form-data")
            return _error(400)
        fields = dict(request.query)
        upload: tuple[str, bytes] | None = None
        reader = await request.multipart()
        while (part := await reader.next()) is not None:
            if not isinstance(part, BodyPartReader):
                self._violation(f"{what}: nested multipart part")
                continue
            if part.name == "file":
                upload = (part.filename or "", bytes(await part.read()))
            elif part.filename is not None:
                self._violation(f"{what}: file part named {part.name!r}, GitLab wants 'file'")
                await part.read()
            else:
                fields[part.name or ""] = await part.text()
        if upload is None:
            self._violation(f"{what}: no multipart part named 'file'")
            return _error(400, "400 file is missing")
        artifact_type = fields.get("artifact_type", "archive")
        artifact_format = fields.get("artifact_format", "zip")
        expected_format = TYPE_AND_FORMAT.get(artifact_type)
        if expected_format is None or artifact_format != expected_format:
            self._violation(f"{what}: artifact_type={artifact_type!r} with "
                            f"artifact_format={artifact_format!r} (GitLab wants "
                            f"{expected_format!r} for that type)")
            return _error(400, "400 Invalid file format")
        with self._lock:
            if any(a.artifact_type == artifact_type for a in job.artifacts):
                self._violations.append(f"{what}: a second {artifact_type} artifact for the job")
                return _error(400, "400 another artifact of the same type already exists")
            job.artifacts.append(Artifact(upload[0], artifact_type, artifact_format,
                                          fields.get("expire_in"), upload[1]))
            self._changed.notify_all()
        return web.Response(status=201, text="201")

    async def _download_artifacts(self, request: web.Request) -> web.Response:
        job_id = int(request.match_info["job_id"])
        token = request.headers.get("JOB-TOKEN")
        with self._lock:
            job = self._jobs.get(job_id)
            if token is None:
                return _error(401)
            if job is None or token != job.token:
                return _error(403)
            archive = _archive_of(job)
        if archive is None:
            return _error(404)
        return web.Response(body=archive.data, content_type="application/zip", headers={
            "Content-Disposition": f'attachment; filename="{archive.filename}"'})

    async def _unknown(self, request: web.Request) -> web.Response:
        await request.read()
        self._violation(f"unknown endpoint {request.method} {request.path}")
        return _error(404)

    # ------------------------------------------------------------------ responses

    def _job_headers(self, job: _Job) -> dict[str, str]:
        headers = {"Job-Status": job.state}
        if self.trace_interval_s is not None:
            headers["X-GitLab-Trace-Update-Interval"] = str(self.trace_interval_s)
        return headers

    def _job_response(self, job: _Job, status: int, *, text: str = "",
                      headers: Mapping[str, str] | None = None) -> web.Response:
        return web.Response(status=status, text=text or None,
                            headers={**self._job_headers(job), **(headers or {})})

    def _job_forbidden(self, job: _Job) -> web.Response:
        """Rails' ``job_forbidden!``: 403 carrying the job's status."""
        return _error(403, "403 Forbidden - Job is not processing on runner",
                      {"Job-Status": job.state})


def _json_response(body: Any, status: int,
                   headers: Mapping[str, str] | None = None) -> web.Response:
    return web.Response(status=status, text=json.dumps(body), content_type="application/json",
                        headers=dict(headers or {}))


def _error(status: int, message: str | None = None,
           headers: Mapping[str, str] | None = None) -> web.Response:
    """Grape's error shape: ``{"message": "403 Forbidden"}``."""
    reasons = {400: "Bad request", 401: "Unauthorized", 403: "Forbidden", 404: "Not Found",
               416: "Range Not Satisfiable"}
    text = message or f"{status} {reasons.get(status, '')}".strip()
    return _json_response({"message": text}, status, headers)


def _iso(epoch: float) -> str:
    """A time as Rails renders ``token_expires_at``: ``2027-01-05T10:00:00.000Z``."""
    moment = datetime.fromtimestamp(epoch, UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def _parse_range(value: str | None) -> tuple[int, int]:
    match = CONTENT_RANGE.match(value or "")
    return (int(match[1]), int(match[2])) if match else (-1, -1)


def _job_name(job: _Job) -> str:
    info = job.payload.get("job_info")
    name = info.get("name") if isinstance(info, dict) else None
    return str(name) if name else f"job-{job.id}"


def _archive_of(job: _Job) -> Artifact | None:
    return next((a for a in job.artifacts if a.artifact_type == "archive"), None)


def _required_features(payload: JSONDict) -> frozenset[str]:
    """Runner features the job needs, as far as the payload shows (``Ci::Build::
    RUNNER_FEATURES``); the rest can be passed to ``add_job(requires=...)``."""
    needed: set[str] = set()
    for artifact in payload.get("artifacts") or ():
        if artifact.get("exclude"):
            needed.add("artifacts_exclude")
        if artifact.get("artifact_type", "archive") != "archive":
            needed.add("upload_multiple_artifacts")
    if any(entry.get("fallback_keys") for entry in payload.get("cache") or ()):
        needed.add("fallback_cache_keys")
    if any(step.get("name") == "release" for step in payload.get("steps") or ()):
        needed.add("multi_build_steps")
    refspecs = (payload.get("git_info") or {}).get("refspecs") or ()
    if any("refs/merge-requests/" in spec for spec in refspecs):
        needed.add("refspecs")
    return frozenset(needed)


def _registration_problems(body: JSONDict) -> list[str]:
    """Grape's parameter validation of legacy ``POST /runners`` (each problem → 400)."""
    problems = []
    if not isinstance(body.get("token"), str):
        problems.append("token is required")
    types: dict[str, type | tuple[type, ...]] = {
        "description": str, "maintenance_note": str, "tag_list": (str, list),
        "run_untagged": bool, "locked": bool, "paused": bool, "access_level": str,
        "maximum_timeout": int, "info": dict,
    }
    for key, expected in types.items():
        value = body.get(key)
        if value is not None and (not isinstance(value, expected)
                                  or (expected is int and isinstance(value, bool))):
            problems.append(f"{key} has the wrong type ({type(value).__name__})")
    tags = body.get("tag_list")
    if isinstance(tags, list) and not all(isinstance(tag, str) for tag in tags):
        problems.append("tag_list entries must be strings")
    if body.get("access_level") is not None and body["access_level"] not in ACCESS_LEVELS:
        problems.append(f"access_level {body['access_level']!r} not in {sorted(ACCESS_LEVELS)}")
    timeout = body.get("maximum_timeout")
    if isinstance(timeout, int) and timeout < MIN_MAXIMUM_TIMEOUT:
        problems.append(f"maximum_timeout {timeout} is below {MIN_MAXIMUM_TIMEOUT} s")
    if "paused" in body and "active" in body:
        problems.append("active and paused are mutually exclusive")
    return problems
