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


def test_mask_added_mid_stream_masks_what_is_held_and_what_follows(tmp_path: Path) -> None:
    """::add-mask:: masks from then on, including bytes the masker still holds back."""
    joblog, path = _log(tmp_path)
    joblog.output(b"before new-secret-1\n")
    joblog.add_mask("new-secret-1")
    joblog.output(b"after new-secret-1 and s3cret-value\n")
    joblog.close()
    text = path.read_bytes()
    assert b"after [MASKED] and [MASKED]" in text
    assert joblog.masked("x new-secret-1") == "x [MASKED]"


def test_groups_fold_on_a_folding_console_but_stay_in_the_file(tmp_path: Path) -> None:
    screen = io.BytesIO()
    path = tmp_path / "job.log"
    joblog = JobLog("job", path, Console(screen, ["job"], color=False, fold=True), [])
    joblog.output(b"shown\n")
    joblog.group("Install")
    joblog.output(b"folded line\n")
    joblog.end_group()
    joblog.output(b"shown again\n")
    joblog.debug("details")
    joblog.close()
    assert screen.getvalue() == b"job | shown\njob | \xe2\x96\xb8 Install\njob | shown again\n"
    assert path.read_bytes() == ("shown\n\u25b8 Install\nfolded line\nshown again\n"
                                 "##[debug]details\n").encode()
