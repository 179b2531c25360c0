"""The last lines of a job's log, kept while it runs, for the summary of a failed job.

Reading the log file back would cost a seek through whatever the job wrote
and race with its last writes; keeping a few lines as they go by costs
nothing. A job decides how long its lines are, so only the start of a line
(``width`` bytes) is kept, and the memory held stays bounded.
"""

from __future__ import annotations

from collections import deque

TAIL_LINES = 10
TAIL_WIDTH = 300


class Tail:
    """Feed it the (masked) bytes of a log; ``lines`` gives the last ones, as text."""

    def __init__(self, lines: int = TAIL_LINES, width: int = TAIL_WIDTH) -> None:
        self._lines: deque[str] = deque(maxlen=lines)
        self._width = width
        self._partial = bytearray()
        self._cut = False
        """The partial line was longer than ``width``: what was dropped is shown as ' …'."""

    @property
    def held(self) -> int:
        """Bytes of the current partial line kept (never more than ``width``)."""
        return len(self._partial)

    def feed(self, data: bytes) -> None:
        """More of the log, cut anywhere."""
        parts = data.split(b"\n")
        for part in parts[:-1]:
            self._add(part)
            self._lines.append(self._text())
        self._add(parts[-1])

    def lines(self) -> tuple[str, ...]:
        """The last lines, a partial last line included."""
        if self._partial or self._cut:
            return (*self._lines, self._text(keep=True))[-(self._lines.maxlen or 1):]
        return tuple(self._lines)

    def _add(self, part: bytes) -> None:
        room = self._width - len(self._partial)
        if len(part) > room:
            self._cut = True
        self._partial += part[:max(room, 0)]

    def _text(self, *, keep: bool = False) -> str:
        """The current line as a terminal shows it (after its last ``\\r``); reset unless kept."""
        raw = bytes(self._partial).rstrip(b"\r")
        text = raw[raw.rfind(b"\r") + 1:].decode("utf-8", "replace")
        if self._cut:
            text += " …"
        if not keep:
            self._partial.clear()
            self._cut = False
        return text
