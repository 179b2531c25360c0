"""A job's duration counts its image fetch and container start, not its wait for needs."""

from __future__ import annotations

from runner.execute.timing import job_duration


def test_start_finished_before_the_job_could_run() -> None:
    """Pulled and started (2 s) while needs ran; then waited; then ran 5 s: 7 s."""
    assert job_duration(start_began=10.0, start_ended=12.0, run_began=30.0, ended=35.0) == 7.0


def test_start_still_going_when_the_job_could_run() -> None:
    """The start overlapping the moment the job may run is counted once."""
    assert job_duration(start_began=10.0, start_ended=32.0, run_began=30.0, ended=35.0) == 25.0


def test_failed_pull_is_not_zero() -> None:
    """A pull that failed after 3 s, long before the job's needs were met, took 3 s."""
    assert job_duration(start_began=0.0, start_ended=3.0, run_began=20.0, ended=20.0) == 3.0


def test_start_unknown_or_after_run_began() -> None:
    """No start time, or a start begun after the job could run (already counted)."""
    assert job_duration(None, None, run_began=5.0, ended=6.0) == 1.0
    assert job_duration(start_began=7.0, start_ended=8.0, run_began=5.0, ended=9.0) == 4.0
