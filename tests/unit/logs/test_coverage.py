"""Coverage figures: the last match, its group, its number; streamed, never held whole."""

from __future__ import annotations

import re

from runner.logs.coverage import MAX_LINE, CoverageScanner, figure_in


def test_figure_in_a_line() -> None:
    """The group if there is one, else the match, reduced to its first number (GitLab)."""
    assert figure_in("Coverage: 87.5%", re.compile(r"Coverage: (\d+\.\d+)%")) == "87.5"
    assert figure_in("TOTAL 10 2 80%", re.compile(r"TOTAL.*\s(\d+)%")) == "80"
    assert figure_in("lines: 91.20% of 10", re.compile(r"lines: \S+")) == "91.20"
    assert figure_in("a 1% b 2%", re.compile(r"(\d+)%")) == "2"
    assert figure_in("nothing here", re.compile(r"(\d+)%")) is None
    assert figure_in("Coverage: n/a", re.compile(r"Coverage: (\S+)")) is None
    assert figure_in("x", re.compile(r"(y)?x")) is None


def test_scanner_keeps_the_last_figure_across_chunks() -> None:
    """Lines split across chunks are scanned whole; a later line without a figure keeps it."""
    scanner = CoverageScanner(re.compile(r"Coverage: (\d+(?:\.\d+)?)%"))
    for chunk in [b"Cover", b"age: 50%\nnoise\nCoverage: 7", b"5.5% ok\n", b"Coverage: n/a\n"]:
        scanner.feed(chunk)
    assert scanner.figure == "75.5"
    scanner.feed(b"Coverage: 99%")  # no newline yet: held
    assert scanner.figure == "75.5"
    scanner.end()
    assert scanner.figure == "99"


def test_scanner_bounds_a_line_without_newline() -> None:
    """An endless line is scanned in pieces instead of being buffered without limit."""
    scanner = CoverageScanner(re.compile(r"(\d+)%"))
    scanner.feed(b"12% " + b"x" * (3 * MAX_LINE))
    assert scanner.figure == "12"
    assert len(scanner._partial) <= MAX_LINE
