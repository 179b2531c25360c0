"""Streaming secret masking: no chunking of the stream may leak a secret."""

from __future__ import annotations

import itertools

from runner.logs.mask import MASK, Masker

SECRET = "s3cr3t-value"


def _stream(masker: Masker, chunks: list[bytes]) -> bytes:
    return b"".join(masker.feed(chunk) for chunk in chunks) + masker.flush()


def test_whole_secret_masked() -> None:
    """A secret inside one chunk is replaced."""
    assert _stream(Masker([SECRET]), [b"token=s3cr3t-value;"]) == b"token=" + MASK + b";"


def test_every_split_point_masked() -> None:
    """Whatever two chunks a line is cut into, the secret never appears."""
    data = b"a s3cr3t-value b s3cr3t-value\n"
    for cut in range(len(data) + 1):
        out = _stream(Masker([SECRET]), [data[:cut], data[cut:]])
        assert out == b"a " + MASK + b" b " + MASK + b"\n", cut


def test_byte_by_byte() -> None:
    """One byte at a time still masks."""
    data = b"xx" + SECRET.encode() + b"yy"
    assert _stream(Masker([SECRET]), [bytes([b]) for b in data]) == b"xx" + MASK + b"yy"


def test_nothing_held_without_prefix() -> None:
    """Bytes that cannot start a secret are emitted at once (live logs stay live)."""
    masker = Masker([SECRET])
    assert masker.feed(b"hello\n") == b"hello\n"
    assert masker.feed(b"abc s3c") == b"abc "


def test_multiline_secret_masked_per_line() -> None:
    """Each line of a multi-line secret is masked on its own too."""
    masker = Masker(["line-one-xx\nline-two-yy"])
    assert _stream(masker, [b"line-two-yy\n"]) == MASK + b"\n"


def test_overlapping_secrets_prefer_longest() -> None:
    """When one secret contains another, the longer one is masked whole."""
    out = _stream(Masker(["abcd", "abcdefgh"]), [b"abcdefgh"])
    assert out == MASK


def test_short_values_ignored_and_no_secrets_passthrough() -> None:
    """Values under the minimum length are not masked; no secrets means no change."""
    assert _stream(Masker(["ab"]), [b"ab ab"]) == b"ab ab"
    assert _stream(Masker([]), [b"x", b"y"]) == b"xy"


def test_all_three_chunkings_of_short_line() -> None:
    """Exhaustive 3-way chunking of a short line never leaks."""
    data = b"<s3cr3t-value>"
    for i, j in itertools.combinations(range(len(data) + 1), 2):
        out = _stream(Masker([SECRET]), [data[:i], data[i:j], data[j:]])
        assert out == b"<" + MASK + b">"


def test_added_value_is_masked_from_then_on() -> None:
    masker = Masker([SECRET])
    first = masker.feed(b"plain other-value-9 ")
    masker.add("other-value-9")
    masker.add("")  # an empty mask would mask everything: ignored
    rest = masker.feed(b"then other-value-9 and " + SECRET.encode() + b"\n") + masker.flush()
    assert first + rest == b"plain other-value-9 then " + MASK + b" and " + MASK + b"\n"


def test_githubs_mask_text() -> None:
    """GitHub shows ``***`` where GitLab shows ``[MASKED]``: the dialect chooses."""
    masker = Masker([SECRET], b"***")
    assert _stream(masker, [b"a " + SECRET.encode() + b" b"]) == b"a *** b"
