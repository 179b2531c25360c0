"""Output to a pipe that the reader closed: stop the run, as SIGPIPE stops any Unix tool.

``runner exec | head -1`` used to die of an uncaught ``BrokenPipeError`` in the
middle of a write, and sometimes hang with its containers running and their uid
slices held. Python ignores SIGPIPE, so the error comes back from ``write``;
this guard turns the first one into one request to stop (the same as one
Ctrl-C: scripts stop, ``after_script`` runs, everything is removed) and
drops all later output. Standard output is pointed at ``/dev/null`` so that
nothing else, the interpreter's last flush included, meets the closed pipe.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Callable
from typing import BinaryIO


class GuardedStream:
    """A binary stream whose closed reader ends the run once instead of raising."""

    def __init__(self, stream: BinaryIO, on_closed: Callable[[], None]) -> None:
        self._stream = stream
        self._on_closed = on_closed
        self.closed_by_reader = False

    def write(self, data: bytes) -> int:
        if not self.closed_by_reader:
            try:
                self._stream.write(data)
            except BrokenPipeError:
                self._closed()
        return len(data)

    def flush(self) -> None:
        if not self.closed_by_reader:
            try:
                self._stream.flush()
            except BrokenPipeError:
                self._closed()

    def _closed(self) -> None:
        self.closed_by_reader = True
        with contextlib.suppress(OSError, ValueError):
            null = os.open(os.devnull, os.O_WRONLY)
            os.dup2(null, self._stream.fileno())
            os.close(null)
        self._on_closed()
