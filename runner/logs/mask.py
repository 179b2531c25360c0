"""Masks secret values in a byte stream before anything is printed or written.

Output arrives in arbitrary chunks, so a secret can be split across two of
them. The masker therefore holds back the longest tail that could still be
the start of a secret and decides it with the next chunk (or at ``flush``).
Multi-line secrets are masked line by line as well as whole, so a value that
a job prints reformatted line by line is still hidden.

A secret of ``MIN_ENCODED_LEN`` characters or more is also masked in the forms
a job most often prints it in by accident: base64 (standard and URL-safe, see
``encoded_forms``) and URL-encoded (percent-encoded). Shorter values are not:
their encodings are short enough to turn up in unrelated output. Other
transformations (hex, reversed, split by the job) are not recognised.
"""

from __future__ import annotations

import base64
import re
import urllib.parse
from collections.abc import Iterable

MASK = b"[MASKED]"
MIN_SECRET_LEN = 4
"""Shorter values would mask half of every log; the pipeline loader refuses them."""
MIN_ENCODED_LEN = 8
"""Secrets (or lines of one) this long or longer are also masked base64- and URL-encoded."""


def encoded_forms(secret: bytes) -> set[bytes]:
    """The base64 and percent-encoded texts that give ``secret`` away, as GitHub Actions masks.

    Inside a longer base64 stream a secret starts at one of three offsets in
    a 3-byte group, and the characters it shares with its neighbours differ
    with them. So for each alignment the secret's first 0, 1 or 2 bytes are
    dropped (the rest then starts a group) and only the characters that
    depend on the secret alone are kept: ``8 * len // 6`` of them, without
    padding. The whole padded encoding is added too, so a lone
    ``echo -n $S | base64`` is masked to its last character.
    """
    forms: set[bytes] = set()
    for encode in (base64.b64encode, base64.urlsafe_b64encode):
        forms.add(encode(secret))
        for skip in range(3):
            rest = secret[skip:]
            forms.add(encode(rest)[: 8 * len(rest) // 6])
    quoted = urllib.parse.quote_from_bytes(secret, safe="").encode()
    forms |= {quoted, re.sub(rb"%[0-9A-F]{2}", lambda m: m.group().lower(), quoted),
              urllib.parse.quote_from_bytes(secret).encode(),
              urllib.parse.quote_plus(secret.decode("utf-8", "replace")).encode()}
    forms.discard(secret)
    return {form for form in forms if len(form) >= MIN_ENCODED_LEN}


def _needles(values: Iterable[str]) -> list[bytes]:
    needles: set[bytes] = set()
    for value in values:
        for raw in [value, *value.splitlines()]:
            piece = raw.strip("\r")
            if len(piece) >= MIN_SECRET_LEN:
                needles.add(piece.encode())
            if len(piece) >= MIN_ENCODED_LEN:
                needles |= encoded_forms(piece.encode())
    return sorted(needles, key=len, reverse=True)


class Masker:
    """Streaming replacement of every secret value by ``[MASKED]``."""

    def __init__(self, values: Iterable[str], mask: bytes = MASK) -> None:
        self._mask = mask
        self._values = list(values)
        self._held = b""
        self._compile()

    def _compile(self) -> None:
        self._needles = _needles(self._values)
        self._regex = (
            re.compile(b"|".join(re.escape(n) for n in self._needles)) if self._needles else None
        )
        self._longest = len(self._needles[0]) if self._needles else 0

    def add(self, value: str) -> None:
        """Mask ``value`` too from now on (a job's ``::add-mask::``); bytes already held
        back are masked with it when they are let out."""
        if value and value not in self._values:
            self._values.append(value)
            self._compile()

    def feed(self, chunk: bytes) -> bytes:
        """The part of ``chunk`` (and earlier held bytes) that is safe to emit now.

        A match is final only where the longest needle would still fit in the
        data: an encoded form can extend a shorter one (base64 padding), so a
        match near the end waits for the next chunk. Each byte is scanned a
        bounded number of times, whatever the chunking.
        """
        if self._regex is None:
            return chunk
        data = self._held + chunk
        final = len(data) - self._longest + 1
        out: list[bytes] = []
        pos = 0
        hold_from = -1
        for found in self._regex.finditer(data):
            if found.start() >= final:
                hold_from = found.start()
                break
            out += (data[pos : found.start()], self._mask)
            pos = found.end()
        if hold_from < 0:
            hold_from = len(data) - self._hold_length(data[max(pos, final - 1) :])
        out.append(data[pos:hold_from])
        self._held = data[hold_from:]
        return b"".join(out)

    def flush(self) -> bytes:
        """Everything still held; call at the end of the stream."""
        rest, self._held = self._held, b""
        return self._regex.sub(self._mask, rest) if self._regex else rest

    def mask(self, data: bytes) -> bytes:
        """Mask a complete piece of text (not part of a stream)."""
        return self._regex.sub(self._mask, data) if self._regex else data

    def _hold_length(self, data: bytes) -> int:
        best = 0
        for needle in self._needles:
            for size in range(min(len(needle) - 1, len(data)), best, -1):
                if data.endswith(needle[:size]):
                    best = size
                    break
        return best
