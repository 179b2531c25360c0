"""What a finished job leaves for others: artifacts, dotenv variables and caches."""

from __future__ import annotations

import contextlib
import posixpath
from pathlib import Path

from runner.errors import EngineError
from runner.execute import dotenv, reuse
from runner.execute.context import RunContext
from runner.execute.policy import caches_to_save, failure_allowed, outcome_whens
from runner.execute.results import JobStatus
from runner.logs.joblog import JobLog
from runner.pipeline.model import Job


async def keep_results(ctx: RunContext, job: Job, workspace: Path, joblog: JobLog,
                       status: JobStatus, *, budget: int, exit_code: int | None = None) -> None:
    """Copy out artifacts, dotenv reports and caches, as the job's outcome allows, and record
    which run kept them (``reuse``: a job run alone takes them from a passing run only)."""
    if status is JobStatus.CANCELED:
        if not ctx.settings.keep_after_cancel or ctx.interruption.killing.is_set():
            return
        status = JobStatus.FAILED  # gitlab-runner: a canceled script is a failed job's
    layout, helper = ctx.layout, ctx.helper
    whens = outcome_whens(status)
    artifacts = job.artifacts
    kept_artifacts = bool(artifacts and (artifacts.paths or artifacts.untracked)
                          and artifacts.when in whens)
    if artifacts and artifacts.when in whens:
        _warn_skipped(joblog, artifacts.skipped)
    if artifacts and kept_artifacts:
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
    passed = status is JobStatus.SUCCESS or failure_allowed(job, status, exit_code)
    if passed or kept_artifacts:
        try:
            reuse.write_record(layout.state, job.name, reuse.Record(
                layout.run_id, status.value, passed, kept_artifacts,
                ctx.dotenv.get(job.name, ())))
        except OSError as exc:
            # An older record would vouch for files this run may have replaced.
            with contextlib.suppress(OSError):
                reuse.record_path(layout.state, job.name).unlink(missing_ok=True)
            joblog.notice(f"runner: warning: cannot record this run's artifacts for later runs"
                          f" of single jobs ({exc.strerror})")
    for cache in caches_to_save(job.cache, status):
        _warn_skipped(joblog, cache.skipped)
        if cache.paths:
            await helper.collect(workspace, cache.paths, layout.cache(cache.key),
                                 max_bytes=budget, replace=True)


def _warn_skipped(joblog: JobLog, paths: tuple[str, ...]) -> None:
    """gitlab-runner's own words (its archiver's ``processPath``) for a path it will not save."""
    for path in paths:
        joblog.notice("runner: warning: processPath: artifact path is not a subpath of project"
                      f" directory: {path}")


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
