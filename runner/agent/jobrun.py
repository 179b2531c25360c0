"""One GitLab job, start to finish: accept, fetch sources, run, upload, report.

The job runs through the very executor ``runner exec`` uses (``execute``),
as a one-job pipeline translated from the payload; only the edges differ:
sources come from a fresh checkout, artifacts of earlier stages from
GitLab, the log goes to GitLab through the trace sender, and cancelling is
the coordinator's to ask for. Whatever happens, the job ends with one
final state sent and its directory gone.
"""

from __future__ import annotations

import asyncio
import dataclasses
import enum
import json
import os
from dataclasses import dataclass
from pathlib import Path

import structlog

from runner import __version__
from runner.agent.artifacts import download_dependencies, upload_artifacts
from runner.agent.checkout import checkout
from runner.agent.jobdir import JobDir
from runner.agent.trace import TraceBuffer
from runner.agent.traceconsole import TraceConsole
from runner.agent.tracesend import TraceSender
from runner.coordinator.base import JobChannel, RemoteState
from runner.coordinator.gitlab.failures import failure_reason
from runner.coordinator.gitlab.payload import JobPayload, Variable
from runner.coordinator.gitlab.tomodel import artifact_elements, masked_values, to_pipeline
from runner.engine.argv import CONTROL_DIR, StoreSpec
from runner.engine.namespace import NamespaceHelper
from runner.errors import CoordinatorError, RunnerError
from runner.execute.interrupt import Interruption
from runner.execute.layout import safe_name
from runner.execute.results import JobResult, JobStatus, Settings
from runner.execute.run import execute
from runner.pipeline.model import DEFAULT_TIMEOUT_S, builds_dir

log = structlog.get_logger(__name__)

FINAL_UPDATE_ATTEMPTS = 10
"""gitlab-runner's ``job_status_final_update_retry_limit`` default."""


class Stop(enum.Enum):
    """Why the job is being stopped from outside, if it is."""

    NONE = "none"
    CANCELED = "canceled"
    """The coordinator asked (Job-Status canceling or canceled)."""
    SHUTDOWN = "shutdown"
    """The agent is shutting down and its grace period is over."""


@dataclass(frozen=True)
class JobEnv:
    """What a job needs from the agent around it."""

    settings: Settings
    """Host-wide settings; each job gets its own copy with its own paths."""
    runner_name: str
    instance: str
    """The coordinator's host name: with the project id, it names the job's tenant."""
    system_id: str
    short_token: str
    default_image: str
    output_limit: int
    cache_root: Path
    helper: NamespaceHelper | None = None
    """The agent's one namespace helper, shared by its jobs (None: each run starts its own)."""


@dataclass(frozen=True)
class Verdict:
    """The final state GitLab gets."""

    state: str
    failure_reason: str | None = None
    exit_code: int | None = None


class JobRun:
    """Runs one assigned job; ``stop`` cancels it gracefully or at once."""

    def __init__(self, env: JobEnv, channel: JobChannel, payload: JobPayload, jobdir: JobDir,
                 slot: int) -> None:
        self.env = env
        self.channel = channel
        self.payload = payload
        self.dir = jobdir
        self.slot = slot
        self.interruption = Interruption()
        self.stopped = Stop.NONE
        self.aborted = False
        """The server said the job is over (canceled, failed, or not ours): no final update."""
        self.trace = TraceBuffer(jobdir.trace, masked_values(payload),
                                 limit=env.output_limit,
                                 token_prefixes=payload.token_mask_prefixes)
        self.console = TraceConsole(self.trace)
        self.sender = TraceSender(channel, self.trace, self._remote)

    def stop(self, why: Stop, *, graceful: bool) -> None:
        """Stop the job: after_script still runs if ``graceful``."""
        if self.stopped is Stop.NONE:
            self.stopped = why
        self.interruption.canceling.set()
        if not graceful:
            self.interruption.killing.set()

    async def run(self) -> Verdict | None:
        """Accept the job, run it, report it; the verdict sent, or None if not accepted."""
        try:
            ack = await self.channel.update("running")
        except CoordinatorError as exc:
            log.warning("job_accept_failed", error=str(exc))
            return None
        if ack.state in (RemoteState.ABORT, RemoteState.GONE):
            log.info("job_gone_before_start", state=ack.state.value)
            return None
        if ack.interval_s is not None:
            self.sender.interval_s = ack.interval_s
        self.sender.start()
        verdict = Verdict("failed", "runner_system_failure")
        try:
            verdict = await self._work()
        except RunnerError as exc:
            self.console.line(f"ERROR: {exc}")
        except Exception as exc:
            log.exception("job_internal_error")
            self.console.line(f"ERROR: runner failed internally ({type(exc).__name__}); "
                              "see the agent's log")
        finally:
            verdict = self._final_words(verdict)
            self.trace.flush()
            await self.sender.finish()
            if not self.aborted and not self.sender.gone:
                await self._report(verdict)
            self.trace.close()
        return verdict

    async def _work(self) -> Verdict:
        payload, env = self.payload, self.env
        self.console.line(f"Running with runner {__version__} on {env.runner_name} "
                          f"{env.system_id}, rootless podman")
        for problem in payload.unsupported:
            self.console.line(f"WARNING: {problem}")
        self.console.section("get_sources", "Getting source from Git repository")
        await checkout(payload.git, self.dir.checkout, self.trace.write)
        self.console.section("get_sources", end=True)
        layers: list[Path] = []
        if payload.dependencies:
            self.console.section("download_artifacts", "Downloading artifacts")
            layers = await download_dependencies(self.channel, payload.dependencies,
                                                 self.dir.deps, self.console.line,
                                                 max_bytes=env.settings.max_result_bytes)
            self.console.section("download_artifacts", end=True)
        if self.interruption.canceling.is_set():
            return Verdict("failed", failure_reason("job_canceled", payload.failure_reasons))
        runner_vars = self._runner_vars()
        pipeline = to_pipeline(payload, self.dir.checkout, runner_vars=runner_vars,
                               default_image=env.default_image, file_path=_file_path)
        for note in pipeline.notes:
            self.console.line(f"WARNING: {note}")
        settings = dataclasses.replace(
            env.settings, concurrency=1, color=True, state_dir=self.dir.state,
            cache_root=env.cache_root, run_id=self.dir.run_id, tenant=self._tenant(),
            project_dir=self._project_dir(), extra_layers=tuple(layers), whole_tree=True,
            recheck_private_images=True, keep_after_cancel=True)
        self.console.section("step_script", "Executing the job script")
        results, _ = await execute(pipeline, settings, self.console, {},
                                   interruption=self.interruption, helper=env.helper)
        self.console.section("step_script", end=True)
        result = results[0]
        elements = artifact_elements(payload, self.dir.checkout, runner_vars=runner_vars,
                                     file_path=_file_path)
        # After a graceful cancel the job goes on as a failed one, as in gitlab-runner: its
        # on_failure/always artifacts are uploaded. A kill (hard cancel, shutdown) ends it here.
        if elements and not self.interruption.killing.is_set():
            self.console.section("upload_artifacts", "Uploading artifacts")
            await upload_artifacts(self.channel, elements,
                                   self.dir.state / "artifacts" / safe_name(pipeline.jobs[0].name),
                                   result.status, scratch=self.dir.uploads,
                                   say=self.console.line)
            self.console.section("upload_artifacts", end=True)
        return self._verdict(result)

    def _verdict(self, result: JobResult) -> Verdict:
        accepted = self.payload.failure_reasons
        if result.status is JobStatus.SUCCESS:
            return Verdict("success")
        if result.status is JobStatus.CANCELED:
            return Verdict("failed", failure_reason("job_canceled", accepted))
        if result.status is JobStatus.TIMED_OUT:
            return Verdict("failed", failure_reason("job_execution_timeout", accepted),
                           result.exit_code)
        if (kind := SYSTEM_NOTES.get(result.note)) is not None:
            return Verdict("failed", failure_reason(kind, accepted))
        return Verdict("failed", failure_reason("script_failure", accepted), result.exit_code)

    def _final_words(self, verdict: Verdict) -> Verdict:
        """The last trace line, and the verdict as the reason for stopping decides it."""
        if self.stopped is Stop.SHUTDOWN:
            self.console.line("ERROR: Job failed: the runner was shut down while the job ran")
            return Verdict("failed", failure_reason("runner_system_failure",
                                                    self.payload.failure_reasons))
        if verdict.state == "success":
            self.console.line("Job succeeded")
        elif self.stopped is Stop.CANCELED:
            self.console.line("ERROR: Job failed: canceled")
        elif verdict.exit_code:
            self.console.line(f"ERROR: Job failed: exit code {verdict.exit_code}")
        else:
            self.console.line(f"ERROR: Job failed: {verdict.failure_reason}")
        return verdict

    async def _report(self, verdict: Verdict) -> None:
        """The final ``PUT``, repeated while GitLab says 202 (trace still being stored)."""
        for attempt in range(1, FINAL_UPDATE_ATTEMPTS + 1):
            try:
                ack = await self.channel.update(
                    verdict.state, failure_reason=verdict.failure_reason,
                    exit_code=verdict.exit_code, checksum=self.trace.checksum(),
                    bytesize=self.trace.size)
            except CoordinatorError as exc:
                log.warning("final_update_failed", attempt=attempt, error=str(exc))
                await asyncio.sleep(min(2.0 ** attempt, 60.0))
                continue
            if ack.done:
                log.info("job_reported", state=verdict.state, reason=verdict.failure_reason)
                return
            if ack.reset:
                log.warning("trace_reset_requested")
                self.sender.reset()
                await self.sender.finish()
                continue
            await asyncio.sleep(ack.interval_s or 1.0)
        log.error("final_update_gave_up", state=verdict.state)

    def _remote(self, state: RemoteState) -> None:
        """What the trace sender heard from the server about this job."""
        if state is RemoteState.CANCELING and not self.interruption.canceling.is_set():
            log.info("job_cancel_requested", graceful=True)
            self.stop(Stop.CANCELED, graceful=True)
        elif state in (RemoteState.ABORT, RemoteState.GONE) and not self.aborted:
            log.info("job_aborted_remotely", state=state.value)
            self.aborted = True
            self.stop(Stop.CANCELED, graceful=False)

    def _runner_vars(self) -> list[tuple[str, str]]:
        """The variables gitlab-runner adds to every job (GitLab sends the rest)."""
        payload, env = self.payload, self.env
        image = payload.image.name if payload.image is not None else env.default_image
        return [
            ("CI_BUILDS_DIR", "/builds"),
            ("CI_PROJECT_DIR", self._project_dir()),
            ("CI_SERVER", "yes"),
            ("CI_RUNNER_VERSION", __version__),
            ("CI_RUNNER_REVISION", "unknown"),
            ("CI_RUNNER_EXECUTABLE_ARCH", "linux/amd64"),
            ("CI_RUNNER_SHORT_TOKEN", env.short_token),
            ("CI_CONCURRENT_ID", str(self.slot)),
            ("CI_CONCURRENT_PROJECT_ID", str(self.slot)),
            ("CI_JOB_TIMEOUT", str(int(payload.timeout_s or DEFAULT_TIMEOUT_S))),
            ("CI_JOB_IMAGE", image),
            ("CI_DISPOSABLE_ENVIRONMENT", "true"),
        ]

    def _project_dir(self) -> str:
        return builds_dir(self.payload.project_path, f"project-{self.payload.project_id}")

    def _tenant(self) -> str:
        return tenant_for(self.env.instance, self.payload)


SYSTEM_NOTES = {
    "container ended unexpectedly": "runner_system_failure",
    "workspace files could not be copied": "runner_system_failure",
    "container did not start": "runner_system_failure",
    "image could not be fetched": "image_pull_failure",
}
"""The executor's notes on failures that are not the script's, and GitLab's reason for each
(``image_pull_failure`` falls back to ``runner_system_failure`` on older GitLab)."""


def tenant_for(instance: str, payload: JobPayload) -> str:
    """Caches and image stores are per GitLab instance and project."""
    return f"gitlab-{instance}-{payload.project_id}"


def _file_path(variable: Variable) -> str:
    """Where the executor puts a file variable's file in the container (``job.py``)."""
    kind = "secret" if variable.masked else "var"
    return f"{CONTROL_DIR}/{kind}-{safe_name(variable.key)}"


def write_record(jobdir: JobDir, payload: JobPayload, url: str, runner: str,
                 store: StoreSpec | None = None) -> None:
    """What crash recovery needs to report this job failed: kept 0600 beside its files.

    ``store`` is the project's image store, where its containers may be too.
    """
    record: dict[str, object] = {"id": payload.id, "token": payload.token, "url": url,
                                 "runner": runner, "run_id": jobdir.run_id}
    if store is not None:
        record["store"] = store.to_json()
    fd = os.open(jobdir.record, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o600)
    with os.fdopen(fd, "w") as out:
        json.dump(record, out)
