"""When to try a GitLab request again, and how long to wait first (gitlab-runner's rules).

gitlab-runner's retry requester (``network/retry_requester.go``) retries a
request answered 408, 429, 500, 502, 503, 504 or >= 512, up to 5 attempts in
all, waiting for ``RateLimit-ResetTime`` (an HTTP date) if the answer has one,
else ``Retry-After`` (seconds), else an exponential backoff with jitter. We do
the same, and treat a refused or dropped connection like a 503. Pure
functions, so the rules are tested without a server.
"""

from __future__ import annotations

import random
from collections.abc import Mapping
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime

ATTEMPTS = 5
BACKOFF_MIN_S = 0.1
BACKOFF_MAX_S = 60.0
RETRY_STATUSES = frozenset({408, 429, 500, 502, 503, 504})


def retryable(status: int) -> bool:
    """Whether an answer with ``status`` is worth another attempt."""
    return status in RETRY_STATUSES or status >= 512


def backoff_s(attempt: int, rng: random.Random | None = None) -> float:
    """Exponential backoff with jitter: attempt 1 waits up to 0.1 s, doubling to 60 s."""
    return jittered(min(BACKOFF_MAX_S, BACKOFF_MIN_S * 2 ** max(attempt - 1, 0)), rng)


def jittered(ceiling: float, rng: random.Random | None = None) -> float:
    """A wait between half of ``ceiling`` and all of it, so many agents never retry in step."""
    return (rng or random).uniform(ceiling / 2, ceiling)


def wait_s(headers: Mapping[str, str], attempt: int, now: datetime | None = None,
           rng: random.Random | None = None) -> float:
    """How long to wait before attempt ``attempt + 1``, as the server asked if it did."""
    reset = headers.get("RateLimit-ResetTime")
    if reset:
        try:
            when = parsedate_to_datetime(reset)
        except (TypeError, ValueError):
            when = None
        if when is not None:
            if when.tzinfo is None:
                when = when.replace(tzinfo=UTC)
            delta = (when - (now or datetime.now(UTC))).total_seconds()
            return min(max(delta, 0.0), BACKOFF_MAX_S * 60)
    after = headers.get("Retry-After")
    if after:
        try:
            return min(max(float(after), 0.0), BACKOFF_MAX_S * 60)
        except ValueError:
            pass
    return backoff_s(attempt, rng)
