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

SIGHUP reads the config again (``reload.py`` says what changes): runners
added start polling, runners removed stop polling, and ``concurrent`` and
limits apply to the next jobs; running jobs are never touched. A config
that does not load changes nothing.

Each runner whose token expires has its token reset at 75 % of its
lifetime (``tokens.py``); the poller switches to the new token at once, and
running jobs are not affected (they use their own job tokens).
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import time
from dataclasses import replace
from urllib.parse import urlsplit

import structlog

from runner.agent import jobdir as jobdirs
from runner.agent.config import AgentConfig, RunnerEntry
from runner.agent.helperkeeper import HelperKeeper
from runner.agent.jobrun import JobEnv, JobRun, Stop, tenant_for, write_record
from runner.agent.metrics import Metrics
from runner.agent.pollers import Poller, short_token
from runner.agent.recovery import recover
from runner.agent.reload import plan
from runner.agent.slots import Slots, free_slot_id
from runner.agent.tokens import Clock, SystemClock, TokenRotation
from runner.coordinator.base import JobChannel
from runner.coordinator.gitlab.client import GitLabClient
from runner.coordinator.gitlab.payload import JobPayload, PayloadError, parse_payload
from runner.errors import CoordinatorError
from runner.execute.layout import safe_name
from runner.execute.results import Settings
from runner.execute.run import tenant_store

__all__ = ["Agent", "short_token"]

log = structlog.get_logger(__name__)


class Agent:
    """The service; ``run`` returns when it has shut down."""

    def __init__(self, config: AgentConfig, settings: Settings, *,
                 clock: Clock | None = None) -> None:
        self.config = config
        self.clock = clock or SystemClock()
        self.settings = settings
        self.metrics = Metrics(system_id=config.system_id, concurrent=config.concurrent)
        self.root = config.work_root()
        self._slots = Slots(config.concurrent)
        self._slot_ids: set[int] = set()
        """``CI_CONCURRENT_ID`` of the running jobs."""
        self._stopping = asyncio.Event()
        self._forced = asyncio.Event()
        self._running: dict[int, JobRun] = {}
        self._tasks: set[asyncio.Task[None]] = set()
        self._helper = HelperKeeper()
        self._pollers = [self._poller(entry) for entry in config.runners]
        self._retired: list[Poller] = []
        """Pollers of runners a reload removed: their clients close at shutdown, after
        their last jobs (which report through them)."""
        self._reloading: asyncio.Task[None] | None = None
        self._reload_again = False

    def _limit_metric(self, entry: RunnerEntry, limit: int | None) -> None:
        self.metrics.set_limit(self.metrics.runner_labels(short_token(entry.token),
                                                          entry.name), limit)

    def _poller(self, entry: RunnerEntry) -> Poller:
        self._limit_metric(entry, entry.limit)
        return Poller(entry, GitLabClient(entry.url, ca_file=entry.ca_file,
                                          observer=self.metrics.observe), Slots(entry.limit))

    def _start(self, poller: Poller) -> None:
        poller.poll_task = asyncio.create_task(self._poll(poller))
        poller.rotation_task = asyncio.create_task(self._rotation(poller).run())

    async def run(self) -> None:
        """Serve until told to stop, then stop as described in the module docstring."""
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, self.request_stop)
        loop.add_signal_handler(signal.SIGHUP, self.request_reload)
        server = None
        try:
            await self._recover()
            if self.config.listen_address:
                from runner.agent.http import serve  # noqa: PLC0415

                server = await serve(self.metrics, self.config.listen_address)
            log.info("agent_started", runners=[p.entry.name for p in self._pollers],
                     concurrent=self.config.concurrent, data_dir=str(self.root))
            for poller in self._pollers:
                self._start(poller)
            await self._stopping.wait()
            if self._reloading is not None:  # it may wait for a long poll: not worth it
                self._reloading.cancel()
                await asyncio.gather(self._reloading, return_exceptions=True)
            polls = [p.poll_task for p in self._pollers if p.poll_task is not None]
            for task in polls:
                task.cancel()
            await asyncio.gather(*polls, return_exceptions=True)
            await self._drain()
            await self._end_rotations([p.rotation_task for p in self._pollers
                                       if p.rotation_task is not None])
        finally:
            for sig in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
                loop.remove_signal_handler(sig)
            for poller in (*self._pollers, *self._retired):
                await poller.client.close()
            if server is not None:
                await server.cleanup()
            await self._helper.close()
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

    def request_reload(self) -> None:
        """SIGHUP: read the config again. One reload at a time: a signal during one reads
        the file once more after it, so the last edit always takes effect."""
        if self._stopping.is_set():
            log.info("config_reload_skipped", why="the agent is stopping")
            return
        previous = self._reloading
        if previous is not None and not previous.done():
            if not self._reload_again:
                self._reload_again = True
                self._reloading = asyncio.create_task(self._reload_after(previous))
            return
        self._reloading = asyncio.create_task(self._reload())

    async def _reload_after(self, previous: asyncio.Task[None]) -> None:
        await asyncio.gather(previous, return_exceptions=True)
        self._reload_again = False
        await self._reload()

    async def _reload(self) -> None:
        """Load and check the file, then apply ``reload.plan``; a bad file changes nothing."""
        from runner.agent import config as agentconfig  # noqa: PLC0415
        from runner.errors import RunnerError  # noqa: PLC0415

        try:
            new = await asyncio.to_thread(agentconfig.load, self.config.path)
        except RunnerError as exc:
            log.error("config_reload_refused", config=str(self.config.path), error=str(exc),
                      hint="the agent goes on with the config it had; fix the file and "
                      "send SIGHUP again (`runner agent --check-config` checks it)")
            return
        # The pollers' entries, not the config read at start: a token reset since then
        # switched a poller to its new token (and saved it in the file).
        live = replace(self.config, runners=tuple(p.entry for p in self._pollers))
        change = plan(live, new)
        if change.needs_restart:
            log.warning("config_reload_needs_restart", keys=list(change.needs_restart))
        self.config = change.config
        self._slots.resize(change.config.concurrent)
        self.metrics.concurrent = change.config.concurrent
        by_key = {(p.entry.name, p.entry.url): p for p in self._pollers}
        for entry in change.removed:
            poller = by_key[(entry.name, entry.url)]
            self._pollers.remove(poller)
            self._retired.append(poller)
            async with poller.token_lock:  # not while a job request or token reset is out
                for task in (poller.poll_task, poller.rotation_task):
                    if task is not None:
                        task.cancel()
            self._limit_metric(poller.entry, None)
        for entry in change.changed:
            poller = by_key[(entry.name, entry.url)]
            async with poller.token_lock:  # never between a job request and its answer
                if entry.token != poller.entry.token:
                    poller.last_update = None
                self._limit_metric(poller.entry, None)
                poller.entry = entry
                poller.limit.resize(entry.limit)
                self._limit_metric(entry, entry.limit)
        for entry in change.added:
            poller = self._poller(entry)
            self._pollers.append(poller)
            self._start(poller)
        log.info("config_reloaded", runners=[p.entry.name for p in self._pollers],
                 added=[r.name for r in change.added],
                 removed=[r.name for r in change.removed],
                 changed=[r.name for r in change.changed],
                 concurrent=change.config.concurrent, running=sorted(self._running))

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

    async def _poll(self, poller: Poller) -> None:
        entry = poller.entry
        with structlog.contextvars.bound_contextvars(runner=entry.name):
            while not self._stopping.is_set():
                await self._slots.acquire()
                try:
                    await poller.limit.acquire()
                except asyncio.CancelledError:  # a reload removed the runner meanwhile
                    self._slots.release()
                    raise
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
                    wait = poller.backoff(self.config.check_interval_s)
                with contextlib.suppress(TimeoutError):  # not wait_for: see tracesend.py
                    async with asyncio.timeout(wait):
                        await self._stopping.wait()

    async def _ask(self, poller: Poller) -> bool:
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
            await poller.refuse(doc, str(exc))
            return False
        slot = free_slot_id(self.config.concurrent, self._slot_ids)
        self._slot_ids.add(slot)
        task = asyncio.create_task(self._job(poller, payload, slot))
        self._tasks.add(task)
        poller.jobs.add(task)
        task.add_done_callback(self._tasks.discard)
        task.add_done_callback(poller.jobs.discard)
        return True

    def _rotation(self, poller: Poller) -> TokenRotation:
        def switch(entry: RunnerEntry) -> None:
            poller.entry = entry
            poller.last_update = None  # gitlab-runner keeps it per token, as Workhorse does

        return TokenRotation(path=self.config.path, client=poller.client, clock=self.clock,
                             entry=lambda: poller.entry, switch=switch,
                             lock=poller.token_lock, stopping=self._stopping)

    async def _job(self, poller: Poller, payload: JobPayload, slot: int) -> None:
        entry = poller.entry
        run_id = f"agent{payload.id}-{os.urandom(3).hex()}"
        jobdir, lock = jobdirs.create(self.root / "jobs", payload.id, run_id)
        channel = poller.client.channel(payload.id, payload.token)
        started = time.monotonic()
        labels = self.metrics.runner_labels(short_token(entry.token), entry.name)
        with structlog.contextvars.bound_contextvars(job_id=payload.id):
            try:
                env = self._job_env(entry)
                write_record(jobdir, payload, entry.url, entry.name, tenant_store(
                    env.settings, safe_name(tenant_for(env.instance, payload))))
                job = JobRun(env, channel, payload, jobdir, slot)
                self._running[payload.id] = job
                self.metrics.job_started(labels)
                if self._forced.is_set():
                    job.stop(Stop.SHUTDOWN, graceful=False)
                log.info("job_started", name=payload.name, project=payload.project_path)
                verdict = await job.run()
                state = "not_accepted" if verdict is None else (
                    "canceled" if job.stopped is Stop.CANCELED else verdict.state)
                seconds = time.monotonic() - started
                self.metrics.job_finished(labels, entry.url, state, seconds,
                                          None if verdict is None else verdict.failure_reason)
                log.info("job_finished", state=state, seconds=round(seconds, 3))
            except Exception:
                log.exception("job_crashed")
                self.metrics.job_finished(labels, entry.url, "error",
                                          time.monotonic() - started, "runner_system_failure")
            finally:
                if self._running.pop(payload.id, None) is not None:
                    self.metrics.job_ended(labels)
                await self._helper.remove(jobdir.root)
                os.close(lock)
                if not self._running:
                    self._helper.no_jobs()
                self._slot_ids.discard(slot)
                self._release(poller)

    def _release(self, poller: Poller) -> None:
        self._slots.release()
        poller.limit.release()

    def _job_env(self, entry: RunnerEntry) -> JobEnv:
        settings = replace(self.settings, runtime=entry.runtime or self.settings.runtime,
                           network=entry.network or self.settings.network,
                           limits=entry.limits.capped(self.settings.limits))
        return JobEnv(settings=settings, runner_name=entry.name,
                      instance=urlsplit(entry.url).netloc or entry.url,
                      system_id=self.config.system_id, short_token=short_token(entry.token),
                      default_image=entry.image, output_limit=entry.output_limit_kib * 1024,
                      cache_root=self.root / "cache", helper=self._helper.for_job())

    async def _recover(self) -> None:
        by_name = {p.entry.name: p for p in self._pollers}

        def channel_for(runner: str, job_id: int, token: str) -> JobChannel | None:
            poller = by_name.get(runner)
            return None if poller is None else poller.client.channel(job_id, token)

        reported = await recover(self.root / "jobs", channel_for, {
            name: p.entry.runtime or self.settings.runtime for name, p in by_name.items()})
        if reported:
            log.warning("recovered_crashed_jobs", jobs=reported)
