"""The job trace: nothing secret is ever stored, and size/checksum describe the file exactly."""

from __future__ import annotations

import os
import random
import re
import stat
import zlib
from collections.abc import Sequence
from pathlib import Path

import pytest

from runner.agent.trace import (
    DEFAULT_LIMIT,
    DEFAULT_TOKEN_PREFIXES,
    URL_PARAM_KEYS,
    TraceBuffer,
    limit_notice,
)
from runner.logs.mask import Masker

SECRET = "s3cr3t-value"
M = b"[MASKED]"


def _run(tmp_path: Path, chunks: list[bytes], masked: tuple[str, ...] = (SECRET,), *,
         limit: int = DEFAULT_LIMIT,
         token_prefixes: Sequence[str] = DEFAULT_TOKEN_PREFIXES) -> bytes:
    path = tmp_path / f"trace-{len(list(tmp_path.iterdir()))}"
    with TraceBuffer(path, masked, limit=limit, token_prefixes=token_prefixes) as trace:
        for chunk in chunks:
            trace.write(chunk)
        trace.flush()
        stored = path.read_bytes()
        assert trace.size == len(stored)
        assert trace.checksum() == f"crc32:{zlib.crc32(stored):08x}"
        assert trace.read(0, len(stored) + 10) == stored
    return stored


def _every_split(tmp_path: Path, data: bytes, expected: bytes,
                 masked: tuple[str, ...] = (SECRET,)) -> None:
    for cut in range(len(data) + 1):
        got = _run(tmp_path, [data[:cut], data[cut:]], masked)
        assert got == expected, (cut, got)


# --- phrase masking ------------------------------------------------------------


def test_secret_split_at_every_point(tmp_path: Path) -> None:
    """Whatever two writes a secret is cut into, it is stored as [MASKED]."""
    _every_split(tmp_path, b"a s3cr3t-value b\n", b"a " + M + b" b\n")


def test_secret_byte_by_byte(tmp_path: Path) -> None:
    data = b"x" + SECRET.encode() + b"y"
    assert _run(tmp_path, [bytes([b]) for b in data]) == b"x" + M + b"y"


def test_secret_inside_url_parameter_masked_once(tmp_path: Path) -> None:
    """The phrase masker runs first; the URL sanitizer then masks the (masked) value again."""
    data = b"GET /x?private_token=s3cr3t-value&y=1\n"
    assert _run(tmp_path, [data]) == b"GET /x?private_token=" + M + b"&y=1\n"


# --- token prefixes ------------------------------------------------------------


@pytest.mark.parametrize("prefix", DEFAULT_TOKEN_PREFIXES)
def test_every_default_prefix_split_at_every_point(tmp_path: Path, prefix: str) -> None:
    data = b"use " + prefix.encode() + b"Ab.9_=-z now\n"
    _every_split(tmp_path, data, b"use " + prefix.encode() + M + b" now\n", masked=())


def test_token_byte_by_byte(tmp_path: Path) -> None:
    data = b"t=glrtr-abcDEF123 done"
    assert _run(tmp_path, [bytes([b]) for b in data], masked=()) == b"t=glrtr-" + M + b" done"


def test_token_at_end_of_stream(tmp_path: Path) -> None:
    """A token that ends the stream is masked at flush."""
    assert _run(tmp_path, [b"x glpat-ab", b"cd"], masked=()) == b"x glpat-" + M


def test_long_token_is_swallowed_not_held(tmp_path: Path) -> None:
    """A huge token body does not pile up in memory: the mask is stored at once."""
    path = tmp_path / "trace"
    with TraceBuffer(path, ()) as trace:
        trace.write(b"glpat-a")
        assert path.read_bytes() == b"glpat-" + M
        for _ in range(100):
            trace.write(b"b" * 1000)
        assert trace.size == len(b"glpat-" + M)
        trace.write(b" end")
        trace.flush()
        assert path.read_bytes() == b"glpat-" + M + b" end"


def test_ordinary_text_is_not_touched(tmp_path: Path) -> None:
    """Words that merely start like a prefix, or a prefix with no body, stay as they are."""
    data = b"global glad- gl glp glpat glpat- glrt-\n_gitlab_session= x gltok-\tend gl"
    _every_split(tmp_path, data, data, masked=())


def test_prefix_inside_a_word_is_masked(tmp_path: Path) -> None:
    """Like gitlab-runner, prefixes need no word boundary: tokens come glued to text."""
    data = b"a-glpat-xyz oauth2:glpat-tok@host"
    assert _run(tmp_path, [data], masked=()) == b"a-glpat-" + M + b" oauth2:glpat-" + M + b"@host"


def test_extra_prefixes_add_to_the_defaults(tmp_path: Path) -> None:
    """A job's token_mask_prefixes never replace the default prefixes, only add to them."""
    got = _run(tmp_path, [b"mytok_abc glpat-x glrt-y other_z"], masked=(),
               token_prefixes=["mytok_"])
    assert got == b"mytok_" + M + b" glpat-" + M + b" glrt-" + M + b" other_z"
    got = _run(tmp_path, [b"glrt-y"], masked=(), token_prefixes=())
    assert got == b"glrt-" + M
    got = _run(tmp_path, [b"my", b"tok_abc"], masked=(),
               token_prefixes=[*DEFAULT_TOKEN_PREFIXES, " mytok_ "])
    assert got == b"mytok_" + M


# --- URL parameters ------------------------------------------------------------


@pytest.mark.parametrize("key", URL_PARAM_KEYS)
def test_every_url_parameter_split_at_every_point(tmp_path: Path, key: str) -> None:
    data = b"curl https://h/p?a=1&" + key.encode() + b"=v4lue%2F/x&b=2 ok\n"
    expected = b"curl https://h/p?a=1&" + key.encode() + b"=" + M + b"&b=2 ok\n"
    _every_split(tmp_path, data, expected, masked=())


def test_url_parameter_cases(tmp_path: Path) -> None:
    """Keys match case-insensitively after ? or &; values end at ?, &, space or control."""
    data = (b"?PRIVATE_TOKEN=abc\n?rss_token=a?b &X-Amz-Signature=ff\tz"
            b" ?private_token=&n private_token=plain")
    expected = (b"?PRIVATE_TOKEN=" + M + b"\n?rss_token=" + M + b"?b &X-Amz-Signature=" + M
                + b"\tz ?private_token=" + M + b"&n private_token=plain")
    assert _run(tmp_path, [data], masked=()) == expected


def test_url_parameter_value_at_end_of_stream(tmp_path: Path) -> None:
    assert _run(tmp_path, [b"u?authenticity_token=ab", b"c"], masked=()) == (
        b"u?authenticity_token=" + M)


def test_partial_key_is_released_at_flush(tmp_path: Path) -> None:
    """A held tail that never became a match is stored unchanged at the end."""
    path = tmp_path / "trace"
    with TraceBuffer(path, ()) as trace:
        trace.write(b"see ?private_to")
        assert path.read_bytes() == b"see "
        trace.flush()
        assert path.read_bytes() == b"see ?private_to"


# --- limit, size, checksum -------------------------------------------------------


def test_limit_notice_once_and_counters_match_file(tmp_path: Path) -> None:
    path = tmp_path / "trace"
    notice = limit_notice(100)
    assert notice == (b"\nJob's log exceeded limit of 100 bytes.\n"
                      b"Job execution will continue but no more output will be collected.\n")
    with TraceBuffer(path, (), limit=100) as trace:
        for index in range(10):
            trace.write(b"%029d\n" % index)
        trace.flush()
        stored = path.read_bytes()
        assert stored.count(b"exceeded limit") == 1
        assert stored == b"".join(b"%029d\n" % i for i in range(4))[:100] + notice
        assert trace.truncated
        assert trace.size == len(stored)
        assert trace.checksum() == f"crc32:{zlib.crc32(stored):08x}"


def test_exactly_at_limit_has_no_notice(tmp_path: Path) -> None:
    assert _run(tmp_path, [b"x" * 50, b"y" * 50], masked=(), limit=100) == b"x" * 50 + b"y" * 50


def test_limit_cut_does_not_split_a_character(tmp_path: Path) -> None:
    got = _run(tmp_path, [b"abcd\xc3\xa9z"], masked=(), limit=5)
    assert got == b"abcd" + limit_notice(5)


def test_masking_happens_before_the_limit(tmp_path: Path) -> None:
    """A secret that straddles the limit is never partly stored."""
    got = _run(tmp_path, [b"ab" + SECRET.encode()], limit=6)
    assert SECRET[:4].encode() not in got
    assert got.startswith(b"ab[MAS")


def test_checksum_of_empty_trace(tmp_path: Path) -> None:
    with TraceBuffer(tmp_path / "t", ()) as trace:
        assert trace.checksum() == "crc32:00000000"
        assert trace.size == 0
        assert trace.read(0, 10) == b""


def test_read_ranges(tmp_path: Path) -> None:
    with TraceBuffer(tmp_path / "t", ()) as trace:
        trace.write(b"0123456789")
        assert trace.read(2, 3) == b"234"
        assert trace.read(8, 100) == b"89"
        assert trace.read(20, 5) == b""
        with pytest.raises(ValueError, match="bad trace range"):
            trace.read(-1, 5)


# --- listeners -----------------------------------------------------------------


def test_listener_called_only_when_bytes_were_stored(tmp_path: Path) -> None:
    calls: list[int] = []
    with TraceBuffer(tmp_path / "t", (SECRET,)) as trace:
        trace.add_listener(lambda: calls.append(trace.size))
        trace.write(b"hello ")
        trace.write(b"s3cr")  # held: could be the secret
        trace.write(b"")
        assert calls == [6]
        trace.write(b"3t-value!")
        trace.flush()  # nothing left to store
        assert calls == [6, 6 + len(M) + 1]


# --- the file ------------------------------------------------------------------


def test_file_mode_is_0600_whatever_the_umask(tmp_path: Path) -> None:
    old = os.umask(0o000)
    try:
        with TraceBuffer(tmp_path / "t", ()):
            pass
    finally:
        os.umask(old)
    assert stat.S_IMODE((tmp_path / "t").stat().st_mode) == 0o600


def test_refuses_existing_file(tmp_path: Path) -> None:
    path = tmp_path / "t"
    path.write_bytes(b"keep")
    with pytest.raises(FileExistsError):
        TraceBuffer(path, ())
    assert path.read_bytes() == b"keep"


@pytest.mark.parametrize("dangling", [True, False])
def test_refuses_symlink(tmp_path: Path, dangling: bool) -> None:
    target = tmp_path / "elsewhere"
    if not dangling:
        target.write_bytes(b"keep")
    link = tmp_path / "t"
    link.symlink_to(target)
    with pytest.raises(OSError):  # EEXIST or ELOOP: both refuse
        TraceBuffer(link, ())
    assert target.exists() is not dangling
    if not dangling:
        assert target.read_bytes() == b"keep"


def test_reopen_restores_size_and_checksum(tmp_path: Path) -> None:
    """After a crash the trace is appended to, and the counters cover old and new bytes."""
    path = tmp_path / "t"
    with TraceBuffer(path, (SECRET,)) as trace:
        trace.write(b"before s3cr3t-value\n")
        trace.flush()
    with TraceBuffer.reopen(path) as again:
        assert again.size == len(b"before \n" + M)
        again.write(b"after glpat-abc\n")
        again.flush()
        stored = path.read_bytes()
        assert stored == b"before " + M + b"\nafter glpat-" + M + b"\n"
        assert again.size == len(stored)
        assert again.checksum() == f"crc32:{zlib.crc32(stored):08x}"


def test_reopen_keeps_a_cut_trace_cut(tmp_path: Path) -> None:
    path = tmp_path / "t"
    with TraceBuffer(path, (), limit=10) as trace:
        trace.write(b"x" * 20)
    with TraceBuffer.reopen(path, limit=10) as again:
        assert again.truncated
        again.write(b"more")
        assert path.read_bytes() == b"x" * 10 + limit_notice(10)


def test_reopen_refuses_symlink_and_missing(tmp_path: Path) -> None:
    (tmp_path / "real").write_bytes(b"x")
    (tmp_path / "link").symlink_to(tmp_path / "real")
    with pytest.raises(OSError):  # ELOOP
        TraceBuffer.reopen(tmp_path / "link")
    with pytest.raises(FileNotFoundError):
        TraceBuffer.reopen(tmp_path / "missing")


def test_closed_buffer_refuses_use(tmp_path: Path) -> None:
    trace = TraceBuffer(tmp_path / "t", ())
    trace.close()
    trace.close()
    with pytest.raises(ValueError, match="closed"):
        trace.write(b"x")
    with pytest.raises(ValueError, match="closed"):
        trace.read(0, 1)


def _reference(data: bytes) -> bytes:
    """The same masking done the obvious, non-streaming way."""
    keys = b"|".join(re.escape(key.encode()) for key in URL_PARAM_KEYS)
    prefixes = b"|".join(re.escape(p.encode()) for p in DEFAULT_TOKEN_PREFIXES)
    data = Masker([SECRET]).mask(data)
    data = re.sub(rb"([?&](?:" + keys + rb")=)[^?&\s\x00-\x1f\x7f]*", rb"\1[MASKED]", data,
                  flags=re.IGNORECASE)
    return re.sub(b"(" + prefixes + rb")[0-9A-Za-z._=-]+", rb"\1[MASKED]", data)


def test_random_chunking_matches_one_write(tmp_path: Path) -> None:
    """However the stream is chopped up, the stored trace is the same as for one write."""
    rng = random.Random(1234)
    words = [b"s3cr3t-value", b"glpat-", b"glrt", b"gl", b"abc", b" ", b"\n", b"?",
             b"&", b"private_token=", b"X-AMZ-CREDENTIAL=", b"_gitlab_session=", b"[MASKED]",
             b"s3cr", b"=", b"-", b"\xc3\xa9"]
    for _ in range(40):
        data = b"".join(rng.choice(words) for _ in range(60))
        whole = _run(tmp_path, [data])
        assert whole == _reference(data)
        assert SECRET.encode() not in whole
        cuts = sorted(rng.sample(range(len(data) + 1), 12))
        chunks = [data[a:b] for a, b in zip([0, *cuts], [*cuts, len(data)], strict=True)]
        assert _run(tmp_path, chunks) == whole
