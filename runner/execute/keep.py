"""What a finished job leaves for others: artifacts, dotenv variables and caches."""

from __future__ import annotations

import posixpath
from pathlib import Path

from runner.errors import EngineError
from runner.execute import dotenv
from runner.execute.context import RunContext
from runner.execute.policy import caches_to_save, outcome_whens
from runner.execute.results import JobStatus
from runner.logs.joblog import JobLog
from runner.pipeline.model import Job


async def keep_results(ctx: RunContext, job: Job, workspace: Path, joblog: JobLog,
                       status: JobStatus, *, budget: int) -> None:
    """Copy out artifacts, dotenv reports and caches, as the job's outcome allows."""
    if status is JobStatus.CANCELED:
        if not ctx.settings.keep_after_cancel or ctx.interruption.killing.is_set():
            return
        status = JobStatus.FAILED  # gitlab-runner: a canceled script is a failed job's
    layout, helper = ctx.layout, ctx.helper
    whens = outcome_whens(status)
    artifacts = job.artifacts
    if artifacts and (artifacts.paths or artifacts.untracked) and artifacts.when in whens:
        got = await helper.collect(
            workspace, artifacts.paths, layout.artifacts(job.name),
            max_bytes=budget, replace=True,
            exclude=artifacts.exclude,
            untracked=ctx.files if artifacts.untracked else None,
        )
        for pattern in got.unmatched:
            joblog.notice(f"runner: warning: artifacts path {pattern!r} matched no file")
    if artifacts and artifacts.dotenv:
        await _keep_dotenv(ctx, job, workspace, joblog, artifacts.dotenv)
    for cache in caches_to_save(job.cache, status):
        await helper.collect(workspace, cache.paths, layout.cache(cache.key),
                             max_bytes=budget, replace=True)


async def _keep_dotenv(ctx: RunContext, job: Job, workspace: Path, joblog: JobLog,
                       paths: tuple[str, ...]) -> None:
    """Read the job's dotenv reports for later jobs (GitLab keeps reports whatever the outcome).

    The files are copied out first (bounded, symlinks kept as links) and
    read from our copy, so nothing the job did can make us read a host file.
    """
    files = [posixpath.normpath(path) for path in paths]
    dest = ctx.layout.dotenv(job.name)
    try:
        await ctx.helper.collect(
            workspace, files, dest,
            max_bytes=len(files) << 20, replace=True,  # the read below is tighter
        )
    except EngineError as exc:
        joblog.notice(f"runner: warning: dotenv reports not read ({exc}); no variables "
                      "passed on")
        return
    report = dotenv.read_reports(dest, files)
    for problem in report.problems:
        joblog.notice(f"runner: warning: {problem}")
    ctx.dotenv[job.name] = report.variables
    if report.variables:
        names = ", ".join(name for name, _ in report.variables)
        joblog.notice(f"runner: dotenv variables for jobs that take these artifacts: {names}")
