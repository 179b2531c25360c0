"""Sizes as people write them (``512m``, ``2GiB``, ``1.5g``, ``1048576``), in bytes.

Like podman and Kubernetes, a bare number is bytes and the suffixes are
binary (k = KiB, m = MiB, g = GiB, t = TiB), with or without ``b``/``ib``.
"""

from __future__ import annotations

import re

_UNITS = {"": 1, "k": 1 << 10, "m": 1 << 20, "g": 1 << 30, "t": 1 << 40}
_SIZE = re.compile(r"(\d+(?:\.\d+)?)\s*([kmgt]?)(?:i?b)?", re.IGNORECASE)


def parse_size(value: object) -> int:
    """Bytes in ``value``; ValueError with the accepted forms if it is not a size."""
    if isinstance(value, bool):
        raise ValueError("expected a size like '512m' or '2g', got a boolean")
    if isinstance(value, int):
        if value <= 0:
            raise ValueError(f"a size must be more than zero, got {value}")
        return value
    found = _SIZE.fullmatch(str(value).strip())
    if found is None:
        raise ValueError(f"expected a size like '512m', '2g' or a number of bytes, got {value!r}")
    size = int(float(found.group(1)) * _UNITS[found.group(2).lower()])
    if size <= 0:
        raise ValueError(f"a size must be more than zero, got {value!r}")
    return size


def show_size(size: int) -> str:
    """``size`` bytes the short way (``512 MiB``)."""
    for unit, factor in (("TiB", 1 << 40), ("GiB", 1 << 30), ("MiB", 1 << 20), ("KiB", 1 << 10)):
        if size >= factor:
            return f"{size / factor:.3g} {unit}"
    return f"{size} B"
