"""The executor's console, pointed at a job's trace instead of a terminal.

``runner exec`` prints every job's lines with a prefix; a GitLab trace is
one job's output as is, with GitLab's colours and collapsible sections.
"""

from __future__ import annotations

import time
from typing import BinaryIO, cast

from runner.agent.trace import TraceBuffer
from runner.logs.console import Console


class _TraceStream:
    """The file-like end of the trace that ``Console`` would write to."""

    def __init__(self, trace: TraceBuffer) -> None:
        self._trace = trace

    def write(self, data: bytes) -> int:
        self._trace.write(data)
        return len(data)

    def flush(self) -> None:
        """Writes are stored at once; nothing to flush."""


class TraceConsole(Console):
    """Job output straight into the trace; runner's own lines in GitLab's bold cyan."""

    def __init__(self, trace: TraceBuffer) -> None:
        super().__init__(cast(BinaryIO, _TraceStream(trace)), [], color=True)
        self._trace = trace

    def output(self, job: str, data: bytes) -> None:
        """Output as it comes: no prefix, no holding back of partial lines."""
        self._trace.write(data)

    def end(self, job: str) -> None:
        """Nothing is held back here (the masker before us holds and releases its own)."""

    def notice(self, job: str, text: str) -> None:
        """A line of runner's own."""
        self.line(text)

    def line(self, text: str) -> None:
        """Write one line of runner's own, outside any job output."""
        self._trace.write(f"\x1b[36;1m{text}\x1b[0;m\n".encode())

    def section(self, name: str, header: str | None = None, *, end: bool = False) -> None:
        """GitLab's collapsible-section marker (rendered by the job log viewer)."""
        stamp = int(time.time())
        if end:
            self._trace.write(f"section_end:{stamp}:{name}\r\x1b[0K".encode())
            return
        self._trace.write(f"section_start:{stamp}:{name}\r\x1b[0K".encode())
        if header:
            self.line(header)
