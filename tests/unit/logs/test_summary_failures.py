"""The end of the summary: the run's wall time, and what to look at for each failed job."""

from __future__ import annotations

from pathlib import Path

from runner.execute.report import failures, summary_rows
from runner.execute.results import JobResult, JobStatus
from runner.logs.summary import Failure, Row, render


def test_total_wall_time_after_the_table() -> None:
    """One sentence: how many jobs, how long the run took, and how they ended."""
    text = render([Row("a", "success", 1.0), Row("b", "failed", 2.0)], color=False,
                  wall_s=3.456)
    assert text.splitlines()[-1] == "2 jobs in 3.46s (wall time): 1 success, 1 failed"


def test_failed_job_gets_status_log_and_last_lines() -> None:
    """Under the table: exit status, log path, then the log's last lines, indented."""
    text = render([Row("t", "failed", 1.0)], color=False, wall_s=1.5, failures=[
        Failure("t", "failed", 2, ".runner/logs/t.log", ("$ make test", "boom"))])
    assert text.endswith(
        "1 job in 1.50s (wall time): 1 failed\n"
        "\n"
        "t failed (exit status 2); log: .runner/logs/t.log\n"
        "  | $ make test\n"
        "  | boom\n")


def test_colour_is_removed_from_the_tail_without_colour() -> None:
    """A job's own escape sequences do not reach a plain (piped) summary."""
    text = render([Row("t", "failed", 1.0)], color=False, failures=[
        Failure("t", "timed out", None, "t.log", ("\x1b[32;1m$ sleep 9\x1b[0m",))])
    assert "t timed out; log: t.log\n  | $ sleep 9\n" in text


def test_failures_come_from_failed_and_timed_out_jobs(tmp_path: Path) -> None:
    """Allowed failures are listed too (their output matters); passes and skips are not."""
    log = tmp_path / "x.log"
    results = [
        JobResult("ok", JobStatus.SUCCESS, 1.0, 0, log=log),
        JobResult("bad", JobStatus.FAILED, 1.0, 2, log=log, tail=("boom",)),
        JobResult("slow", JobStatus.TIMED_OUT, 1.0, None, allowed_failure=True, log=log),
        JobResult("skip", JobStatus.SKIPPED, note="why"),
    ]
    got = failures(results, cwd=tmp_path)
    assert got == [Failure("bad", "failed", 2, "x.log", ("boom",)),
                   Failure("slow", "timed out (allowed)", None, "x.log", ())]
    assert len(summary_rows(results)) == 4
