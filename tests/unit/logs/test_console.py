"""Console prefixes and the summary table."""

from __future__ import annotations

import io
import re

from runner.logs.console import Console
from runner.logs.summary import Row, render


def test_plain_prefixes_whole_lines_only() -> None:
    """Piped output gets a plain, aligned prefix and partial lines wait for their newline."""
    out = io.BytesIO()
    console = Console(out, ["a", "long"], color=False)
    console.output("a", b"one\ntw")
    console.output("long", b"x\n")
    console.output("a", b"o\n")
    console.output("a", b"tail")
    console.end("a")
    assert out.getvalue() == b"a    | one\nlong | x\na    | two\na    | tail\n"


def test_color_prefix() -> None:
    """On a TTY the prefix is coloured."""
    out = io.BytesIO()
    Console(out, ["a"], color=True).output("a", b"x\n")
    assert out.getvalue() == b"\x1b[36ma | \x1b[0mx\n"


def test_summary_table() -> None:
    """The summary lists job, status, duration and note, aligned."""
    text = render([Row("build", "success", 1.234), Row("t", "skipped", None, "why")],
                  color=False)
    assert text == ("job    status   duration  note\n"
                    "build  success     1.23s\n"
                    "t      skipped         -  why\n")


def test_timestamps_prefix_every_line_and_notice() -> None:
    """``--timestamps``: each printed line starts with the time it arrived."""
    out = io.BytesIO()
    console = Console(out, ["a"], color=False, timestamps=True,
                      clock=lambda: 1_700_000_000.25)
    console.output("a", b"one\ntwo\n")
    console.notice("a", "runner: job success")
    lines = out.getvalue().decode().splitlines()
    assert len(lines) == 3
    for line in lines:
        assert re.fullmatch(r"\d\d:\d\d:\d\d\.250 a \| .*", line), line
    assert lines[0].endswith("a | one") and lines[2].endswith("a | runner: job success")


def test_no_timestamps_by_default() -> None:
    out = io.BytesIO()
    Console(out, ["a"], color=False).output("a", b"x\n")
    assert out.getvalue() == b"a | x\n"
