"""After a crash: remove what dead jobs left and tell GitLab they failed.

An agent that is SIGKILLed (or loses its machine) cannot report its jobs;
GitLab would show them running until its own timeout. At start the agent
looks for job directories nobody holds the lock of, removes their
containers and pods (found by the run label), sends the rest of the trace
with a last line, reports ``failed``/``runner_system_failure``, and deletes
the directory with the namespace helper (job slices own files in it).
"""

from __future__ import annotations

import contextlib
import json
import os
from collections.abc import Callable, Mapping
from pathlib import Path

import structlog

from runner.agent.jobdir import JobDir, abandoned
from runner.agent.trace import TraceBuffer
from runner.agent.tracesend import TraceSender
from runner.coordinator.base import JobChannel
from runner.engine import runc
from runner.engine.argv import StoreSpec
from runner.engine.namespace import NamespaceHelper
from runner.engine.podman import remove_run_containers
from runner.engine.pods import remove_run_pods
from runner.errors import CoordinatorError, RunnerError

log = structlog.get_logger(__name__)

ChannelFor = Callable[[str, int, str], JobChannel | None]
"""(runner name, job id, job token) -> a channel to report through, None if unknown runner."""


async def recover(jobs_root: Path, channel_for: ChannelFor,
                  runtime: Mapping[str, str | None]) -> list[int]:
    """Clean up after every dead job under ``jobs_root``; the ids reported failed."""
    reported: list[int] = []
    dead = abandoned(jobs_root)
    if not dead:
        return reported
    helper = NamespaceHelper()
    helper.launch()
    try:
        for jobdir, fd in dead:
            try:
                job_id = await _recover_one(jobdir, channel_for, runtime, helper)
                if job_id is not None:
                    reported.append(job_id)
            except RunnerError as exc:
                log.warning("recovery_failed", dir=str(jobdir.root), error=str(exc))
            finally:
                os.close(fd)
    finally:
        await helper.close()
    return reported


async def _recover_one(jobdir: JobDir, channel_for: ChannelFor,
                       runtime: Mapping[str, str | None], helper: NamespaceHelper) -> int | None:
    record = _read_record(jobdir.record)
    job_id: int | None = None
    if record is not None:
        job_id = int(str(record["id"]))
        run_id = str(record.get("run_id", jobdir.run_id))
        engine_runtime = runtime.get(str(record.get("runner", "")))
        removed: list[str] = []
        pods: list[str] = []
        for store in (None, *_store(record)):
            try:  # a store podman cannot read must not keep GitLab from hearing of the job
                removed += await remove_run_containers(run_id, engine_runtime, store)
                pods += await remove_run_pods(run_id, engine_runtime, (store,))
            except RunnerError as exc:
                log.warning("recovery_store_failed", job_id=job_id, error=str(exc),
                            store=None if store is None else str(store.root))
        try:  # the runc engine's containers of the run: runc, not podman, knows them
            removed += await runc.remove_run_containers(await helper.pid(),
                                                        runc.state_root(os.environ), run_id)
        except RunnerError as exc:
            log.warning("recovery_runc_failed", job_id=job_id, error=str(exc))
        log.info("recovered_job", job_id=job_id, containers=removed, pods=pods)
        channel = channel_for(str(record.get("runner", "")), job_id, str(record["token"]))
        if channel is not None:
            await _report_failed(jobdir, channel)
    await helper.remove(jobdir.root)
    return job_id


async def _report_failed(jobdir: JobDir, channel: JobChannel) -> None:
    """Send the trace the dead agent had not sent, a last line, and the failure."""
    try:
        trace = TraceBuffer.reopen(jobdir.trace)
    except OSError:
        return
    try:
        trace.write(b"\n\x1b[31;1mERROR: Job failed (system failure): the runner agent "
                    b"stopped while this job ran; its containers were removed when it "
                    b"restarted\x1b[0;m\n")
        trace.flush()
        sender = TraceSender(channel, trace, lambda _state: None)
        with contextlib.suppress(CoordinatorError):
            await sender.finish(deadline_s=30.0)
            await channel.update("failed", failure_reason="runner_system_failure",
                                 checksum=trace.checksum(), bytesize=trace.size)
    finally:
        trace.close()


def _store(record: Mapping[str, object]) -> list[StoreSpec]:
    """The project's image store the job may have had containers in (none if unknown)."""
    store = StoreSpec.from_json(record.get("store"))
    return [store] if store is not None and store.root.is_dir() else []  # unused: none there


def _read_record(path: Path) -> dict[str, object] | None:
    try:
        with path.open(encoding="utf-8") as source:
            doc = json.load(source)
    except (OSError, ValueError):
        return None
    if not isinstance(doc, dict) or "id" not in doc or "token" not in doc:
        return None
    return doc
