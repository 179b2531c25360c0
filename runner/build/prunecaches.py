"""Removing project caches nobody has used for a while: ``runner exec``'s and the agent's.

Caches are kept per project (``<cache root>/<tenant>/<key>``) and, like
image stores, add up on a shared server. A cache's last use is the newest of
its directories' times (every save replaces a key's directory) and of its
project's last run (``projects.last_run``).
"""

from __future__ import annotations

import shutil
from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from runner.build import projects


@dataclass(frozen=True)
class CacheFound:
    """One project's caches and what pruning made of them."""

    path: Path
    last_used: float
    verdict: str
    """``removed``, ``would remove`` (dry run), ``recent`` or ``failed: ...``."""
    size: int = 0
    project: str = ""


def cache_roots(environ: Mapping[str, str], home: Path, agent_root: Path | None) -> list[Path]:
    """``runner exec``'s default cache root and the agent's (under its data dir)."""
    base = Path(environ.get("XDG_CACHE_HOME") or home / ".cache")
    data = Path(environ.get("XDG_DATA_HOME") or home / ".local" / "share")
    return [base / "runner" / "cache", (agent_root or data / "runner" / "agent") / "cache"]


def last_used(root: Path, tenant: str) -> float:
    """The newest change to the project's cache dirs, or its last run."""
    times = [projects.last_run(root, tenant)]
    for path in [root / tenant, *_children(root / tenant)]:
        try:
            times.append(path.lstat().st_mtime)
        except OSError:
            continue
    return max(times)


def prune_caches(root: Path, older_than_s: float, now: float, *, dry_run: bool = False,
                 only: Collection[str] = ()) -> list[CacheFound]:
    """Remove every project cache under ``root`` not used for ``older_than_s``."""
    found: list[CacheFound] = []
    for path in _children(root):
        if only and path.name not in only:
            continue
        used = last_used(root, path.name)
        size, project = projects.disk_usage(path), projects.read(root, path.name)
        if now - used < older_than_s:
            verdict = "recent"
        elif dry_run:
            verdict = "would remove"
        else:
            verdict = _remove(path)
            if verdict == "removed":
                projects.label_file(root, path.name).unlink(missing_ok=True)
        found.append(CacheFound(path, used, verdict, size, project))
    return found


def _children(root: Path) -> list[Path]:
    """Real directories in ``root``, sorted (links and files, such as labels, skipped)."""
    try:
        return sorted(path for path in root.iterdir()
                      if path.is_dir() and not path.is_symlink())
    except OSError:
        return []


def _remove(path: Path) -> str:
    """``removed``, or why not. Read-only dirs a job cached are made writable first."""
    def writable_then_again(func: Callable[..., Any], name: str, _exc: object) -> None:
        Path(name).parent.chmod(0o700)
        func(name)

    try:
        shutil.rmtree(path, onerror=writable_then_again)
    except OSError as exc:
        return f"failed: {exc.strerror or exc}"
    return "removed"
