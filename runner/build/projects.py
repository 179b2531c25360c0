"""Which project a tenant store or cache belongs to, and how much disk a tree takes.

Stores and caches are named by a hash of the project's path (or by the
agent's ``gitlab-<host>-<id>``), which says nothing to a person deciding what
to prune. Each run leaves ``<tenant>.project`` beside them, holding the
project's path, and touches it: its time is the project's last run.
"""

from __future__ import annotations

import contextlib
import os
from pathlib import Path

SUFFIX = ".project"


def label_file(parent: Path, tenant: str) -> Path:
    """The file beside ``parent/tenant`` that names its project."""
    return parent / f"{tenant}{SUFFIX}"


def record(parent: Path, tenant: str, project: str) -> None:
    """Say (and touch) whose ``parent/tenant`` is; best effort, it only informs ``prune``."""
    path = label_file(parent, tenant)
    with contextlib.suppress(OSError):
        if read(parent, tenant) == project:
            os.utime(path)
            return
        parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        temporary = path.with_name(f".{path.name}.{os.getpid()}")
        temporary.write_text(project + "\n", encoding="utf-8")
        temporary.replace(path)


def read(parent: Path, tenant: str) -> str:
    """The project ``record`` wrote, or '' if none (a store made before runner kept one)."""
    try:
        return label_file(parent, tenant).read_text(encoding="utf-8").strip()
    except (OSError, UnicodeDecodeError):
        return ""


def last_run(parent: Path, tenant: str) -> float:
    """When a run of the project last started (0 if unknown)."""
    try:
        return label_file(parent, tenant).stat().st_mtime
    except OSError:
        return 0.0


def disk_usage(root: Path) -> int:
    """Bytes of disk under ``root``, links not followed; what cannot be read counts 0.

    A store's layers belong to subordinate ids, some unreadable to us: the
    figure is then a floor, which is fine for deciding what to prune.
    """
    total = 0
    for top, dirs, files in os.walk(root, onerror=lambda _exc: None):
        for name in (*dirs, *files):
            with contextlib.suppress(OSError):
                total += (Path(top) / name).lstat().st_blocks * 512
    with contextlib.suppress(OSError):
        total += root.lstat().st_blocks * 512
    return total
