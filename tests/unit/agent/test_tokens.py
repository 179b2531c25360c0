"""The pure pieces of token rotation: when a token is reset, and how times are read and kept."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

from runner.agent.config import parse_time
from runner.agent.tokens import reset_time, stamp

OBTAINED = datetime(2027, 1, 1, tzinfo=UTC)


def test_reset_at_three_quarters_of_the_lifetime() -> None:
    """gitlab-runner's nextRunnerToReset: obtained + 0.75 * (expires - obtained)."""
    assert reset_time(OBTAINED, OBTAINED + timedelta(days=28)) == OBTAINED + timedelta(days=21)
    assert reset_time(OBTAINED, OBTAINED + timedelta(seconds=100)) == (
        OBTAINED + timedelta(seconds=75))


def test_an_expiry_already_passed_is_due_at_once() -> None:
    assert reset_time(OBTAINED, OBTAINED - timedelta(days=4)) < OBTAINED


def test_parse_time_reads_gitlabs_spellings_in_utc() -> None:
    assert parse_time("2027-01-05T10:00:00.000Z") == datetime(2027, 1, 5, 10, tzinfo=UTC)
    assert parse_time("2027-01-05T11:00:00+01:00") == datetime(2027, 1, 5, 10, tzinfo=UTC)
    assert parse_time("2027-01-05T10:00:00") == datetime(2027, 1, 5, 10, tzinfo=UTC)
    assert parse_time("next week") is None


def test_stamp_is_utc_to_the_second() -> None:
    moment = datetime(2027, 1, 5, 11, 0, 0, 123456, tzinfo=timezone(timedelta(hours=1)))
    assert stamp(moment) == "2027-01-05T10:00:00Z"
    assert parse_time(stamp(moment)) == moment.replace(microsecond=0)
