"""Job results as the rows of the summary table the CLI prints at the end of a run."""

from __future__ import annotations

from collections.abc import Sequence

from runner.execute.results import JobResult, JobStatus
from runner.logs.summary import Row


def summary_rows(results: Sequence[JobResult]) -> list[Row]:
    """One row per job: allowed failures marked, coverage figures and built images shown."""
    rows: list[Row] = []
    for result in results:
        status = result.status.value
        if result.passed and result.status in (JobStatus.FAILED, JobStatus.TIMED_OUT):
            status += " (allowed)"
        note = result.note
        if result.image is not None:  # a build job: where its image is, digest included
            note = f"image {result.image}" + (f"; {note}" if note else "")
        rows.append(Row(result.name, status, result.duration_s, note, result.coverage))
    return rows
