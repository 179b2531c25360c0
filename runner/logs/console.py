"""Live job output on the terminal: one prefix per job, coloured on a TTY.

Output from concurrent jobs interleaves by whole lines only; a partial line
waits for its newline (or the end of its job) so two jobs never share one.
"""

from __future__ import annotations

from typing import Protocol

_PALETTE = (36, 33, 35, 32, 34, 91, 96, 93, 95, 92, 94)


class Stream(Protocol):
    """What the console writes to: a binary file, or ``pipe.GuardedStream`` around one."""

    def write(self, data: bytes, /) -> int: ...

    def flush(self) -> None: ...


class Console:
    """Writes prefixed job lines and runner notices to one binary stream."""

    def __init__(self, stream: Stream, job_names: list[str], *, color: bool) -> None:
        self._stream = stream
        self._color = color
        width = max((len(name) for name in job_names), default=0)
        self._prefix: dict[str, bytes] = {}
        for index, name in enumerate(job_names):
            label = f"{name:<{width}} | "
            if color:
                label = f"\x1b[{_PALETTE[index % len(_PALETTE)]}m{label}\x1b[0m"
            self._prefix[name] = label.encode()
        self._partial: dict[str, bytes] = {}

    @property
    def color(self) -> bool:
        """Whether ANSI colours are used."""
        return self._color

    def output(self, job: str, data: bytes) -> None:
        """Print whole lines of ``data`` for ``job``; keep a trailing partial line."""
        data = self._partial.pop(job, b"") + data
        *lines, rest = data.split(b"\n")
        if rest:
            self._partial[job] = rest
        if lines:
            prefix = self._prefix.get(job, job.encode() + b" | ")
            self._stream.write(b"".join(prefix + line + b"\n" for line in lines))
            self._stream.flush()

    def end(self, job: str) -> None:
        """The job's stream is over: print its partial line, if any."""
        rest = self._partial.pop(job, b"")
        if rest:
            self.output(job, rest + b"\n")

    def notice(self, job: str, text: str) -> None:
        """A line from runner itself about ``job`` (started, status, warnings)."""
        if self._color:
            text = f"\x1b[1m{text}\x1b[0m"
        self.end(job)
        self.output(job, text.encode() + b"\n")
