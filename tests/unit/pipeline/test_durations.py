"""Tests of runner.pipeline.durations: GitLab-style human durations to seconds."""

from __future__ import annotations

import re

import pytest

from runner.pipeline.durations import parse_duration


@pytest.mark.parametrize(
    ("value", "seconds"),
    [
        (90, 90.0),
        (1.5, 1.5),
        (0, 0.0),
        ("90", 90.0),
        (" 90 ", 90.0),
        ("2.5", 2.5),
        ("90s", 90.0),
        ("10m", 600.0),
        ("10 m", 600.0),
        ("1h", 3600.0),
        ("1h 30m", 5400.0),
        ("1h30m", 5400.0),
        ("1H30M", 5400.0),
        ("2 hours", 7200.0),
        ("1 hour", 3600.0),
        ("3 minutes 4 seconds", 184.0),
        ("3 mins 4 secs", 184.0),
        ("1 hour, 30 minutes", 5400.0),
        ("1 hour and 30 minutes", 5400.0),
        ("2 hrs", 7200.0),
        ("1d", 86400.0),
        ("1 day 2h", 93600.0),
        ("1w", 604800.0),
        ("1.5h", 5400.0),
        ("30m 1h", 5400.0),
    ],
)
def test_durations_parse_to_seconds(value: object, seconds: float) -> None:
    """Each accepted spelling gives the exact number of seconds."""
    assert parse_duration(value) == seconds


@pytest.mark.parametrize(
    ("value", "fragment"),
    [
        ("", "the duration is empty"),
        ("   ", "the duration is empty"),
        ("10 parsecs", "unknown unit 'parsecs' in duration '10 parsecs'"),
        ("1h 30", "'30' in duration '1h 30' has no unit"),
        ("ten minutes", "cannot read duration 'ten minutes'"),
        ("1h 2h", "gives the same unit twice ('h' and 'h')"),
        ("1 hour 1h", "gives the same unit twice ('hour' and 'h')"),
        ("-5m", "cannot read duration '-5m'"),
        (-5, "a duration cannot be negative, got '-5'"),
        (float("nan"), "'nan' is not a finite duration"),
        (float("inf"), "'inf' is not a finite duration"),
        (True, "a duration is a number of seconds or a string"),
        (None, "a duration is a number of seconds or a string"),
        ([10], "a duration is a number of seconds or a string"),
    ],
)
def test_bad_durations_raise_value_error(value: object, fragment: str) -> None:
    """Each unreadable duration raises ValueError with a message that says what is wrong."""
    with pytest.raises(ValueError) as info:
        parse_duration(value)
    assert fragment in str(info.value)


def test_error_shows_accepted_forms() -> None:
    """An unreadable duration lists examples of what is accepted."""
    with pytest.raises(ValueError, match=re.escape("e.g. 90, 90s, 10m, 1h 30m")):
        parse_duration("soon")
