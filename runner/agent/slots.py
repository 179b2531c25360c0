"""A counting semaphore whose size can change while it is held: ``concurrent`` and each
runner's ``limit`` after a config reload (SIGHUP).

``asyncio.Semaphore`` cannot shrink or grow. Here a smaller size only stops new
acquisitions until enough holders release (running jobs are never touched);
a larger one wakes waiters at once. Size 0 means no bound (a runner's
``limit: 0``).
"""

from __future__ import annotations

import asyncio


class Slots:
    """``async acquire()`` / ``release()`` with a ``resize(n)``; single event loop only."""

    def __init__(self, size: int) -> None:
        self.size = size
        self.used = 0
        self._waiters: set[asyncio.Future[None]] = set()

    def full(self) -> bool:
        """No slot is free now."""
        return self.size > 0 and self.used >= self.size

    async def acquire(self) -> None:
        """Wait for a free slot and take it."""
        while self.full():
            waiter = asyncio.get_running_loop().create_future()
            self._waiters.add(waiter)
            try:
                await waiter
            finally:
                self._waiters.discard(waiter)
        self.used += 1

    def release(self) -> None:
        """Give a slot back."""
        self.used -= 1
        self._wake()

    def resize(self, size: int) -> None:
        """The new bound, for the next acquisitions; holders keep their slots."""
        self.size = size
        self._wake()

    def _wake(self) -> None:
        for waiter in self._waiters:
            if not waiter.done():
                waiter.set_result(None)


def free_slot_id(size: int, in_use: set[int]) -> int:
    """The lowest ``CI_CONCURRENT_ID`` not held by a running job (after a shrink, jobs may
    still hold ids at or above ``size``, so the lowest free one below it is taken)."""
    return min(set(range(max(size, len(in_use) + 1))) - in_use)
