"""What every job of one run shares, and how one attempt of a job ended."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field

from runner.build.builder import BuildEnv
from runner.build.outputs import BuildOutput
from runner.engine.namespace import NamespaceHelper
from runner.engine.podman import JobContainer
from runner.engine.slices import SliceAllocator
from runner.execute.interrupt import Interruption
from runner.execute.layout import RunLayout
from runner.execute.results import JobStatus, Settings
from runner.execute.services import JobPod
from runner.logs.console import Console
from runner.pipeline.model import Job, Pipeline, RetryOn


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
