"""What every job of one run shares, and how one attempt of a job ended."""

from __future__ import annotations

import asyncio
import resource
from dataclasses import dataclass, field
from pathlib import Path

from runner.build.builder import BuildEnv
from runner.build.outputs import BuildOutput
from runner.engine.imageref import ImageRef
from runner.engine.namespace import NamespaceHelper
from runner.engine.podman import JobContainer, image_missing
from runner.engine.runc import ImageInfo, RuncHost, host_seccomp, image_info
from runner.engine.slices import SliceAllocator
from runner.errors import EngineError
from runner.execute.interrupt import Interruption
from runner.execute.layout import RunLayout
from runner.execute.results import JobStatus, Settings
from runner.execute.services import JobPod
from runner.logs.console import Console
from runner.pipeline.model import Job, Pipeline, RetryOn
from runner.pipeline.steps import NeedResult


@dataclass
class RunContext:
    """What every job of one run shares."""

    pipeline: Pipeline
    settings: Settings
    layout: RunLayout
    helper: NamespaceHelper
    files: list[str]
    secrets: dict[str, str]
    console: Console
    interruption: Interruption
    slices: SliceAllocator
    live: set[JobContainer] = field(default_factory=set)
    cleanups: list[asyncio.Task[None]] = field(default_factory=list)
    """Container removals still under way; the run waits for all of them before it ends."""
    dotenv: dict[str, tuple[tuple[str, str], ...]] = field(default_factory=dict)
    """Variables from each job's dotenv reports, for the jobs that take its artifacts."""
    build_env: BuildEnv = field(default_factory=lambda: BuildEnv(store=None))
    """Where build jobs build (the project's own store unless sharing is configured)."""
    outputs: dict[str, BuildOutput] = field(default_factory=dict)
    """Images made by build jobs, for the jobs that use ``${{ jobs.NAME.image }}``."""
    pods: set[JobPod] = field(default_factory=set)
    """Pods of jobs with services not removed yet; the run removes any left at its end."""
    finished: dict[str, NeedResult] = field(default_factory=dict)
    """How each ended job ended, with its outputs, for the stepped jobs that need it."""
    matrix_stops: dict[str, asyncio.Event] = field(default_factory=dict)
    """Per matrix (``MatrixGroup.name``): set when an instance failed and fail-fast stops the
    others, the running ones included."""
    step_outputs: dict[str, tuple[tuple[str, str], ...]] = field(default_factory=dict)
    """Each stepped job's outputs (its last attempt's)."""
    _runc_host: asyncio.Task[RuncHost] | None = None
    _runc_images: dict[str, asyncio.Task[ImageInfo | None]] = field(default_factory=dict)

    async def runc_host(self) -> RuncHost:
        """The runc engine's per-run facts, looked up by the first job that needs them."""
        if self._runc_host is None:
            self._runc_host = asyncio.create_task(self._look_up_runc_host())
        return await self._runc_host

    async def _look_up_runc_host(self) -> RuncHost:
        state = self.settings.runc_state
        assert state is not None, "engine 'runc' needs Settings.runc_state"
        try:
            resolv = Path("/etc/resolv.conf").read_text(encoding="utf-8")
        except OSError:
            resolv = ""
        return RuncHost(ns_pid=await self.helper.pid(), state_root=state,
                        seccomp=host_seccomp(), resolv_conf=resolv,
                        nofile=resource.getrlimit(resource.RLIMIT_NOFILE)[1])

    async def runc_image(self, ref: ImageRef) -> ImageInfo | None:
        """``ref``'s layers and config, asked once per run however many jobs use it."""
        task = self._runc_images.get(ref)
        if task is None:
            task = self._runc_images[ref] = asyncio.create_task(
                image_info(ref, self.settings.cache_root.parent / "images"))
        return await task

    async def has_image(self, ref: ImageRef) -> bool:
        """Whether the user's store has ``ref``: the lookup the runc engine makes anyway, and
        podman's own word when that finds nothing (a podman that fails says nothing here:
        it will say why when the job starts)."""
        try:
            if await self.runc_image(ref) is not None:
                return True
        except EngineError:
            return True  # a store runc cannot use (not overlay): podman will say
        return not await image_missing(ref)

    def need_results(self, job: Job) -> dict[str, NeedResult]:
        """How each job ``job`` needs ended (a stepped job's ``needs`` context)."""
        return {need.job: self.finished[need.job] for need in job.needs
                if need.job in self.finished}

    def predefined(self, job: Job) -> list[tuple[str, str]]:
        """The variables every job gets before its own (GitLab's predefined ones we know)."""
        env = [("CI", "true"), ("CI_JOB_NAME", job.name), ("CI_JOB_STATUS", "running")]
        if job.stage:
            env.append(("CI_JOB_STAGE", job.stage))
        env.append(("CI_PROJECT_DIR", self.layout.project_dir()))
        env.append(("RUNNER_RUN_ID", self.layout.run_id))
        return env


@dataclass(frozen=True)
class Outcome:
    """How one attempt ended."""

    status: JobStatus
    exit_code: int | None = None
    note: str = ""
    failure: RetryOn | None = None
    """What kind of failure it was, for ``retry:when``; None unless failed or timed out."""
    output: BuildOutput | None = None
    """The image a build job made."""
    failed_at: str | None = None
    """Where the script line that failed is written (``failedat.failed_at``)."""
    annotations: tuple[str, ...] = ()
    """A stepped job's ``::error``/``::warning``/``::notice`` lines (``level: where: text``)."""
