"""Pure decisions on a job's outcome: allowed failures, retries, which caches to restore or save.

Kept apart from the code that runs containers so each rule can be checked
on its own, and reads as the GitLab rule it follows.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from runner.execute.results import JobStatus
from runner.pipeline.model import Cache, CachePolicy, Job, RetryOn, When

FAILED = (JobStatus.FAILED, JobStatus.TIMED_OUT)


def outcome_whens(status: JobStatus) -> frozenset[When]:
    """The ``artifacts:when``/``cache:when`` values that keep results after ``status``.

    A canceled job keeps nothing: its files are whatever the interruption left.
    """
    if status is JobStatus.CANCELED:
        return frozenset()
    return frozenset({When.ALWAYS, When.ON_SUCCESS if status is JobStatus.SUCCESS
                      else When.ON_FAILURE})


def failure_allowed(job: Job, status: JobStatus, exit_code: int | None) -> bool:
    """Whether a failed ``job`` is allowed to fail (GitLab's ``allow_failure:exit_codes``).

    With exit codes listed, only a script that exited with one of them is
    allowed; a timeout or a container that never ran has no exit code to match.
    """
    if not job.allow_failure:
        return False
    if not job.allow_failure_codes:
        return True
    return status is JobStatus.FAILED and exit_code in job.allow_failure_codes


def should_retry(job: Job, status: JobStatus, failure: RetryOn | None, attempts: int,
                 exit_code: int | None = None) -> bool:
    """Whether a job whose attempt number ``attempts`` ended so gets another attempt.

    As GitLab's ``Ci::Build::AutoRetry``: a failure is retried when its kind is
    one ``retry_on`` lists (``retry:when``) *or* the script exited with one of
    ``retry_exit_codes``. Without ``retry:when``, every kind is retried unless
    exit codes are given, which then are the only failures retried.
    """
    if status not in FAILED or attempts > job.retry:
        return False
    if status is JobStatus.FAILED and exit_code is not None and exit_code in job.retry_exit_codes:
        return True
    if not job.retry_on:
        return not job.retry_exit_codes
    return failure in job.retry_on


@dataclass(frozen=True)
class Restore:
    """One cache to restore: the key it was asked under and the key whose copy is used."""

    cache: Cache
    found: str | None
    """The key whose saved copy is restored (``key`` or a fallback); None if none has one."""


def caches_to_restore(job: Job, saved: Callable[[str], bool]) -> list[Restore]:
    """The caches ``job`` restores before it runs (``pull`` and ``pull-push`` policies).

    When ``key`` has no saved copy, the first of ``fallback_keys`` that has one
    is used, as GitLab does.
    """
    restores: list[Restore] = []
    for cache in job.cache:
        if cache.policy is CachePolicy.PUSH:
            continue
        found = next((key for key in (cache.key, *cache.fallback_keys) if saved(key)), None)
        restores.append(Restore(cache, found))
    return restores


def caches_to_save(caches: Sequence[Cache], status: JobStatus) -> list[Cache]:
    """The caches saved after a job ended with ``status`` (``push``/``pull-push``, ``when``)."""
    whens = outcome_whens(status)
    return [cache for cache in caches
            if cache.policy is not CachePolicy.PULL and cache.when in whens]


def cache_dirs(job: Job, where: Callable[[str], Path], notice: Callable[[str], None]) -> list[Path]:
    """Cache dirs to restore (``pull`` policies), falling back as GitLab does; says which.

    ``where`` is a key's directory (``RunLayout.cache``); ``notice`` the job log's.
    """
    dirs: list[Path] = []
    for restore in caches_to_restore(job, lambda key: where(key).is_dir()):
        key = restore.cache.key
        if restore.found is None:
            notice(f"runner: cache {key!r} has no saved copy; nothing restored")
            continue
        if restore.found != key:
            notice(f"runner: cache {key!r} has no saved copy; restoring "
                   f"fallback key {restore.found!r}")
        dirs.append(where(restore.found))
    return dirs
