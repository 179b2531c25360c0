"""The per-job log file: masked output, and runner's notices always on lines of their own."""

from __future__ import annotations

import io
from pathlib import Path

from runner.logs.console import Console
from runner.logs.joblog import JobLog


def _log(tmp_path: Path) -> tuple[JobLog, Path]:
    path = tmp_path / "logs" / "job.log"
    return JobLog("job", path, Console(io.BytesIO(), ["job"], color=False), ["s3cret-value"]), path


def test_notice_after_output_without_newline_starts_a_new_line(tmp_path: Path) -> None:
    """A script whose last output lacks a newline must not glue runner's status line to it."""
    joblog, path = _log(tmp_path)
    joblog.output(b"driver=vfs")
    joblog.end_stream()
    joblog.notice("runner: job success in 1.00s")
    joblog.close()
    assert path.read_bytes() == b"driver=vfs\nrunner: job success in 1.00s\n"


def test_notice_after_complete_line_adds_no_blank_line(tmp_path: Path) -> None:
    joblog, path = _log(tmp_path)
    joblog.output(b"done\n")
    joblog.notice("runner: job success")
    joblog.output(b"the s3cret-value stays hidden\n")
    joblog.close()
    assert path.read_bytes() == b"done\nrunner: job success\nthe [MASKED] stays hidden\n"
