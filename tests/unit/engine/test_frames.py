"""The supervisor stream splitter: output passes through, frames become events."""

from __future__ import annotations

from runner.engine.frames import Exited, FrameSplitter, Output, Ready

RS = b"\x1e"


def _all(chunks: list[bytes]) -> list[object]:
    splitter = FrameSplitter("abc123")
    events: list[object] = []
    for chunk in chunks:
        events += splitter.feed(chunk)
    return events + list(splitter.flush())


def _joined(events: list[object]) -> list[object]:
    """Merge adjacent Output events so tests do not depend on chunking."""
    out: list[object] = []
    for event in events:
        if isinstance(event, Output) and out and isinstance(out[-1], Output):
            out[-1] = Output(out[-1].data + event.data)
        else:
            out.append(event)
    return out


def test_ready_output_exit() -> None:
    """A ready frame, job output and an exit frame come out in order."""
    data = RS + b"abc123 ready 1 2\nhello\nworld" + RS + b"abc123 rc 3\n"
    assert _joined(_all([data])) == [Ready(1, 2), Output(b"hello\nworld"), Exited(3)]


def test_frame_split_across_every_byte() -> None:
    """Feeding one byte at a time gives the same events."""
    data = b"out" + RS + b"abc123 rc 0\nmore"
    assert _joined(_all([bytes([b]) for b in data])) == [Output(b"out"), Exited(0), Output(b"more")]


def test_other_nonce_is_output() -> None:
    """A frame with another nonce is just job output."""
    data = RS + b"zzz ready 1 1\n"
    assert _joined(_all([data])) == [Output(data)]


def test_partial_marker_at_end_is_flushed_as_output() -> None:
    """A held-back partial marker is output if the stream ends there."""
    assert _joined(_all([b"x" + RS + b"abc"])) == [Output(b"x" + RS + b"abc")]


def test_garbled_frame_is_shown_not_lost() -> None:
    """An unknown frame word is shown as output rather than dropped."""
    events = _joined(_all([RS + b"abc123 what 1\n"]))
    assert events == [Output(b"what 1\n")]


def test_exit_frame_with_step() -> None:
    """``rc STATUS STEP``: the step the failing script was at; a garbled step is ignored."""
    data = RS + b"abc123 rc 2 7\n" + RS + b"abc123 rc 1 x\n" + RS + b"abc123 rc 0\n"
    assert _all([data]) == [Exited(2, 7), Exited(1), Exited(0)]
    assert Exited(1).step is None
