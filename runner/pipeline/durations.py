"""Human durations (``90``, ``10m``, ``1h 30m``, ``2 hours``) as GitLab accepts them, to seconds.

Kept free of pipeline types: callers wrap the ValueError into an error that
points at the file position, so the same parser serves every dialect.
"""

from __future__ import annotations

import math
import re

_UNITS: dict[str, float] = {}
for _names, _seconds in (
    (("s", "sec", "secs", "second", "seconds"), 1.0),
    (("m", "min", "mins", "minute", "minutes"), 60.0),
    (("h", "hr", "hrs", "hour", "hours"), 3600.0),
    (("d", "day", "days"), 86400.0),
    (("w", "wk", "wks", "week", "weeks"), 604800.0),
):
    for _name in _names:
        _UNITS[_name] = _seconds

_NUMBER = r"\d+(?:\.\d+)?|\.\d+"
_PART = re.compile(rf"\s*({_NUMBER})\s*([a-z]*)\s*(?:,|\band\b)?", re.IGNORECASE)
_FORMS = "e.g. 90, 90s, 10m, 1h 30m, 1h30m, 2 hours, 3 minutes 4 seconds, 1d"


def parse_duration(value: object) -> float:
    """Seconds in ``value``: a number of seconds, or a string of number+unit parts.

    A bare number (or numeric string) means seconds. Parts may be glued
    (``1h30m``) or separated by spaces, commas or "and"; each unit at most once.
    Negative, infinite and NaN durations are rejected.
    """
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        raise ValueError(f"a duration is a number of seconds or a string ({_FORMS})")
    if isinstance(value, int | float):
        return _checked(float(value), str(value))
    return _parse_text(value)


def _checked(seconds: float, shown: str) -> float:
    if math.isnan(seconds) or math.isinf(seconds):
        raise ValueError(f"'{shown}' is not a finite duration")
    if seconds < 0:
        raise ValueError(f"a duration cannot be negative, got '{shown}'")
    return seconds


def _parse_text(text: str) -> float:
    stripped = text.strip()
    if not stripped:
        raise ValueError(f"the duration is empty; write one like {_FORMS}")
    if re.fullmatch(_NUMBER, stripped):
        return _checked(float(stripped), stripped)
    total = 0.0
    used: dict[float, str] = {}
    position = 0
    while position < len(stripped):
        match = _PART.match(stripped, position)
        if match is None or match.end() == position:
            raise ValueError(f"cannot read duration '{text}'; write one like {_FORMS}")
        number, unit = match.group(1), match.group(2).lower()
        if not unit:
            raise ValueError(
                f"'{number}' in duration '{text}' has no unit; add one of s, m, h, d, w"
            )
        if unit not in _UNITS:
            raise ValueError(
                f"unknown unit '{match.group(2)}' in duration '{text}';"
                " use s/sec/seconds, m/min/minutes, h/hr/hours, d/days or w/weeks"
            )
        scale = _UNITS[unit]
        if scale in used:
            raise ValueError(
                f"duration '{text}' gives the same unit twice ('{used[scale]}' and"
                f" '{match.group(2)}'); add them up into one"
            )
        used[scale] = match.group(2)
        total += float(number) * scale
        position = match.end()
    return _checked(total, text)
