"""Job results as the rows of the summary table the CLI prints at the end of a run."""

from __future__ import annotations

from collections.abc import Sequence

from runner.execute.results import JobResult, JobStatus
from runner.logs.summary import Row


def summary_rows(results: Sequence[JobResult]) -> list[Row]:
    """One row per job: allowed failures are marked, coverage figures carried over."""
    rows: list[Row] = []
    for result in results:
        status = result.status.value
        if result.passed and result.status in (JobStatus.FAILED, JobStatus.TIMED_OUT):
            status += " (allowed)"
        rows.append(Row(result.name, status, result.duration_s, result.note, result.coverage))
    return rows
