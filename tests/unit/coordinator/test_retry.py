"""gitlab-runner's retry rules: which answers are retried, and how long to wait first."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime

import pytest

from runner.coordinator.gitlab import retry

NOW = datetime(2026, 3, 1, 12, 0, 0, tzinfo=UTC)


@pytest.mark.parametrize("status", [408, 429, 500, 502, 503, 504, 512, 520, 599])
def test_retryable_statuses(status: int) -> None:
    assert retry.retryable(status)


@pytest.mark.parametrize("status", [200, 201, 202, 204, 400, 401, 403, 404, 409, 410, 412,
                                    413, 416, 422, 501, 505, 511])
def test_not_retryable_statuses(status: int) -> None:
    """Client errors are final, and so are 501, 505-511 (gitlab-runner's list exactly)."""
    assert not retry.retryable(status)


def test_five_attempts_in_all() -> None:
    assert retry.ATTEMPTS == 5


@pytest.mark.parametrize(("attempt", "ceiling"), [
    (1, 0.1), (2, 0.2), (3, 0.4), (4, 0.8), (10, 51.2), (11, 60.0), (50, 60.0),
])
def test_backoff_between_half_and_the_ceiling(attempt: int, ceiling: float) -> None:
    rng = random.Random(1234)
    waits = [retry.backoff_s(attempt, rng) for _ in range(500)]
    assert all(ceiling / 2 <= wait <= ceiling for wait in waits)
    # jitter really spreads the waits (so agents never retry in step)
    assert max(waits) - min(waits) > ceiling / 4


def test_backoff_is_reproducible_with_a_seed() -> None:
    first = [retry.backoff_s(n, random.Random(7)) for n in range(1, 8)]
    again = [retry.backoff_s(n, random.Random(7)) for n in range(1, 8)]
    assert first == again


def test_backoff_attempt_zero_or_below_waits_like_the_first() -> None:
    rng = random.Random(3)
    assert all(0.05 <= retry.backoff_s(n, rng) <= 0.1 for n in (0, -3))


def test_jittered_bounds() -> None:
    rng = random.Random(99)
    assert all(5.0 <= retry.jittered(10.0, rng) <= 10.0 for _ in range(200))
    assert retry.jittered(0.0, rng) == 0.0


def test_retry_after_seconds() -> None:
    assert retry.wait_s({"Retry-After": "7"}, 1, NOW) == 7.0
    assert retry.wait_s({"Retry-After": "0"}, 3, NOW) == 0.0
    assert retry.wait_s({"Retry-After": "2.5"}, 1, NOW) == 2.5


def test_retry_after_negative_is_no_wait_and_huge_is_capped() -> None:
    assert retry.wait_s({"Retry-After": "-5"}, 1, NOW) == 0.0
    assert retry.wait_s({"Retry-After": "999999"}, 1, NOW) == retry.BACKOFF_MAX_S * 60


def test_retry_after_garbage_falls_back_to_backoff() -> None:
    rng = random.Random(5)
    wait = retry.wait_s({"Retry-After": "soon"}, 2, NOW, rng)
    assert wait == retry.backoff_s(2, random.Random(5))
    assert 0.1 <= wait <= 0.2


def test_no_headers_is_backoff() -> None:
    wait = retry.wait_s({}, 4, NOW, random.Random(11))
    assert wait == retry.backoff_s(4, random.Random(11))


def test_ratelimit_reset_time_is_an_http_date() -> None:
    later = format_datetime(NOW + timedelta(seconds=42), usegmt=True)
    assert later.endswith("GMT")
    assert retry.wait_s({"RateLimit-ResetTime": later}, 1, NOW) == 42.0


def test_ratelimit_reset_time_wins_over_retry_after() -> None:
    later = format_datetime(NOW + timedelta(seconds=3), usegmt=True)
    headers = {"RateLimit-ResetTime": later, "Retry-After": "60"}
    assert retry.wait_s(headers, 1, NOW) == 3.0


def test_ratelimit_reset_time_in_the_past_is_no_wait() -> None:
    earlier = format_datetime(NOW - timedelta(minutes=5), usegmt=True)
    assert retry.wait_s({"RateLimit-ResetTime": earlier}, 1, NOW) == 0.0


def test_ratelimit_reset_time_far_away_is_capped() -> None:
    far = format_datetime(NOW + timedelta(days=2), usegmt=True)
    assert retry.wait_s({"RateLimit-ResetTime": far}, 1, NOW) == retry.BACKOFF_MAX_S * 60


def test_ratelimit_reset_time_without_zone_is_utc() -> None:
    naive = "Sun, 01 Mar 2026 12:00:10 -0000"  # RFC 2822's "unknown zone"
    assert retry.wait_s({"RateLimit-ResetTime": naive}, 1, NOW) == 10.0


def test_ratelimit_reset_time_garbage_falls_back_to_retry_after() -> None:
    headers = {"RateLimit-ResetTime": "not a date", "Retry-After": "4"}
    assert retry.wait_s(headers, 1, NOW) == 4.0


def test_ratelimit_reset_time_garbage_and_nothing_else_is_backoff() -> None:
    wait = retry.wait_s({"RateLimit-ResetTime": "tomorrow"}, 1, NOW, random.Random(2))
    assert wait == retry.backoff_s(1, random.Random(2))
