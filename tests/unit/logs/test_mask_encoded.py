"""Secrets masked in their base64 and URL-encoded forms, by the executor and the agent's trace."""

from __future__ import annotations

import base64
import urllib.parse
from collections.abc import Callable
from pathlib import Path

import pytest

from runner.agent.trace import TraceBuffer
from runner.logs.mask import MASK, MIN_ENCODED_LEN, Masker, encoded_forms

SECRET = "p@ss/w0rd+?-9f3e&x=y"
RAW = SECRET.encode()


def _streamed(masker: Masker, data: bytes, size: int) -> bytes:
    out = b"".join(masker.feed(data[i : i + size]) for i in range(0, len(data), size))
    return out + masker.flush()


@pytest.mark.parametrize("prefix", [b"", b"a", b"ab", b"abc", b"abcd"])
@pytest.mark.parametrize("encode", [base64.b64encode, base64.urlsafe_b64encode])
def test_base64_in_every_alignment_is_masked(
    prefix: bytes, encode: Callable[[bytes], bytes]
) -> None:
    """The secret at any offset of a longer base64 stream: of the characters that depend on
    the secret alone, at most the first three (its first, unaligned bytes) are shown."""
    stream = encode(prefix + RAW + b"tail")
    first = -(-8 * len(prefix) // 6)  # characters made of secret bits only: [first, last)
    last = 8 * (len(prefix) + len(RAW)) // 6
    shown = Masker([SECRET]).mask(stream)
    assert shown.count(MASK) == 1
    windows = {stream[i : i + 4] for i in range(first, last - 3)}
    assert not [window for window in windows if window in shown]


def test_lone_base64_is_masked_whole() -> None:
    """``echo -n $SECRET | base64``: padding included, nothing of it is left."""
    encoded = base64.b64encode(RAW)
    assert Masker([SECRET]).mask(b"x " + encoded + b"\n") == b"x " + MASK + b"\n"


def test_url_encoded_forms_are_masked() -> None:
    masker = Masker([SECRET])
    quoted = urllib.parse.quote(SECRET, safe="")
    lower = quoted.replace("%2F", "%2f").replace("%2B", "%2b").replace("%3F", "%3f")
    for form in (quoted, urllib.parse.quote(SECRET), lower.replace("%3D", "%3d"),
                 urllib.parse.quote_plus(SECRET)):
        assert masker.mask(f"url={form};".encode()) == b"url=" + MASK + b";"


def test_encoded_form_split_across_chunks_is_masked() -> None:
    data = b"before " + base64.b64encode(RAW) + b" and " + urllib.parse.quote(
        SECRET, safe="").encode() + b" after"
    for size in (1, 3, 7, 16):
        shown = _streamed(Masker([SECRET]), data, size)
        assert shown == b"before " + MASK + b" and " + MASK + b" after"


def test_short_secrets_are_not_masked_encoded() -> None:
    """Below MIN_ENCODED_LEN the encodings would be noise-sized: only the value is masked."""
    short = "k" * (MIN_ENCODED_LEN - 1)
    assert Masker([short]).mask(base64.b64encode(short.encode())) == base64.b64encode(
        short.encode())
    assert encoded_forms(b"x" * MIN_ENCODED_LEN)
    assert all(len(form) >= MIN_ENCODED_LEN for form in encoded_forms(b"a" * MIN_ENCODED_LEN))


def test_each_line_of_a_multiline_secret_is_masked_encoded() -> None:
    first, second = "line-one-of-key", "line-two-of-key"
    shown = Masker([f"{first}\n{second}"]).mask(base64.b64encode(second.encode()))
    assert shown == MASK


def test_agent_trace_masks_encoded_secrets(tmp_path: Path) -> None:
    """The agent's trace (what GitLab stores) masks the encoded forms too."""
    path = tmp_path / "trace"
    with TraceBuffer(path, [SECRET]) as trace:
        trace.write(b"b64 " + base64.b64encode(RAW) + b"\n")
        trace.write(b"url " + urllib.parse.quote(SECRET, safe="").encode() + b"\n")
        trace.flush()
    stored = path.read_bytes()
    assert stored == b"b64 " + MASK + b"\nurl " + MASK + b"\n"
