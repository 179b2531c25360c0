"""Running a stepped job (GitHub's): one process per step, each decided by the dialect.

The job's container is started and its workspace prepared exactly as for a
script job; then, instead of one script section, the dialect's session is
asked for one step at a time (``runner.pipeline.steps``). A ``run`` step
becomes a fresh directory in the job's control dir holding the step's script,
a small wrapper (working directory, environment, ``PATH``, shell) and empty
environment files; the supervisor runs the wrapper as it runs any section, so
a step costs no ``podman exec``. What the step wrote to its environment files
is read back through the namespace helper (no link followed, size capped) and
handed to the session, which decides the next step. Built-in actions
(artifacts, caches, checkout) are carried out here on the host.
"""

from __future__ import annotations

import asyncio
import dataclasses
import os
import time
from collections.abc import Awaitable, Callable, Mapping
from pathlib import Path
from typing import Any

from runner.engine.argv import CONTROL_DIR
from runner.engine.boot import step_wrapper
from runner.engine.podman import JobContainer
from runner.execute import ghactions
from runner.execute.context import Outcome, RunContext
from runner.execute.diskwatch import DiskWatch
from runner.execute.interrupt import Interruption
from runner.execute.layout import safe_name
from runner.execute.results import JobStatus
from runner.execute.section import run_section
from runner.logs.joblog import JobLog
from runner.pipeline.model import Job, RetryOn
from runner.pipeline.steps import (
    ENV_FILES,
    Checkout,
    DownloadArtifact,
    JobFacts,
    RestoreCache,
    RunScript,
    SaveCache,
    StepEnd,
    StepPlan,
    StepSession,
    StepStatus,
    UploadArtifact,
)

MAX_FILE_BYTES = 1 << 20
"""What one step may write to one environment file (GitHub caps outputs at 1 MiB a job)."""
TEMP = "_temp"
"""The job's ``RUNNER_TEMP``, a directory of the control dir."""


class LogMessages:
    """``steps.Messages`` over the job's log; annotations kept for the run's summary."""

    def __init__(self, joblog: JobLog) -> None:
        self.joblog = joblog
        self.annotations: list[str] = []

    def write(self, data: bytes) -> None:
        self.joblog.output(data)

    def group(self, title: str) -> None:
        self.joblog.group(title)

    def end_group(self) -> None:
        self.joblog.end_group()

    def notice(self, text: str) -> None:
        self.joblog.notice(text)

    def add_mask(self, value: str) -> None:
        self.joblog.add_mask(value)

    def annotate(self, level: str, text: str, where: str | None) -> None:
        shown = f"{level}: {where}: {text}" if where else f"{level}: {text}"
        self.annotations.append(self.joblog.masked(shown))
        self.joblog.notice(shown)

    def debug(self, text: str) -> None:
        self.joblog.debug(text)


class SteppedRun:
    """One attempt of a stepped job, in its started container."""

    def __init__(self, ctx: RunContext, job: Job, attempt: int, joblog: JobLog, *,
                 container: JobContainer, pid: int, control: Path,
                 disk: DiskWatch | None, service_ports: Mapping[str, Mapping[str, str]]) -> None:
        self.ctx, self.job, self.attempt, self.joblog = ctx, job, attempt, joblog
        self.container, self.pid, self.disk = container, pid, disk
        self.control = control
        self.messages = LogMessages(joblog)
        self.service_ports = service_ports
        self._count = 0
        self._hashes: dict[tuple[str, ...], str] = {}
        self._session: StepSession | None = None
        self.interruption = Interruption()
        """This job's own: cancelled with the run, or alone when its matrix fails fast."""
        self.interruption.killing = ctx.interruption.killing
        self._failed_at: str | None = None
        """Where the first step that failed the job is written (``ci.yml:12 (step 'Build')``)."""

    async def run(self) -> Outcome:
        """Run every step; keep the job's outputs and its step summary; the outcome."""
        stop = (self.ctx.matrix_stops.get(self.job.group.name)
                if self.job.group is not None else None)
        watch = asyncio.create_task(self._watch(stop)) if stop is not None else None
        mirror = asyncio.create_task(_mirror(self.ctx.interruption.canceling,
                                             self.interruption.canceling))
        try:
            outcome, outputs, summary = await self._steps()
        finally:
            mirror.cancel()
            if watch is not None:
                watch.cancel()
        if (stop is not None and stop.is_set() and outcome.status is JobStatus.CANCELED
                and not self.ctx.interruption.canceling.is_set()):
            outcome = dataclasses.replace(
                outcome, note="fail-fast: another instance of its matrix failed")
        self.ctx.step_outputs[self.job.name] = outputs
        if summary.strip():
            path = self.ctx.layout.run_dir / f"{safe_name(self.job.name)}.summary.md"
            path.write_text(summary, encoding="utf-8")
            self.joblog.notice(f"runner: job summary (GITHUB_STEP_SUMMARY), kept in {path}:")
            for line in summary.rstrip("\n").split("\n"):
                self.joblog.notice(f"  {line}")
        failed_at = self._failed_at if outcome.status is JobStatus.FAILED else None
        if failed_at is not None:
            code = "" if outcome.exit_code is None else f": exit status {outcome.exit_code}"
            self.joblog.notice(f"runner: the job failed at {failed_at}{code}")
        return dataclasses.replace(outcome, annotations=tuple(self.messages.annotations),
                                   failed_at=failed_at)

    async def _watch(self, stop: asyncio.Event) -> None:
        """Cancel this job as a Ctrl-C would once its matrix fails fast."""
        await stop.wait()
        if not self.interruption.canceling.is_set():
            self.joblog.notice("runner: cancelling: another instance of the matrix failed "
                               "(fail-fast)")
            self.interruption.canceling.set()

    async def _steps(self) -> tuple[Outcome, tuple[tuple[str, str], ...], str]:
        """Run every step; the outcome, the job's outputs and its step summary (markdown)."""
        ctx, job = self.ctx, self.job
        program = job.steps
        assert program is not None
        workspace = ctx.layout.project_dir()
        facts = JobFacts(
            needs=ctx.need_results(job), secrets={name: ctx.secrets[name] for name in job.secrets
                                                  if name in ctx.secrets},
            workspace=workspace, temp=f"{CONTROL_DIR}/{TEMP}", attempt=self.attempt,
            run_id=ctx.layout.run_id, env=tuple(ctx.predefined(job)),
            container_id=self.container.spec.name, service_ports=self.service_ports,
            cancelled=self.interruption.canceling.is_set, hash_files=self._hash_files)
        session = self._session = program.session(facts, self.messages)
        await self.ctx.helper.write_dir(
            self.control, TEMP,
            {name: data.decode("utf-8", "replace")
             for name, data in session.setup_files().items()},
            self.container.uid, self.container.gid)
        deadline = time.monotonic() + job.timeout_s
        last_failure: StepEnd | None = None
        timed_out = False
        while (plan := await session.next()) is not None:
            if plan.skipped is not None:
                self.joblog.notice(f"runner: step {plan.name!r} skipped ({plan.skipped})")
                continue
            left = deadline - time.monotonic()
            if left <= 0:
                timed_out = True
                end = StepEnd(StepStatus.CANCELLED, timed_out=True,
                              note=f"the job's time ({job.timeout_s:g}s) is up")
            else:
                self.joblog.notice(f"\u25b6 {plan.name}")
                end = await self._step(plan, left, workspace)
            session.flush()
            self.joblog.end_group()
            self.joblog.end_stream()  # the step's output is over: let out what masking held
            if end.note:
                self.joblog.notice(f"runner: {end.note}")
            if end.status is StepStatus.FAILURE and not plan.continue_on_error:
                last_failure = end
                if self._failed_at is None:
                    where = f"{plan.spot.file}:{plan.spot.line}" if plan.spot else "step"
                    self._failed_at = f"{where} (step {plan.name!r})"
            if end.status is not StepStatus.SUCCESS:
                code = "" if end.exit_code is None else f" (exit {end.exit_code})"
                extra = " (continue-on-error)" if plan.continue_on_error else ""
                self.joblog.notice(f"runner: step {plan.name!r} {end.status.value}{code}{extra}")
            session.ended(plan, end)
        self.joblog.end_stream()
        result = session.job_end()
        return (self._outcome(result.status, last_failure, timed_out), result.outputs,
                session.summary())

    def _outcome(self, status: StepStatus, failure: StepEnd | None, timed_out: bool) -> Outcome:
        if timed_out:
            return Outcome(JobStatus.TIMED_OUT, failure=RetryOn.TIMEOUT)
        if status is StepStatus.SUCCESS:
            return Outcome(JobStatus.SUCCESS, 0)
        if status is StepStatus.CANCELLED:
            return Outcome(JobStatus.CANCELED)
        code = failure.exit_code if failure is not None else None
        return Outcome(JobStatus.FAILED, code, failure=RetryOn.SCRIPT_FAILURE)

    async def _step(self, plan: StepPlan, left: float, workspace: str) -> StepEnd:
        action = plan.action
        timeout = min(left, plan.timeout_s) if plan.timeout_s else left
        if isinstance(action, Checkout) and action.path.strip("/."):
            action = ghactions.checkout_into(action.path)
        if isinstance(action, RunScript):
            return await self._run(plan, action, timeout, workspace)
        where = ghactions.Where(
            helper=self.ctx.helper, pid=self.pid, uid=self.container.uid,
            gid=self.container.gid, workspace=workspace,
            home=dict(plan.env).get("HOME", "/root"), layout=self.ctx.layout,
            joblog=self.joblog, budget=self.ctx.settings.max_result_bytes)
        handler = _BUILTINS.get(type(action))
        if handler is None:
            return StepEnd(StepStatus.FAILURE, note=f"{plan.name}: nothing to run")
        try:
            return await handler(where, action)
        except (OSError, ValueError) as exc:
            return StepEnd(StepStatus.FAILURE, note=f"{plan.name}: {exc}")

    async def _run(self, plan: StepPlan, action: RunScript, timeout: float,
                   workspace: str) -> StepEnd:
        self._count += 1
        name = f"step-{self._count}-{os.urandom(4).hex()}"
        inside = f"{CONTROL_DIR}/{name}"
        body = f"{inside}/script{action.extension}"
        files = {f"script{action.extension}": action.script}
        env_paths = [(var, f"{inside}/{var.lower()}") for var in ENV_FILES]
        files.update({var.lower(): "" for var in ENV_FILES})
        files["run.sh"] = step_wrapper(
            shell=action.shell, fallback=action.fallback, body=body,
            workdir=plan.workdir or workspace, env=[*plan.env, *env_paths], path=plan.path)
        control = self.control
        await self.ctx.helper.write_dir(control, name, files, self.container.uid,
                                        self.container.gid)
        outcome = await run_section(
            self.container, f"{name}/run.sh", self.joblog, timeout_s=timeout,
            cancelable=not self.interruption.canceling.is_set(),
            interruption=self.interruption, grace_s=self.ctx.settings.kill_grace_s,
            disk=self.disk, sink=self._sink)
        written, over = await self.ctx.helper.read_dir(
            control, name, [var.lower() for var in ENV_FILES], MAX_FILE_BYTES)
        for cut in over:
            self.joblog.notice(f"runner: warning: {cut.upper()} is over {MAX_FILE_BYTES} "
                               "bytes; the rest was ignored")
        found = {var: written.get(var.lower(), b"") for var in ENV_FILES}
        return _step_end(outcome, found, timeout)

    def _sink(self, data: bytes) -> None:
        if self._session is not None:
            self._session.output(data)

    async def _hash_files(self, patterns: tuple[str, ...]) -> str:
        """``hashFiles`` over the workspace as it is now (patterns relative to it)."""
        if patterns not in self._hashes:
            include = [p for p in patterns if not p.startswith("!")]
            exclude = [p[1:] for p in patterns if p.startswith("!")]
            self._hashes[patterns] = await self.ctx.helper.hash_files(
                self.pid, self.ctx.layout.project_dir(), include, exclude)
        return self._hashes[patterns]


_BUILTINS: dict[type, Callable[[ghactions.Where, Any], Awaitable[StepEnd]]] = {
    UploadArtifact: ghactions.upload,
    DownloadArtifact: ghactions.download,
    RestoreCache: ghactions.restore_cache,
    SaveCache: ghactions.save_cache,
    Checkout: ghactions.checkout,
}
"""What the executor does for each built-in action (``ghactions``)."""


async def _mirror(source: asyncio.Event, target: asyncio.Event) -> None:
    """Set ``target`` once ``source`` is set (the run's Ctrl-C reaches the job's own)."""
    await source.wait()
    target.set()


def _step_end(outcome: Outcome, files: dict[str, bytes], timeout: float) -> StepEnd:
    if outcome.status is JobStatus.SUCCESS:
        return StepEnd(StepStatus.SUCCESS, 0, files)
    if outcome.status is JobStatus.TIMED_OUT:
        return StepEnd(StepStatus.FAILURE, outcome.exit_code, files, timed_out=True,
                       note=f"The action has timed out ({timeout:g}s).")
    if outcome.status is JobStatus.CANCELED:
        return StepEnd(StepStatus.CANCELLED, outcome.exit_code, files)
    return StepEnd(StepStatus.FAILURE, outcome.exit_code, files, note=outcome.note)
