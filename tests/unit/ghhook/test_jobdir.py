"""The state a hook job carries between calls, and whose job it is."""

from __future__ import annotations

import pytest

from runner.ghhook.hookinput import HookInputError
from runner.ghhook.jobdir import JobState, runner_label


def test_runner_label_tells_installs_of_one_name_apart() -> None:
    first = runner_label({"RUNNER_NAME": "vm1", "RUNNER_TEMP": "/home/a/runner/_work/_temp"})
    again = runner_label({"RUNNER_NAME": "vm1", "RUNNER_TEMP": "/home/a/runner/_work/_temp"})
    other = runner_label({"RUNNER_NAME": "vm1", "RUNNER_TEMP": "/home/b/runner/_work/_temp"})
    assert first == again != other
    assert len(first) == 24 and first.isalnum()


def test_state_round_trips_and_names_only_what_is_the_jobs() -> None:
    state = JobState(job="gh0123456789ab", runner="r", pod="gh0123456789ab-pod",
                     container="gh0123456789ab-job", slot=2,
                     volumes=["gh0123456789ab-data"], services=["gh0123456789ab-svc0"])
    assert JobState.from_state(state.to_json()) == state
    tampered = {**state.to_json(), "pod": "someone-elses-pod", "volumes": ["other-vol"],
                "services": ["x"], "slot": "2"}
    found = JobState.from_state(tampered)
    assert found is not None
    assert (found.pod, found.volumes, found.services, found.slot) == (
        "gh0123456789ab-pod", [], [], None)


@pytest.mark.parametrize("state", [None, {}, {"job": 3}])
def test_no_state_of_ours(state: dict[str, object] | None) -> None:
    assert JobState.from_state(state) is None


def test_a_job_name_not_ours_is_refused() -> None:
    with pytest.raises(HookInputError, match=r"state\.job"):
        JobState.from_state({"job": "../../etc"})
