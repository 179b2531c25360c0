"""The failure reason sent with a failed job, in words the GitLab at hand understands.

A GitLab refuses a job update whose ``failure_reason`` it does not know, and
older ones know fewer. Each job payload lists the reasons its GitLab accepts
(``features.failure_reasons``); gitlab-runner (``common/failure_reason_mapper.go``)
sends a reason as is when it is accepted, else follows a compatibility map
towards an older, more general one, else says ``unknown_failure``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

SCRIPT_FAILURE = "script_failure"
RUNNER_SYSTEM_FAILURE = "runner_system_failure"
JOB_EXECUTION_TIMEOUT = "job_execution_timeout"
UNKNOWN_FAILURE = "unknown_failure"

ALWAYS_ACCEPTED = (SCRIPT_FAILURE, RUNNER_SYSTEM_FAILURE, JOB_EXECUTION_TIMEOUT)
"""Reasons every GitLab that talks to runners knows, whatever the payload lists."""

COMPATIBLE: Mapping[str, str] = {
    "image_pull_failure": RUNNER_SYSTEM_FAILURE,
    "runner_configuration_error": SCRIPT_FAILURE,
    "runner_external_dependency_failure": RUNNER_SYSTEM_FAILURE,
}
"""Newer reasons and the older, more general one each was split from."""


def failure_reason(kind: str, accepted: Sequence[str]) -> str:
    """What to send for a failure of ``kind`` to a GitLab accepting ``accepted``.

    An empty ``kind`` is a script failure: it is what a job fails of when
    nothing more specific was found.
    """
    if not kind:
        return SCRIPT_FAILURE
    known = {*accepted, *ALWAYS_ACCEPTED}
    seen: set[str] = set()
    reason = kind
    while reason not in known:
        seen.add(reason)
        older = COMPATIBLE.get(reason)
        if older is None or older in seen:
            return UNKNOWN_FAILURE
        reason = older
    return reason
