"""Masks secret values in a byte stream before anything is printed or written.

Output arrives in arbitrary chunks, so a secret can be split across two of
them. The masker therefore holds back the longest tail that could still be
the start of a secret and decides it with the next chunk (or at ``flush``).
Multi-line secrets are masked line by line as well as whole, so a value that
a job prints reformatted line by line is still hidden.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

MASK = b"[MASKED]"
MIN_SECRET_LEN = 4
"""Shorter values would mask half of every log; the pipeline loader refuses them."""


def _needles(values: Iterable[str]) -> list[bytes]:
    needles: set[bytes] = set()
    for value in values:
        for raw in [value, *value.splitlines()]:
            piece = raw.strip("\r")
            if len(piece) >= MIN_SECRET_LEN:
                needles.add(piece.encode())
    return sorted(needles, key=len, reverse=True)


class Masker:
    """Streaming replacement of every secret value by ``[MASKED]``."""

    def __init__(self, values: Iterable[str]) -> None:
        self._needles = _needles(values)
        self._regex = (
            re.compile(b"|".join(re.escape(n) for n in self._needles)) if self._needles else None
        )
        self._held = b""

    def feed(self, chunk: bytes) -> bytes:
        """The part of ``chunk`` (and earlier held bytes) that is safe to emit now."""
        if self._regex is None:
            return chunk
        data = self._regex.sub(MASK, self._held + chunk)
        keep = self._hold_length(data)
        self._held = data[len(data) - keep :] if keep else b""
        return data[: len(data) - keep]

    def flush(self) -> bytes:
        """Everything still held; call at the end of the stream."""
        rest, self._held = self._held, b""
        return self._regex.sub(MASK, rest) if self._regex else rest

    def mask(self, data: bytes) -> bytes:
        """Mask a complete piece of text (not part of a stream)."""
        return self._regex.sub(MASK, data) if self._regex else data

    def _hold_length(self, data: bytes) -> int:
        best = 0
        for needle in self._needles:
            for size in range(min(len(needle) - 1, len(data)), best, -1):
                if data.endswith(needle[:size]):
                    best = size
                    break
        return best
