"""``runner agent``: poll the coordinator, run jobs, shut down gracefully.

One poller per configured runner asks for a job whenever a slot is free
(``concurrent`` for the agent, ``limit`` per runner). After a job it asks
again at once, as gitlab-runner does, so a queue drains without waiting
out ``check_interval``; with no job it waits ``check_interval``, and after
errors it backs off with jitter (the client has already retried as the
server asked). Only one request per runner is in flight at a time.

Shutdown: the first SIGTERM/SIGINT stops polling and lets running jobs
finish for ``shutdown_timeout`` seconds; a second signal, or the end of
that time, stops them at once and reports them as system failures.

Each runner whose token expires has its token reset at 75 % of its
lifetime (``tokens.py``); the poller switches to the new token at once, and
running jobs are not affected (they use their own job tokens).
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import shutil
import signal
import time
from dataclasses import dataclass, field, replace
from pathlib import Path
from urllib.parse import urlsplit

import structlog

from runner.agent import jobdir as jobdirs
from runner.agent.config import AgentConfig, RunnerEntry
from runner.agent.jobrun import JobEnv, JobRun, Stop, tenant_for, write_record
from runner.agent.metrics import Metrics
from runner.agent.recovery import recover
from runner.agent.tokens import Clock, SystemClock, TokenRotation
from runner.coordinator.base import JobChannel
from runner.coordinator.gitlab.client import GitLabClient
from runner.coordinator.gitlab.payload import JobPayload, PayloadError, parse_payload
from runner.coordinator.gitlab.retry import jittered
from runner.engine.namespace import NamespaceHelper
from runner.errors import CoordinatorError
from runner.execute.layout import safe_name
from runner.execute.results import Settings
from runner.execute.run import tenant_store

log = structlog.get_logger(__name__)

ERROR_BACKOFF_MAX_S = 60.0
HELPER_IDLE_S = 30.0
UNHEALTHY_BACKOFF_S = 300.0
"""After the token is refused (403) there is no point asking again soon."""


def short_token(token: str) -> str:
    """gitlab-runner's short token: 9 characters after the token's prefixes."""
    body = token
    for prefix in ("glrt-", "glrtr-", "glcbt-"):
        body = body.removeprefix(prefix)
    if len(body) > 3 and body[0] == "t" and body[1].isdigit() and body[2] == "_":
        body = body[3:]
    return body[:9]


@dataclass
class _Poller:
    entry: RunnerEntry
    client: GitLabClient
    limit: asyncio.Semaphore | None
    token_lock: asyncio.Lock = field(default_factory=asyncio.Lock)
    """Held while the token is in use, so that a reset never overlaps a job request."""
    last_update: str | None = None
    failures: int = 0
    refused: bool = False
    """The token was refused (403): ask again only after a long pause."""
    jobs: set[asyncio.Task[None]] = field(default_factory=set)


class Agent:
    """The service; ``run`` returns when it has shut down."""

    def __init__(self, config: AgentConfig, settings: Settings, *,
                 clock: Clock | None = None) -> None:
        self.config = config
        self.clock = clock or SystemClock()
        self.settings = settings
        self.metrics = Metrics()
        self.root = config.work_root()
        self._slots = asyncio.Semaphore(config.concurrent)
        self._slot_ids = list(range(config.concurrent))
        self._stopping = asyncio.Event()
        self._forced = asyncio.Event()
        self._running: dict[int, JobRun] = {}
        self._tasks: set[asyncio.Task[None]] = set()
        self._helper: NamespaceHelper | None = None
        """One file helper for all running jobs (each ``runner exec`` starts its own);
        started with the first job, stopped after ``HELPER_IDLE_S`` without one, so an
        idle agent is one small process."""
        self._idle: asyncio.Task[None] | None = None
        self._pollers = [
            _Poller(entry, GitLabClient(entry.url, ca_file=entry.ca_file,
                                        observer=self.metrics.observe),
                    asyncio.Semaphore(entry.limit) if entry.limit else None)
            for entry in config.runners
        ]

    async def run(self) -> None:
        """Serve until told to stop, then stop as described in the module docstring."""
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, self.request_stop)
        server = None
        try:
            await self._recover()
            if self.config.listen_address:
                from runner.agent.http import serve  # noqa: PLC0415

                server = await serve(self.metrics, self.config.listen_address)
            log.info("agent_started", runners=[p.entry.name for p in self._pollers],
                     concurrent=self.config.concurrent, data_dir=str(self.root))
            polls = [asyncio.create_task(self._poll(p)) for p in self._pollers]
            rotations = [asyncio.create_task(self._rotation(p).run()) for p in self._pollers]
            await self._stopping.wait()
            for task in polls:
                task.cancel()
            await asyncio.gather(*polls, return_exceptions=True)
            await self._drain()
            await self._end_rotations(rotations)
        finally:
            for sig in (signal.SIGTERM, signal.SIGINT):
                loop.remove_signal_handler(sig)
            for poller in self._pollers:
                await poller.client.close()
            if server is not None:
                await server.cleanup()
            if self._idle is not None:
                self._idle.cancel()
            await self._close_helper()
            log.info("agent_stopped")

    def request_stop(self) -> None:
        """A signal: the first stops taking jobs, the second stops the running ones."""
        if self._stopping.is_set():
            log.warning("agent_forced_stop", jobs=sorted(self._running))
            self._force()
            return
        log.info("agent_stopping", jobs=sorted(self._running),
                 grace_s=self.config.shutdown_timeout_s)
        self._stopping.set()

    async def _end_rotations(self, rotations: list[asyncio.Task[None]]) -> None:
        """Let a token reset under way finish (its new token must be saved), unless told
        to stop at once; sleeping ones end by themselves when ``_stopping`` is set."""
        pending = {task for task in rotations if not task.done()}
        forced = asyncio.create_task(self._forced.wait())
        while pending and not forced.done():
            await asyncio.wait({*pending, forced}, return_when=asyncio.FIRST_COMPLETED)
            pending = {task for task in pending if not task.done()}
        forced.cancel()
        for task in pending:
            task.cancel()
        await asyncio.gather(forced, *rotations, return_exceptions=True)

    def _force(self) -> None:
        self._forced.set()
        for job in self._running.values():
            job.stop(Stop.SHUTDOWN, graceful=False)

    async def _drain(self) -> None:
        """Wait for running jobs, up to the grace period; then stop them and wait again."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self.config.shutdown_timeout_s
        while True:
            pending = {task for task in self._tasks if not task.done()}
            if not pending:
                return
            if self._forced.is_set() or loop.time() >= deadline:
                break
            forced = asyncio.create_task(self._forced.wait())
            await asyncio.wait({*pending, forced}, timeout=deadline - loop.time(),
                               return_when=asyncio.FIRST_COMPLETED)
            forced.cancel()
        if not self._forced.is_set():
            log.warning("agent_grace_over", jobs=sorted(self._running))
            self._force()
        await asyncio.gather(*pending, return_exceptions=True)

    async def _poll(self, poller: _Poller) -> None:
        entry = poller.entry
        with structlog.contextvars.bound_contextvars(runner=entry.name):
            while not self._stopping.is_set():
                await self._slots.acquire()
                if poller.limit is not None:
                    await poller.limit.acquire()
                took = False
                try:
                    took = await self._ask(poller)
                finally:
                    if not took:
                        self._release(poller)
                if took:
                    continue
                wait = self.config.check_interval_s
                if poller.failures:
                    wait = self._backoff(poller)
                with contextlib.suppress(TimeoutError):  # not wait_for: see tracesend.py
                    async with asyncio.timeout(wait):
                        await self._stopping.wait()

    def _backoff(self, poller: _Poller) -> float:
        if poller.refused:
            return jittered(UNHEALTHY_BACKOFF_S)
        ceiling = min(ERROR_BACKOFF_MAX_S,
                      self.config.check_interval_s * 2 ** min(poller.failures, 6))
        return jittered(ceiling)

    async def _ask(self, poller: _Poller) -> bool:
        """One job request; True if a job was taken (its task now owns the slots)."""
        try:
            async with poller.token_lock:
                entry = poller.entry
                doc, marker = await poller.client.request_job(
                    entry.token, self.config.system_id, poller.last_update)
        except CoordinatorError as exc:
            poller.failures += 1
            self.metrics.healthy = False
            log.warning("job_request_failed", error=str(exc), failures=poller.failures)
            poller.refused = exc.status == 403
            return False
        poller.failures = 0
        poller.refused = False
        self.metrics.healthy = True
        if marker:
            poller.last_update = marker
        if doc is None:
            return False
        try:
            payload = parse_payload(doc)
        except PayloadError as exc:
            log.error("job_payload_refused", error=str(exc))
            await self._refuse(poller, doc, str(exc))
            return False
        slot = self._slot_ids.pop(0) if self._slot_ids else 0
        task = asyncio.create_task(self._job(poller, payload, slot))
        self._tasks.add(task)
        poller.jobs.add(task)
        task.add_done_callback(self._tasks.discard)
        task.add_done_callback(poller.jobs.discard)
        return True

    def _rotation(self, poller: _Poller) -> TokenRotation:
        def switch(entry: RunnerEntry) -> None:
            poller.entry = entry
            poller.last_update = None  # gitlab-runner keeps it per token, as Workhorse does

        return TokenRotation(path=self.config.path, client=poller.client, clock=self.clock,
                             entry=lambda: poller.entry, switch=switch,
                             lock=poller.token_lock, stopping=self._stopping)

    async def _job(self, poller: _Poller, payload: JobPayload, slot: int) -> None:
        entry = poller.entry
        run_id = f"agent{payload.id}-{os.urandom(3).hex()}"
        jobdir, lock = jobdirs.create(self.root / "jobs", payload.id, run_id)
        channel = poller.client.channel(payload.id, payload.token)
        started = time.monotonic()
        with structlog.contextvars.bound_contextvars(job_id=payload.id):
            try:
                env = self._job_env(entry)
                write_record(jobdir, payload, entry.url, entry.name, tenant_store(
                    env.settings, safe_name(tenant_for(env.instance, payload))))
                job = JobRun(env, channel, payload, jobdir, slot)
                self._running[payload.id] = job
                self.metrics.running += 1
                if self._forced.is_set():
                    job.stop(Stop.SHUTDOWN, graceful=False)
                log.info("job_started", name=payload.name, project=payload.project_path)
                verdict = await job.run()
                state = "not_accepted" if verdict is None else (
                    "canceled" if job.stopped is Stop.CANCELED else verdict.state)
                self.metrics.finished[state] += 1
                log.info("job_finished", state=state,
                         seconds=round(time.monotonic() - started, 3))
            except Exception:
                log.exception("job_crashed")
                self.metrics.finished["error"] += 1
            finally:
                if self._running.pop(payload.id, None) is not None:
                    self.metrics.running -= 1
                await self._remove_jobdir(jobdir.root)
                os.close(lock)
                if not self._running and self._idle is None:
                    self._idle = asyncio.create_task(self._helper_idle())
                self._slot_ids.append(slot)
                self._release(poller)

    async def _remove_jobdir(self, path: Path) -> None:
        """The job's directory: ours, but for what job slices own, which the helper removes."""
        await asyncio.to_thread(shutil.rmtree, path, True)
        if path.exists():
            if self._helper is None or not self._helper.alive():
                self._helper = NamespaceHelper.started()
            await self._helper.remove(path)

    async def _helper_idle(self) -> None:
        """Stop the file helper once no job has needed it for a while."""
        await asyncio.sleep(HELPER_IDLE_S)
        if not self._running:
            self._idle = None
            await self._close_helper()

    async def _close_helper(self) -> None:
        helper, self._helper = self._helper, None
        if helper is not None:
            await helper.close()

    def _release(self, poller: _Poller) -> None:
        self._slots.release()
        if poller.limit is not None:
            poller.limit.release()

    def _job_env(self, entry: RunnerEntry) -> JobEnv:
        if self._idle is not None:
            self._idle.cancel()
            self._idle = None
        if self._helper is not None and not self._helper.alive():
            log.warning("namespace_helper_restarted")  # it died (OOM killer, podman upgrade)
            self._helper = None
        if self._helper is None:
            self._helper = NamespaceHelper.started()
        settings = replace(self.settings, runtime=entry.runtime or self.settings.runtime,
                           network=entry.network or self.settings.network,
                           limits=entry.limits.capped(self.settings.limits))
        return JobEnv(settings=settings, runner_name=entry.name,
                      instance=urlsplit(entry.url).netloc or entry.url,
                      system_id=self.config.system_id, short_token=short_token(entry.token),
                      default_image=entry.image, output_limit=entry.output_limit_kib * 1024,
                      cache_root=self.root / "cache", helper=self._helper)

    async def _refuse(self, poller: _Poller, doc: dict[str, object], why: str) -> None:
        """A payload we cannot read: fail the job at once so it does not hang."""
        job_id, token = doc.get("id"), doc.get("token")
        if not isinstance(job_id, int) or not isinstance(token, str):
            return
        channel = poller.client.channel(job_id, token)
        with contextlib.suppress(CoordinatorError):
            await channel.update("running")
            await channel.update("failed", failure_reason="runner_system_failure")
        log.error("job_refused", job_id=job_id, why=why)

    async def _recover(self) -> None:
        by_name = {p.entry.name: p for p in self._pollers}

        def channel_for(runner: str, job_id: int, token: str) -> JobChannel | None:
            poller = by_name.get(runner)
            return None if poller is None else poller.client.channel(job_id, token)

        runtimes = {p.entry.name: p.entry.runtime or self.settings.runtime
                    for p in self._pollers}
        reported = await recover(self.root / "jobs", channel_for, runtimes)
        if reported:
            log.warning("recovered_crashed_jobs", jobs=reported)
