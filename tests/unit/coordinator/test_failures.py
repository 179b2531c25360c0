"""Failure reasons mapped to what a GitLab accepts, as gitlab-runner's failure_reason_mapper."""

from __future__ import annotations

import pytest

from runner.coordinator.gitlab.failures import failure_reason

GITLAB_17 = (
    "unknown_failure", "script_failure", "api_failure", "stuck_or_timeout_failure",
    "runner_system_failure", "missing_dependency_failure", "runner_unsupported",
    "job_execution_timeout", "image_pull_failure",
)


@pytest.mark.parametrize(
    ("kind", "accepted", "expected"),
    [
        ("", GITLAB_17, "script_failure"),
        ("", (), "script_failure"),
        ("script_failure", GITLAB_17, "script_failure"),
        ("image_pull_failure", GITLAB_17, "image_pull_failure"),
        # always accepted, even when the payload lists nothing
        ("script_failure", (), "script_failure"),
        ("runner_system_failure", (), "runner_system_failure"),
        ("job_execution_timeout", (), "job_execution_timeout"),
        # the compatibility map, towards the older reason
        ("image_pull_failure", (), "runner_system_failure"),
        ("runner_configuration_error", (), "script_failure"),
        ("runner_external_dependency_failure", (), "runner_system_failure"),
        ("runner_configuration_error", ("runner_configuration_error",),
         "runner_configuration_error"),
        # nothing known
        ("job_canceled", GITLAB_17, "unknown_failure"),
        ("runner_interrupted", (), "unknown_failure"),
        ("unknown_failure", (), "unknown_failure"),
        ("made_up", ("made_up",), "made_up"),
    ],
)
def test_failure_reason(kind: str, accepted: tuple[str, ...], expected: str) -> None:
    assert failure_reason(kind, accepted) == expected


def test_accepts_a_list() -> None:
    assert failure_reason("image_pull_failure", ["image_pull_failure"]) == "image_pull_failure"
