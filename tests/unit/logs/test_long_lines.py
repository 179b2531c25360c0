"""One endless output line: what is held stays bounded, every byte arrives, secrets stay masked.

A job printed a 40 MB line without a newline; runner re-joined everything it
held with each 64 KiB chunk (quadratic time, ~4x memory). These tests feed
such a line through the real pipeline of stages, chunk by chunk, and assert
on how much each stage holds (not on time).
"""

from __future__ import annotations

import io
from pathlib import Path

from runner.engine.frames import MAX_FRAME, FrameSplitter, Output
from runner.logs.console import MAX_LINE, Console
from runner.logs.joblog import JobLog

CHUNK = 64 * 1024
LINE = 40 * 1024 * 1024
SECRET = "s3cret-value-0123456789"


def test_console_holds_at_most_max_line_and_splits_long_lines() -> None:
    out = io.BytesIO()
    console = Console(out, ["job"], color=False)
    piece = b"a" * CHUNK
    for _ in range(LINE // CHUNK):
        console.output("job", piece)
        assert console.held("job") <= MAX_LINE
    console.output("job", b"tail\n")
    assert console.held("job") == 0
    lines = out.getvalue().split(b"\n")[:-1]
    assert all(line.startswith(b"job | ") for line in lines)
    body = b"".join(line.removeprefix(b"job | ") for line in lines)
    assert body == b"a" * LINE + b"tail"
    # A piece is at most MAX_LINE, and the last one what was held plus the chunk ending it.
    assert max(len(line) for line in lines) <= len(b"job | ") + MAX_LINE + CHUNK


def test_console_keeps_short_partial_lines_whole() -> None:
    """Lines under MAX_LINE still wait for their newline, however many chunks they take."""
    out = io.BytesIO()
    console = Console(out, ["j"], color=False)
    for part in (b"one ", b"two ", b"three\nfour"):
        console.output("j", part)
    console.end("j")
    assert out.getvalue() == b"j | one two three\nj | four\n"


def test_console_one_huge_chunk_is_split_too() -> None:
    out = io.BytesIO()
    console = Console(out, ["j"], color=False)
    console.output("j", b"x" * (3 * MAX_LINE + 5))
    assert console.held("j") == 5
    console.end("j")
    assert out.getvalue().count(b"\n") == 4


def _joblog(tmp_path: Path) -> tuple[JobLog, io.BytesIO, Path]:
    out = io.BytesIO()
    path = tmp_path / "job.log"
    return JobLog("job", path, Console(out, ["job"], color=False), [SECRET]), out, path


def test_secret_across_chunk_boundaries_and_the_split_point_is_masked(tmp_path: Path) -> None:
    """A 40 MB line with the secret straddling every chunk boundary it can, and the console's
    forced split point: masking comes first, so neither the log nor the terminal shows it."""
    joblog, out, path = _joblog(tmp_path)
    secret = SECRET.encode()
    stream = bytearray(b"b" * LINE)
    for offset in (CHUNK - 5, 3 * CHUNK - 1, 2 * MAX_LINE - 7, 5 * MAX_LINE - 11, LINE - 40):
        stream[offset : offset + len(secret)] = secret
    for start in range(0, len(stream), CHUNK):
        joblog.output(bytes(stream[start : start + CHUNK]))
    joblog.close()
    # The terminal's forced split may cut a mask in two: look at the text with splits undone.
    shown = out.getvalue().replace(b"\njob | ", b"")
    for text in (shown, path.read_bytes()):
        assert secret not in text
        assert text.count(b"[MASKED]") == 5


def test_frame_marker_then_endless_output_is_not_held() -> None:
    """The job can print the supervisor's marker (it can read the nonce): a "frame" without
    a newline is output once it is longer than any frame, and nothing grows."""
    splitter = FrameSplitter("abc123")
    marker = b"\x1eabc123 "
    total: list[bytes] = []
    first = True
    for _ in range(LINE // CHUNK // 8):
        chunk = (marker if first else b"") + b"c" * CHUNK
        first = False
        for event in splitter.feed(chunk):
            assert isinstance(event, Output)
            total.append(event.data)
        assert splitter.held < MAX_FRAME
    total += [e.data for e in splitter.flush() if isinstance(e, Output)]
    assert b"".join(total) == marker + b"c" * (CHUNK * (LINE // CHUNK // 8))


def test_many_markers_in_one_chunk_all_pass_as_output() -> None:
    splitter = FrameSplitter("n1")
    chunk = (b"\x1en1 " + b"z" * (MAX_FRAME + 1)) * 50
    events = splitter.feed(chunk) + splitter.flush()
    assert b"".join(e.data for e in events if isinstance(e, Output)) == chunk
