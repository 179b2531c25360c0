"""A job's coverage figure: the last match of its ``coverage`` regex in its (masked) output.

Scanned line by line as output streams, so a long log is never held in
memory. The figure follows GitLab: take the last match on the last line that
has one, its first capture group if the regex has groups (else the whole
match), and report the first number in it; a line whose match holds no
number is passed over, as GitLab does.
"""

from __future__ import annotations

import re

MAX_LINE = 64 * 1024
"""Longer lines are scanned in pieces of this size: a job cannot make us buffer without end."""
_NUMBER = re.compile(r"\d+(?:\.\d+)?")


def figure_in(line: str, regex: re.Pattern[str]) -> str | None:
    """The coverage figure in one line, or None if the line gives none."""
    last: re.Match[str] | None = None
    for last in regex.finditer(line):  # noqa: B007 - only the last match counts
        pass
    if last is None:
        return None
    text = last.group(1) if regex.groups else last.group(0)
    if text is None:  # the group did not take part in the match
        return None
    number = _NUMBER.search(text)
    return number.group(0) if number else None


class CoverageScanner:
    """Feed it output bytes as they come; ``figure`` is the latest figure found so far."""

    def __init__(self, regex: re.Pattern[str]) -> None:
        self._regex = regex
        self._partial = b""
        self.figure: str | None = None

    def feed(self, data: bytes) -> None:
        """Scan the complete lines in ``data`` (with what was held back before it)."""
        data = self._partial + data
        *lines, rest = data.split(b"\n")
        for line in lines:
            self._scan(line)
        while len(rest) > MAX_LINE:
            self._scan(rest[:MAX_LINE])
            rest = rest[MAX_LINE:]
        self._partial = rest

    def end(self) -> None:
        """The stream ended: scan the last, unterminated line."""
        if self._partial:
            self._scan(self._partial)
            self._partial = b""

    def _scan(self, line: bytes) -> None:
        found = figure_in(line.decode("utf-8", "replace").rstrip("\r"), self._regex)
        if found is not None:
            self.figure = found
