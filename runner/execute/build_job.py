"""One attempt of a build job: snapshot the project, ``buildah build`` it on the host, push.

It quacks like ``JobAttempt`` (start, run, discard) so the scheduler treats
both alike: needs, retries, timeouts and Ctrl-C work the same. There is no
container to start early; the workspace is the same snapshot a container job
gets (source plus the artifacts of its needs), owned by the user, not a slice.
"""

from __future__ import annotations

import asyncio
import contextlib
from dataclasses import replace

import structlog

from runner.build.builder import BuildFailed, build_image
from runner.build.outputs import BuildOutput, substitute
from runner.errors import EngineError, RunnerError
from runner.execute.context import Outcome, RunContext
from runner.execute.results import JobStatus
from runner.execute.reuse import artifact_layers
from runner.logs.joblog import JobLog
from runner.pipeline.gitlab.expand import expand
from runner.pipeline.model import Build, Job, RetryOn

log = structlog.get_logger(__name__)


class BuildAttempt:
    """Runs build job ``job`` once."""

    def __init__(self, ctx: RunContext, job: Job, attempt: int, joblog: JobLog) -> None:
        assert job.build is not None
        self.ctx = ctx
        self.job = job
        self.build: Build = job.build
        self.attempt = attempt
        self.joblog = joblog
        self.work = ctx.layout.job_work(job.name, attempt)
        self.workspace = self.work / "ws"
        self.scratch = self.work / "ctl"

    async def start(self) -> None:
        """Private scratch dirs; 0700 keeps the auth file and secrets from other users."""
        self.work.mkdir(mode=0o700)
        self.workspace.mkdir()
        self.scratch.mkdir(mode=0o700)

    async def run(self) -> Outcome:
        """Build (and push) within the job's timeout; Ctrl-C stops buildah."""
        try:
            return await self._run()
        finally:
            self.ctx.cleanups.append(asyncio.create_task(self.discard()))
            self.joblog.end_stream()

    async def discard(self) -> None:
        if self.work.exists():
            await self.ctx.helper.remove(self.work)

    async def _run(self) -> Outcome:
        ctx, job = self.ctx, self.job
        layers = artifact_layers(ctx.layout, ctx.settings.taken, job)
        try:
            await ctx.helper.prepare(
                workspace=self.workspace, control=self.scratch, uid=0, gid=0,
                source=ctx.layout.root, files=ctx.files,
                layers=[layer for layer in layers if layer.is_dir()], caches=[], scripts={},
            )
        except EngineError as exc:
            self.joblog.notice(f"runner: {exc}")
            return Outcome(JobStatus.FAILED, note="workspace files could not be copied",
                           failure=RetryOn.SYSTEM_FAILURE)
        build = self._expanded()
        where = "the user's shared image store" if ctx.build_env.store is None else (
            "this project's own build store")
        self.joblog.notice(f"runner: building with buildah (isolation {build.isolation}) in "
                           f"{where}")
        task = asyncio.create_task(build_image(
            build, self.workspace, self.scratch, ctx.build_env,
            registries=ctx.pipeline.registries, secrets=ctx.secrets, build_secrets=job.secrets,
            sink=self.joblog.output, notice=self.joblog.notice,
        ))
        stop = asyncio.create_task(ctx.interruption.canceling.wait())
        try:
            done, _ = await asyncio.wait({task, stop}, timeout=job.timeout_s,
                                         return_when=asyncio.FIRST_COMPLETED)
            if task in done:
                return self._finished(task)
            status = JobStatus.CANCELED if stop in done else JobStatus.TIMED_OUT
            task.cancel()
            with contextlib.suppress(BaseException):
                await task
            if status is JobStatus.TIMED_OUT:
                self.joblog.notice(f"runner: job timed out after {job.timeout_s:g}s")
                return Outcome(status, failure=RetryOn.TIMEOUT)
            return Outcome(status)
        finally:
            stop.cancel()
            if not task.done():
                task.cancel()

    def _finished(self, task: asyncio.Task[BuildOutput]) -> Outcome:
        try:
            output = task.result()
        except BuildFailed as exc:
            self.joblog.notice(f"runner: {exc}")
            return Outcome(JobStatus.FAILED, 1, note="build failed",
                           failure=RetryOn.SCRIPT_FAILURE)
        except RunnerError as exc:
            self.joblog.notice(f"runner: {exc}")
            return Outcome(JobStatus.FAILED, note=str(exc).split("\n")[0][:120],
                           failure=RetryOn.SYSTEM_FAILURE)
        self.ctx.outputs[self.job.name] = output
        self.joblog.notice(f"runner: built image {output.image_id}"
                           + (f", tagged {', '.join(output.tags)}" if output.tags else ""))
        return Outcome(JobStatus.SUCCESS, 0, output=output)

    def _expanded(self) -> Build:
        """The build with ``$VAR`` of the job's variables expanded (never secrets)."""
        outputs = self.ctx.outputs
        env = dict(self.ctx.predefined(self.job))
        env.update((name, substitute(value, outputs)) for name, value in self.job.variables)
        b = self.build

        def x(text: str) -> str:
            return expand(substitute(text, outputs), env)

        return replace(
            b,
            tags=tuple(x(t) for t in b.tags),
            args=tuple((k, x(v)) for k, v in b.args),
            labels=tuple((k, x(v)) for k, v in b.labels),
            target=None if b.target is None else x(b.target),
            cache_from=tuple(x(c) for c in b.cache_from),
            cache_to=None if b.cache_to is None else x(b.cache_to),
        )

