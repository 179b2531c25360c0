"""Live job output on the terminal: one prefix per job, coloured on a TTY.

Output from concurrent jobs interleaves by whole lines only; a partial line
waits for its newline (or the end of its job) so two jobs never share one.

A job decides how long its lines are, so a partial line is held as a list
of pieces (joined once, not again on every chunk) and never grows past
``MAX_LINE``: a longer line is shown in pieces of that size, each on a line
of its own with the job's prefix. Only the terminal view is split; the job's
log file keeps the bytes as printed (``JobLog`` writes it before this).
Masking happens before this class, so a split never cuts a secret in two.

With ``timestamps`` (``runner exec --timestamps``) each line starts with the
local time it was printed, to the millisecond. Only the terminal gets them:
the log file keeps the job's bytes as printed, so logs of two runs still diff
and tools that read them see what the job wrote.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Protocol

_PALETTE = (36, 33, 35, 32, 34, 91, 96, 93, 95, 92, 94)

MAX_LINE = 64 * 1024
"""Longest piece of a line held back for its newline (as ``coverage.MAX_LINE``)."""


class Stream(Protocol):
    """What the console writes to: a binary file, or ``pipe.GuardedStream`` around one."""

    def write(self, data: bytes, /) -> int: ...

    def flush(self) -> None: ...


class Console:
    """Writes prefixed job lines and runner notices to one binary stream."""

    def __init__(self, stream: Stream, job_names: list[str], *, color: bool,
                 timestamps: bool = False, clock: Callable[[], float] = time.time,
                 fold: bool = False, debug: bool = False) -> None:
        self.fold = fold
        """Fold groups (``::group::``): their lines go to the job's log file only."""
        self.debug = debug
        """Show ``::debug::`` lines (``-v``); the log file always has them."""
        self._stream = stream
        self._color = color
        self._clock = clock if timestamps else None
        width = max((len(name) for name in job_names), default=0)
        self._prefix: dict[str, bytes] = {}
        for index, name in enumerate(job_names):
            label = f"{name:<{width}} | "
            if color:
                label = f"\x1b[{_PALETTE[index % len(_PALETTE)]}m{label}\x1b[0m"
            self._prefix[name] = label.encode()
        self._partial: dict[str, list[bytes]] = {}
        self._partial_size: dict[str, int] = {}

    @property
    def color(self) -> bool:
        """Whether ANSI colours are used."""
        return self._color

    def held(self, job: str) -> int:
        """Bytes of ``job``'s partial line held back (never more than ``MAX_LINE``)."""
        return self._partial_size.get(job, 0)

    def output(self, job: str, data: bytes) -> None:
        """Print whole lines of ``data`` for ``job``; keep a trailing partial line."""
        cut = data.rfind(b"\n")
        head, rest = (data[: cut + 1], data[cut + 1 :]) if cut >= 0 else (b"", data)
        lines: list[bytes] = []
        if head:
            pieces = self._partial.pop(job, [])
            self._partial_size.pop(job, None)
            lines = (b"".join(pieces) + head if pieces else head).split(b"\n")[:-1]
        if rest:
            lines += self._hold(job, rest)
        if lines:
            prefix = self._stamp() + self._prefix.get(job, job.encode() + b" | ")
            self._stream.write(b"".join(prefix + line + b"\n" for line in lines))
            self._stream.flush()

    def _stamp(self) -> bytes:
        """``HH:MM:SS.mmm `` (local time, dimmed in colour) with timestamps on, else nothing."""
        if self._clock is None:
            return b""
        now = self._clock()
        text = time.strftime("%H:%M:%S", time.localtime(now)) + f".{int(now * 1000) % 1000:03d}"
        return (f"\x1b[90m{text}\x1b[0m " if self._color else f"{text} ").encode()

    def _hold(self, job: str, rest: bytes) -> list[bytes]:
        """Keep ``rest`` for its newline; the ``MAX_LINE`` pieces that no longer fit, to show."""
        pieces = self._partial.setdefault(job, [])
        pieces.append(rest)
        size = self._partial_size.get(job, 0) + len(rest)
        full: list[bytes] = []
        if size > MAX_LINE:
            joined = b"".join(pieces)
            keep = size % MAX_LINE or MAX_LINE
            full = [joined[i : i + MAX_LINE] for i in range(0, size - keep, MAX_LINE)]
            pieces[:] = [joined[size - keep :]]
            size = keep
        self._partial_size[job] = size
        return full

    def end(self, job: str) -> None:
        """The job's stream is over: print its partial line, if any."""
        pieces = self._partial.pop(job, [])
        self._partial_size.pop(job, None)
        if pieces:
            self.output(job, b"".join(pieces) + b"\n")

    def notice(self, job: str, text: str) -> None:
        """A line from runner itself about ``job`` (started, status, warnings)."""
        if self._color:
            text = f"\x1b[1m{text}\x1b[0m"
        self.end(job)
        self.output(job, text.encode() + b"\n")
