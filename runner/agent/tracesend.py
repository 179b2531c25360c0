"""Sends a job's trace to the coordinator as it grows, without ever losing a byte.

The trace lives on disk (``TraceBuffer``); what the server holds is just an
offset into it. New output goes out as soon as it is written, but never more
often than the server's update interval (gitlab-runner sends on a fixed
tick instead, so a lone line waits up to the whole interval). A failed send
keeps the bytes and tries again later; a 416 moves the offset to where the
server really is. With nothing to send for 30 s, a "touch" update keeps the
job alive and brings back the server's view of it (cancel requests).
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Callable

import structlog

from runner.agent.trace import TraceBuffer
from runner.coordinator.base import JobChannel, RemoteState
from runner.coordinator.gitlab.retry import jittered
from runner.errors import CoordinatorError

log = structlog.get_logger(__name__)

DEFAULT_INTERVAL_S = 0.5
"""Shortest gap between two sends until the server names its own (GitLab sends 3-60 s)."""
TOUCH_AFTER_S = 30.0
PATCH_LIMIT = 1 << 20
"""gitlab-runner's largest PATCH; bigger traces go out in pieces."""
RETRY_MAX_S = 30.0


class TraceSender:
    """One job's trace uploader; ``on_state`` hears when the server wants the job stopped."""

    def __init__(self, channel: JobChannel, buffer: TraceBuffer,
                 on_state: Callable[[RemoteState], None], *,
                 interval_s: float = DEFAULT_INTERVAL_S) -> None:
        self._channel = channel
        self._buffer = buffer
        self._on_state = on_state
        self.interval_s = interval_s
        self.sent = 0
        """Bytes the server has acknowledged."""
        self.gone = False
        """The server refused the trace for good (403/404): stop sending."""
        self._wake = asyncio.Event()
        self._last_send = 0.0
        self._failures = 0
        self._task: asyncio.Task[None] | None = None
        buffer.add_listener(self._wake.set)

    def start(self) -> None:
        """Begin sending in the background."""
        self._task = asyncio.create_task(self._loop())

    async def finish(self, deadline_s: float = 300.0) -> bool:
        """Stop the background loop and send everything left; False if that did not happen."""
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
        until = time.monotonic() + deadline_s
        while not self.gone and self.sent < self._buffer.size:
            if not await self._send_once():
                if time.monotonic() > until:
                    return False
                await asyncio.sleep(min(self._retry_wait(), max(until - time.monotonic(), 0)))
        return not self.gone or self.sent >= self._buffer.size

    def reset(self) -> None:
        """The server lost the trace (GitLab's 412): send it all again from the start."""
        self.sent = 0
        self._wake.set()

    async def _loop(self) -> None:
        while not self.gone:
            # asyncio.timeout, not wait_for: Python 3.11's wait_for can swallow the
            # cancel that finish() sends when the event fires at the same moment.
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(TOUCH_AFTER_S):
                    await self._wake.wait()
            self._wake.clear()
            gap = self.interval_s - (time.monotonic() - self._last_send)
            if gap > 0:
                await asyncio.sleep(gap)
            if self.sent < self._buffer.size:
                if not await self._send_once():
                    await asyncio.sleep(self._retry_wait())
                    self._wake.set()
                elif self.sent < self._buffer.size:
                    self._wake.set()  # more than one piece's worth is waiting
            elif time.monotonic() - self._last_send >= TOUCH_AFTER_S:
                await self._touch()

    async def _send_once(self) -> bool:
        """Send the next piece; False if the server could not be reached."""
        start = self.sent
        data = self._buffer.read(start, PATCH_LIMIT)
        if not data:
            return True
        self._last_send = time.monotonic()
        try:
            ack = await self._channel.append_trace(start, data)
        except CoordinatorError as exc:
            self._failures += 1
            log.warning("trace_send_failed", offset=start, error=str(exc),
                        failures=self._failures)
            return False
        self._failures = 0
        if ack.interval_s is not None:
            self.interval_s = ack.interval_s
        if ack.state in (RemoteState.ABORT, RemoteState.GONE):
            self.gone = True
        else:
            self.sent = min(max(ack.offset, 0), self._buffer.size)
        self._on_state(ack.state)
        return True

    async def _touch(self) -> None:
        """Nothing new to send for a while: ask the server how the job stands."""
        self._last_send = time.monotonic()
        try:
            ack = await self._channel.update("running", checksum=self._buffer.checksum(),
                                             bytesize=self._buffer.size)
        except CoordinatorError as exc:
            log.warning("trace_touch_failed", error=str(exc))
            return
        if ack.interval_s is not None:
            self.interval_s = ack.interval_s
        self._on_state(ack.state)

    def _retry_wait(self) -> float:
        ceiling = min(RETRY_MAX_S, 0.5 * 2 ** min(self._failures, 8))
        return jittered(ceiling)
