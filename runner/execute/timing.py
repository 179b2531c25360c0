"""How long a job took: the time it was busy, counted from when its attempt began.

A job's container starts early, while its needs still run, so a job that
waited five minutes for a build would seem to take five minutes if timed from
its start, and an image pull that failed long before the job could run would
seem to take no time at all if timed from when it could run ("failed 0.00s").
A job's duration is therefore the time from when it could run to its end,
plus whatever of its image fetch and container start happened before that.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable
from dataclasses import dataclass


def job_duration(start_began: float | None, start_ended: float | None, run_began: float,
                 ended: float) -> float:
    """Seconds the job was busy; times are ``time.monotonic()`` readings.

    ``start_*``: the first attempt's image fetch and container start (None if
    unknown); ``run_began``: when its needs and a concurrency slot allowed it to run.
    """
    early = 0.0
    if start_began is not None and start_began < run_began:
        early = min(start_ended if start_ended is not None else run_began, run_began)
        early -= start_began
    return ended - run_began + max(early, 0.0)


@dataclass
class StartClock:
    """When an attempt's ``start`` (image fetch, container start) began and ended."""

    began: float | None = None
    ended: float | None = None

    async def timing(self, start: Awaitable[None]) -> None:
        """Await ``start``, noting when it began and when it ended (however it ended)."""
        self.began = time.monotonic()
        try:
            await start
        finally:
            self.ended = time.monotonic()
