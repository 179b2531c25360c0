"""Splits a supervisor's stdout into job output and supervisor frames (pure, no I/O).

Job output is passed through byte for byte as it arrives, except that a frame
(``RS nonce word args\\n``) is cut out wherever it starts. A trailing piece
that could still become a frame is held back until the next chunk decides it.

The job can print the marker too (it can read the nonce), so what is held is
bounded: a frame is a short line, and a "frame" not ended within
``MAX_FRAME`` bytes is passed on as output. Otherwise a marker followed by an
endless line would be held, and re-joined on every chunk, without limit.
"""

from __future__ import annotations

from dataclasses import dataclass

from runner.engine.boot import RS

MAX_FRAME = 256
"""Longest frame line; the supervisor's are under 80 bytes."""


@dataclass(frozen=True)
class Output:
    """Bytes the job printed."""

    data: bytes


@dataclass(frozen=True)
class Ready:
    """The supervisor is up; ``uid``/``gid`` are the container root's ids in podman's namespace."""

    uid: int
    gid: int


@dataclass(frozen=True)
class Exited:
    """The script the supervisor last started has ended with ``status``."""

    status: int
    step: int | None = None
    """The line the script recorded last (1-based; ``boot.job_script``), if any."""


Event = Output | Ready | Exited


class FrameSplitter:
    """Feed chunks in, get events out; remembers a partial frame between feeds."""

    def __init__(self, nonce: str) -> None:
        self._marker = f"{RS}{nonce} ".encode()
        self._pending = b""

    def feed(self, chunk: bytes) -> list[Event]:
        """Events found in ``chunk`` (plus whatever was held back before it)."""
        data = self._pending + chunk if self._pending else chunk
        self._pending = b""
        events: list[Event] = []
        pos = 0  # an index, not slices: each byte is copied once however many markers
        while pos < len(data):
            start = data.find(self._marker, pos)
            if start < 0:
                keep = self._partial_marker_len(data, pos)
                if len(data) - pos > keep:
                    events.append(Output(data[pos : len(data) - keep]))
                self._pending = data[len(data) - keep :]
                break
            if start > pos:
                events.append(Output(data[pos:start]))
            end = data.find(b"\n", start, start + MAX_FRAME)
            if end < 0:
                if len(data) - start < MAX_FRAME:
                    self._pending = data[start:]
                    break
                # Too long to be a frame: the marker is output, and so is what follows.
                pos = start + len(self._marker)
                events.append(Output(data[start:pos]))
                continue
            events.append(self._parse(data[start + len(self._marker) : end]))
            pos = end + 1
        return events

    @property
    def held(self) -> int:
        """Bytes held back for the next chunk to decide (never ``MAX_FRAME`` or more)."""
        return len(self._pending)

    def flush(self) -> list[Event]:
        """At end of stream: whatever was held back is plain output."""
        rest, self._pending = self._pending, b""
        return [Output(rest)] if rest else []

    def _partial_marker_len(self, data: bytes, pos: int) -> int:
        """Length of the longest suffix of ``data[pos:]`` that is a prefix of the marker."""
        for size in range(min(len(self._marker) - 1, len(data) - pos), 0, -1):
            if self._marker.startswith(data[-size:]):
                return size
        return 0

    @staticmethod
    def _parse(body: bytes) -> Event:
        word, _, args = body.decode("ascii", "replace").partition(" ")
        fields = args.split()
        try:
            if word == "ready":
                return Ready(uid=int(fields[0]), gid=int(fields[1]))
            if word == "rc":
                step = fields[1] if len(fields) > 1 else ""
                return Exited(status=int(fields[0]),
                              step=int(step) if step.isdigit() and len(step) < 10 else None)
        except (IndexError, ValueError):
            pass
        # Not a frame we know: show it rather than lose it.
        return Output(body + b"\n")
