"""Allowed failures, retries and cache decisions, as GitLab makes them."""

from __future__ import annotations

import pytest

from runner.execute.policy import (
    Restore,
    caches_to_restore,
    caches_to_save,
    failure_allowed,
    outcome_whens,
    should_retry,
)
from runner.execute.results import JobResult, JobStatus
from runner.pipeline.model import Cache, CachePolicy, Job, RetryOn, When

S, F, T, C = JobStatus.SUCCESS, JobStatus.FAILED, JobStatus.TIMED_OUT, JobStatus.CANCELED


def make(**fields: object) -> Job:
    return Job(name="j", image="i", script=("true",), **fields)


@pytest.mark.parametrize(("fields", "status", "code", "allowed"), [
    ({}, F, 1, False),
    ({"allow_failure": True}, F, 1, True),
    ({"allow_failure": True}, T, None, True),
    ({"allow_failure": True, "allow_failure_codes": (3,)}, F, 3, True),
    ({"allow_failure": True, "allow_failure_codes": (3,)}, F, 4, False),
    ({"allow_failure": True, "allow_failure_codes": (3,)}, T, 3, False),
    ({"allow_failure": True, "allow_failure_codes": (3,)}, F, None, False),
    ({"allow_failure_codes": (3,)}, F, 3, False),
])
def test_failure_allowed(fields: dict[str, object], status: JobStatus, code: int | None,
                         allowed: bool) -> None:
    """Exit codes narrow allow_failure; a timeout or a job that never ran has no code."""
    assert failure_allowed(make(**fields), status, code) is allowed


@pytest.mark.parametrize(("retry_on", "status", "kind", "attempts", "again"), [
    ((), F, RetryOn.SCRIPT_FAILURE, 1, True),
    ((), F, RetryOn.SCRIPT_FAILURE, 3, False),
    ((), S, None, 1, False),
    ((), C, None, 1, False),
    ((RetryOn.SCRIPT_FAILURE,), F, RetryOn.SCRIPT_FAILURE, 1, True),
    ((RetryOn.SCRIPT_FAILURE,), T, RetryOn.TIMEOUT, 1, False),
    ((RetryOn.TIMEOUT,), T, RetryOn.TIMEOUT, 2, True),
    ((RetryOn.SYSTEM_FAILURE,), F, RetryOn.SCRIPT_FAILURE, 1, False),
    ((RetryOn.SYSTEM_FAILURE,), F, RetryOn.SYSTEM_FAILURE, 1, True),
])
def test_should_retry(retry_on: tuple[RetryOn, ...], status: JobStatus, kind: RetryOn | None,
                      attempts: int, again: bool) -> None:
    """Retries only failures of the kinds listed, and only while attempts are left."""
    assert should_retry(make(retry=2, retry_on=retry_on), status, kind, attempts) is again


@pytest.mark.parametrize(("retry_on", "codes", "status", "kind", "code", "again"), [
    # exit codes alone: only those codes are retried (GitLab's `when` default is then empty)
    ((), (137,), F, RetryOn.SCRIPT_FAILURE, 137, True),
    ((), (137,), F, RetryOn.SCRIPT_FAILURE, 1, False),
    ((), (137,), T, RetryOn.TIMEOUT, None, False),
    # with `when`, either matches: a listed kind or a listed code
    ((RetryOn.TIMEOUT,), (137,), T, RetryOn.TIMEOUT, None, True),
    ((RetryOn.TIMEOUT,), (137,), F, RetryOn.SCRIPT_FAILURE, 137, True),
    ((RetryOn.TIMEOUT,), (137,), F, RetryOn.SCRIPT_FAILURE, 2, False),
    ((RetryOn.SYSTEM_FAILURE,), (3,), F, RetryOn.SCRIPT_FAILURE, 3, True),
    ((), (3,), S, None, 0, False),
])
def test_should_retry_exit_codes(retry_on: tuple[RetryOn, ...], codes: tuple[int, ...],
                                 status: JobStatus, kind: RetryOn | None, code: int | None,
                                 again: bool) -> None:
    """retry:exit_codes as GitLab's AutoRetry: kind listed OR exit code listed."""
    job = make(retry=2, retry_on=retry_on, retry_exit_codes=codes)
    assert should_retry(job, status, kind, 1, code) is again


def test_outcome_whens() -> None:
    """on_success after success, on_failure after failure or timeout, nothing if canceled."""
    assert outcome_whens(S) == {When.ALWAYS, When.ON_SUCCESS}
    assert outcome_whens(F) == outcome_whens(T) == {When.ALWAYS, When.ON_FAILURE}
    assert outcome_whens(C) == frozenset()


def test_caches_to_restore_policy_and_fallbacks() -> None:
    """push caches are not restored; a missing key falls back to the first saved fallback."""
    pull = Cache("k1", ("a",), policy=CachePolicy.PULL, fallback_keys=("f1", "f2", "f3"))
    push = Cache("k2", ("a",), policy=CachePolicy.PUSH)
    both = Cache("k3", ("a",))
    lost = Cache("k4", ("a",), fallback_keys=("nope",))
    saved = {"f2", "f3", "k2", "k3"}
    got = caches_to_restore(make(cache=(pull, push, both, lost)), saved.__contains__)
    assert got == [Restore(pull, "f2"), Restore(both, "k3"), Restore(lost, None)]


def test_caches_to_save_policy_and_when() -> None:
    """pull caches are never saved; when decides by outcome; canceled saves nothing."""
    pull = Cache("a", ("x",), policy=CachePolicy.PULL, when=When.ALWAYS)
    push = Cache("b", ("x",), policy=CachePolicy.PUSH)
    failure = Cache("c", ("x",), when=When.ON_FAILURE)
    always = Cache("d", ("x",), when=When.ALWAYS)
    caches = (pull, push, failure, always)
    assert caches_to_save(caches, S) == [push, always]
    assert caches_to_save(caches, F) == [failure, always]
    assert caches_to_save(caches, T) == [failure, always]
    assert caches_to_save(caches, C) == []


def test_skipped_manual_job_passes_only_if_allowed_to_fail() -> None:
    """GitLab: a blocking manual job holds up what follows it; a non-blocking one does not."""
    blocking = JobResult("m", JobStatus.SKIPPED, manual=True)
    optional = JobResult("m", JobStatus.SKIPPED, allowed_failure=True, manual=True)
    other_skip = JobResult("s", JobStatus.SKIPPED, allowed_failure=True)
    assert not blocking.passed and not blocking.failed
    assert optional.passed and not optional.failed
    assert not other_skip.passed
