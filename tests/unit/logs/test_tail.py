"""The last lines of a job's (masked) log, kept for the summary of a failed job."""

from __future__ import annotations

import io
from pathlib import Path

from runner.logs.console import Console
from runner.logs.joblog import JobLog
from runner.logs.tail import Tail


def test_keeps_last_lines_across_chunks() -> None:
    """Lines split over chunks are joined; only the last N are kept."""
    tail = Tail(lines=3)
    tail.feed(b"one\ntw")
    tail.feed(b"o\nthree\nfou")
    tail.feed(b"r\nfive")
    assert tail.lines() == ("three", "four", "five")


def test_carriage_returns_keep_what_a_terminal_shows() -> None:
    """A progress bar redrawn with \\r shows its last state; bad UTF-8 is replaced."""
    tail = Tail(lines=5)
    tail.feed(b"10%\r50%\r100%\r\n\xff ok\n")
    assert tail.lines() == ("100%", "\ufffd ok")


def test_a_long_line_is_cut_and_memory_stays_bounded() -> None:
    """An endless line keeps only its start (``width``), however much arrives."""
    tail = Tail(lines=2, width=10)
    for _ in range(1000):
        tail.feed(b"x" * 1000)
    assert tail.lines() == ("x" * 10 + " …",)
    assert tail.held <= 10


def test_joblog_tail_is_masked_and_has_notices(tmp_path: Path) -> None:
    """The tail is what the log file has: masked output and runner's notices."""
    joblog = JobLog("job", tmp_path / "job.log", Console(io.BytesIO(), ["job"], color=False),
                    ["s3cret-value"])
    joblog.output(b"a\nthe s3cret-value\nno newline")
    joblog.end_stream()
    joblog.notice("runner: the job failed: exit status 2")
    assert joblog.tail() == ("a", "the [MASKED]", "no newline",
                             "runner: the job failed: exit status 2")
    joblog.close()
