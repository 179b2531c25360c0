"""The summary table: a coverage column only when some job has a figure."""

from __future__ import annotations

from runner.execute.report import summary_rows
from runner.execute.results import JobResult, JobStatus
from runner.logs.summary import Row, render


def test_no_coverage_column_without_figures() -> None:
    """Pipelines without coverage keep the old table."""
    table = render([Row("a", "success", 1.0)], color=False)
    assert table.splitlines()[0] == "job  status   duration  note"
    assert "coverage" not in table


def test_coverage_column_when_any_job_has_one() -> None:
    """Jobs without a figure show '-'; the column is right-aligned like durations."""
    table = render([Row("a", "success", 1.0, coverage="87.5"),
                    Row("b", "failed", None, "why")], color=False).splitlines()
    assert table[0] == "job  status   duration  coverage  note"
    assert table[1] == "a    success     1.00s      87.5"
    assert table[2] == "b    failed          -         -  why"


def test_summary_rows_mark_allowed_failures_only() -> None:
    """A failure allowed to fail says so; a skipped optional manual job stays 'skipped'."""
    rows = summary_rows([
        JobResult("x", JobStatus.FAILED, 1.0, 1, allowed_failure=True),
        JobResult("m", JobStatus.SKIPPED, allowed_failure=True, manual=True, note="manual"),
        JobResult("c", JobStatus.SUCCESS, 2.0, 0, coverage="50"),
    ])
    assert [(r.status, r.coverage) for r in rows] == [
        ("failed (allowed)", None), ("skipped", None), ("success", "50")]
