"""TraceSender against a fake job channel: prompt, batched, resumable, and never loses a byte.

``FakeChannel`` keeps the trace the way GitLab does (an append-only byte string
that only accepts a piece starting exactly at its end, answering with where it
is otherwise, like a 416) and records every call with its time.
"""

from __future__ import annotations

import asyncio
import time
import zlib
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from runner.agent import tracesend
from runner.agent.trace import TraceBuffer
from runner.agent.tracesend import PATCH_LIMIT, TraceSender
from runner.coordinator.base import RemoteState, TraceAck, UpdateAck, Upload
from runner.errors import CoordinatorError


@dataclass
class Patch:
    at: float
    offset: int
    data: bytes
    accepted: bool


@dataclass
class FakeChannel:
    """A JobChannel whose server side is a bytearray; ``fail``/``state`` script its answers."""

    stored: bytearray = field(default_factory=bytearray)
    patches: list[Patch] = field(default_factory=list)
    updates: list[dict[str, object]] = field(default_factory=list)
    state: RemoteState = RemoteState.RUNNING
    """Job state reported with every answer."""
    fail: int = 0
    """Answer this many of the next calls with CoordinatorError (GitLab unreachable)."""
    interval_s: float | None = None
    delay_s: float = 0.0

    async def append_trace(self, offset: int, data: bytes) -> TraceAck:
        await asyncio.sleep(self.delay_s)
        if self.fail:
            self.fail -= 1
            self.patches.append(Patch(time.monotonic(), offset, data, accepted=False))
            raise CoordinatorError("GitLab could not be reached (fake); tried 5 times")
        accepted = offset == len(self.stored) and self.state is not RemoteState.ABORT \
            and self.state is not RemoteState.GONE
        self.patches.append(Patch(time.monotonic(), offset, data, accepted))
        if accepted:
            self.stored += data
        return TraceAck(self.state, len(self.stored), self.interval_s)

    async def update(self, state: str, *, failure_reason: str | None = None,
                     exit_code: int | None = None, checksum: str | None = None,
                     bytesize: int | None = None) -> UpdateAck:
        if self.fail:
            self.fail -= 1
            raise CoordinatorError("GitLab could not be reached (fake)")
        self.updates.append({"at": time.monotonic(), "state": state, "checksum": checksum,
                             "bytesize": bytesize})
        return UpdateAck(self.state, True, self.interval_s)

    async def upload(self, upload: Upload) -> None:
        raise AssertionError("the trace sender never uploads")

    async def download(self, job_id: int, token: str, dest: Path) -> bool:
        raise AssertionError("the trace sender never downloads")

    @property
    def sent(self) -> list[tuple[int, bytes]]:
        return [(patch.offset, patch.data) for patch in self.patches]


Body = Callable[[TraceSender, TraceBuffer, FakeChannel, list[RemoteState]], Awaitable[None]]


def run(tmp_path: Path, body: Body, *, channel: FakeChannel | None = None,
        interval_s: float = 0.05) -> FakeChannel:
    """Run ``body`` with a sender over a fresh trace; the trace is closed afterwards."""
    fake = channel or FakeChannel()

    async def main() -> None:
        with TraceBuffer(tmp_path / "trace", []) as buffer:
            states: list[RemoteState] = []
            sender = TraceSender(fake, buffer, states.append, interval_s=interval_s)
            try:
                await body(sender, buffer, fake, states)
            finally:
                await sender.finish(deadline_s=0)

    asyncio.run(main())
    return fake


async def until(predicate: Callable[[], bool], timeout: float = 5.0) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, "timed out"
        await asyncio.sleep(0.005)


@pytest.fixture(autouse=True)
def quick_retries(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(tracesend, "RETRY_MAX_S", 0.02)


def test_new_bytes_go_out_promptly(tmp_path: Path) -> None:
    async def body(sender: TraceSender, buffer: TraceBuffer, fake: FakeChannel,
                   _states: list[RemoteState]) -> None:
        sender.start()
        await asyncio.sleep(0.05)
        written = time.monotonic()
        buffer.write(b"$ make\n")
        await until(lambda: bytes(fake.stored) == b"$ make\n")
        assert fake.patches[0].at - written < 0.5
        assert sender.sent == 7

    fake = run(tmp_path, body, interval_s=3.0)  # the first piece does not wait for an interval
    assert fake.sent == [(0, b"$ make\n")]


def test_bytes_written_within_an_interval_go_out_together(tmp_path: Path) -> None:
    async def body(sender: TraceSender, buffer: TraceBuffer, fake: FakeChannel,
                   _states: list[RemoteState]) -> None:
        sender.start()
        buffer.write(b"one\n")
        await until(lambda: len(fake.stored) == 4)
        for line in (b"two\n", b"three\n", b"four\n"):
            buffer.write(line)
            await asyncio.sleep(0.01)
        await until(lambda: len(fake.stored) == 19)
        assert fake.patches[1].at - fake.patches[0].at >= 0.25

    fake = run(tmp_path, body, interval_s=0.3)
    assert fake.sent == [(0, b"one\n"), (4, b"two\nthree\nfour\n")]


def test_server_interval_is_adopted(tmp_path: Path) -> None:
    async def body(sender: TraceSender, buffer: TraceBuffer, fake: FakeChannel,
                   _states: list[RemoteState]) -> None:
        sender.start()
        buffer.write(b"a")
        await until(lambda: len(fake.stored) == 1)
        assert sender.interval_s == 7.5

    run(tmp_path, body, channel=FakeChannel(interval_s=7.5))


def test_resumes_from_where_the_server_is(tmp_path: Path) -> None:
    """A 416 (GitLab already holds the first bytes) moves the offset; nothing is sent twice."""
    async def body(sender: TraceSender, buffer: TraceBuffer, fake: FakeChannel,
                   _states: list[RemoteState]) -> None:
        buffer.write(b"abcdef")
        fake.stored += b"abc"  # from an earlier agent, say
        sender.start()
        await until(lambda: sender.sent == 6)

    fake = run(tmp_path, body)
    assert fake.sent == [(0, b"abcdef"), (3, b"def")]
    assert bytes(fake.stored) == b"abcdef"


def test_resends_what_the_server_lost(tmp_path: Path) -> None:
    async def body(sender: TraceSender, buffer: TraceBuffer, fake: FakeChannel,
                   _states: list[RemoteState]) -> None:
        sender.start()
        buffer.write(b"0123456789")
        await until(lambda: sender.sent == 10)
        del fake.stored[4:]  # the server kept only 4 bytes
        buffer.write(b"ab")
        await until(lambda: bytes(fake.stored) == b"0123456789ab")

    fake = run(tmp_path, body)
    assert fake.sent == [(0, b"0123456789"), (10, b"ab"), (4, b"456789ab")]


def test_failed_send_keeps_the_bytes_and_tries_again(tmp_path: Path) -> None:
    async def body(sender: TraceSender, buffer: TraceBuffer, fake: FakeChannel,
                   _states: list[RemoteState]) -> None:
        fake.fail = 2
        sender.start()
        buffer.write(b"important\n")
        await until(lambda: bytes(fake.stored) == b"important\n")
        assert sender.sent == 10

    fake = run(tmp_path, body)
    assert [(p.offset, p.data, p.accepted) for p in fake.patches] == [
        (0, b"important\n", False), (0, b"important\n", False), (0, b"important\n", True)]


def test_bytes_written_during_an_outage_go_out_with_the_retry(tmp_path: Path) -> None:
    async def body(sender: TraceSender, buffer: TraceBuffer, fake: FakeChannel,
                   _states: list[RemoteState]) -> None:
        fake.fail = 1
        sender.start()
        buffer.write(b"a\n")
        await until(lambda: len(fake.patches) == 1)
        buffer.write(b"b\n")
        await until(lambda: bytes(fake.stored) == b"a\nb\n")

    fake = run(tmp_path, body)
    assert fake.patches[-1].offset == 0
    assert fake.patches[-1].data == b"a\nb\n"


@pytest.mark.parametrize("state", [RemoteState.ABORT, RemoteState.GONE])
def test_stops_when_the_server_is_done_with_the_job(tmp_path: Path, state: RemoteState) -> None:
    async def body(sender: TraceSender, buffer: TraceBuffer, fake: FakeChannel,
                   states: list[RemoteState]) -> None:
        sender.start()
        buffer.write(b"first\n")
        await until(lambda: len(fake.patches) == 1)
        await until(lambda: sender.gone)
        assert states == [state]
        buffer.write(b"more\n")
        await asyncio.sleep(0.2)
        assert len(fake.patches) == 1  # nothing more is sent
        assert not await sender.finish(deadline_s=1)  # and finish does not try either
        assert len(fake.patches) == 1

    run(tmp_path, body, channel=FakeChannel(state=state))


def test_canceling_is_reported_and_sending_goes_on(tmp_path: Path) -> None:
    async def body(sender: TraceSender, buffer: TraceBuffer, fake: FakeChannel,
                   states: list[RemoteState]) -> None:
        sender.start()
        buffer.write(b"working\n")
        await until(lambda: len(fake.stored) == 8)
        fake.state = RemoteState.CANCELING
        buffer.write(b"stopping\n")
        await until(lambda: len(fake.stored) == 17)
        assert states == [RemoteState.RUNNING, RemoteState.CANCELING]
        assert not sender.gone

    run(tmp_path, body)


def test_finish_sends_everything_in_pieces(tmp_path: Path) -> None:
    data = bytes(range(256)) * (PATCH_LIMIT // 256) * 2 + b"tail\n"  # 2 MiB and a bit

    async def body(sender: TraceSender, buffer: TraceBuffer, fake: FakeChannel,
                   _states: list[RemoteState]) -> None:
        buffer.write(data)
        assert await sender.finish()
        assert sender.sent == len(data)

    fake = run(tmp_path, body)
    assert [(offset, len(piece)) for offset, piece in fake.sent] == [
        (0, PATCH_LIMIT), (PATCH_LIMIT, PATCH_LIMIT), (2 * PATCH_LIMIT, 5)]
    assert bytes(fake.stored) == data


def test_finish_does_not_wait_for_the_interval(tmp_path: Path) -> None:
    async def body(sender: TraceSender, buffer: TraceBuffer, fake: FakeChannel,
                   _states: list[RemoteState]) -> None:
        sender.start()
        buffer.write(b"a\n")
        await until(lambda: len(fake.stored) == 2)
        buffer.write(b"Job succeeded\n")
        began = time.monotonic()
        assert await sender.finish()
        assert time.monotonic() - began < 1.0
        assert bytes(fake.stored) == b"a\nJob succeeded\n"

    run(tmp_path, body, interval_s=30.0)


def test_finish_retries_through_failures(tmp_path: Path) -> None:
    async def body(sender: TraceSender, buffer: TraceBuffer, fake: FakeChannel,
                   _states: list[RemoteState]) -> None:
        buffer.write(b"last words\n")
        fake.fail = 3
        assert await sender.finish(deadline_s=10)
        assert bytes(fake.stored) == b"last words\n"

    fake = run(tmp_path, body)
    assert len(fake.patches) == 4


def test_finish_gives_up_at_its_deadline(tmp_path: Path) -> None:
    async def body(sender: TraceSender, buffer: TraceBuffer, fake: FakeChannel,
                   _states: list[RemoteState]) -> None:
        buffer.write(b"never arrives\n")
        fake.fail = 10**6
        began = time.monotonic()
        assert not await sender.finish(deadline_s=0.3)
        assert time.monotonic() - began < 2.0
        assert sender.sent == 0
        fake.fail = 0

    run(tmp_path, body)


def test_touch_after_silence(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(tracesend, "TOUCH_AFTER_S", 0.15)

    async def body(sender: TraceSender, buffer: TraceBuffer, fake: FakeChannel,
                   states: list[RemoteState]) -> None:
        sender.start()
        buffer.write(b"quiet from now on\n")
        await until(lambda: len(fake.stored) == 18)
        sent_at = fake.patches[-1].at
        await until(lambda: len(fake.updates) >= 2)
        first, second = fake.updates[:2]
        assert first["state"] == "running"
        assert first["bytesize"] == 18
        assert first["checksum"] == f"crc32:{zlib.crc32(bytes(fake.stored)):08x}"
        assert float(str(first["at"])) - sent_at >= 0.14
        assert float(str(second["at"])) - float(str(first["at"])) >= 0.14
        assert len(fake.patches) == 1  # a touch is an update, not an empty PATCH
        assert states == [RemoteState.RUNNING] * 3

    run(tmp_path, body)


def test_touch_hears_a_cancel(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(tracesend, "TOUCH_AFTER_S", 0.1)

    async def body(sender: TraceSender, buffer: TraceBuffer, fake: FakeChannel,
                   states: list[RemoteState]) -> None:
        fake.state = RemoteState.CANCELING
        sender.start()
        await until(lambda: RemoteState.CANCELING in states)
        assert fake.patches == []
        assert fake.updates[0]["bytesize"] == 0

    run(tmp_path, body)


def test_no_touch_while_output_flows(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(tracesend, "TOUCH_AFTER_S", 0.2)

    async def body(sender: TraceSender, buffer: TraceBuffer, fake: FakeChannel,
                   _states: list[RemoteState]) -> None:
        sender.start()
        for _ in range(12):
            buffer.write(b".")
            await asyncio.sleep(0.05)
        assert fake.updates == []

    run(tmp_path, body, interval_s=0.01)


def test_touch_failure_is_not_fatal(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(tracesend, "TOUCH_AFTER_S", 0.05)

    async def body(sender: TraceSender, buffer: TraceBuffer, fake: FakeChannel,
                   _states: list[RemoteState]) -> None:
        fake.fail = 1
        sender.start()
        await until(lambda: len(fake.updates) >= 1)
        buffer.write(b"still here\n")
        await until(lambda: len(fake.stored) == 11)

    run(tmp_path, body)


def test_reset_sends_everything_again(tmp_path: Path) -> None:
    async def body(sender: TraceSender, buffer: TraceBuffer, fake: FakeChannel,
                   _states: list[RemoteState]) -> None:
        sender.start()
        buffer.write(b"hello\nworld\n")
        await until(lambda: sender.sent == 12)
        fake.stored.clear()  # GitLab answered 412: it lost the trace
        sender.reset()
        await until(lambda: bytes(fake.stored) == b"hello\nworld\n")

    fake = run(tmp_path, body)
    assert fake.sent == [(0, b"hello\nworld\n"), (0, b"hello\nworld\n")]


def test_reset_before_finish(tmp_path: Path) -> None:
    async def body(sender: TraceSender, buffer: TraceBuffer, fake: FakeChannel,
                   _states: list[RemoteState]) -> None:
        buffer.write(b"abc")
        assert await sender.finish()
        fake.stored.clear()
        sender.reset()
        assert await sender.finish()
        assert bytes(fake.stored) == b"abc"

    run(tmp_path, body)
