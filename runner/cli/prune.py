"""``runner prune``: remove project image stores and caches nobody has used for a while.

Every project keeps its own image store (its builds, the images it pulled
with its own registry access) and its own caches, ``runner exec``'s and the
agent's, so a shared server needs a way to reclaim them, like
gitlab-runner's ``clear-docker-cache``. Stores in use are skipped.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import time
from dataclasses import dataclass
from pathlib import Path

from runner.cli import EXIT_OK
from runner.cli.helptext import explain
from runner.errors import UsageError

DEFAULT_AGE = "30d"


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add the ``prune`` subcommand."""
    parser = sub.add_parser(
        "prune", help="remove project image stores and caches unused for a while",
        description="Remove the image stores of projects that have not used them for "
        "--older-than (builds, and images pulled with a project's own registry access), and "
        "the caches of projects (runner exec's and the agent's) unused as long. A store a "
        "build or job is using is left alone. Each is listed with its project, size and last "
        "use. Exit code 0, or 1 if one could not be removed. Example: runner prune --dry-run",
    )
    explain(parser, "prune")
    parser.add_argument("--older-than", default=DEFAULT_AGE, metavar="DURATION",
                        help=f"how long a store must have gone unused (default {DEFAULT_AGE}; "
                        "e.g. 12h, 7d, 0 for every store not in use)")
    parser.add_argument("--dry-run", action="store_true",
                        help="only say what would be removed")
    parser.add_argument("--project", action="append", default=[], metavar="KEY",
                        help="only this project's store and caches (the name prune lists); "
                        "repeatable")
    parser.set_defaults(func=handle)


def handle(args: argparse.Namespace) -> int:
    from runner.build.prune import prune  # noqa: PLC0415
    from runner.build.prunecaches import cache_roots, prune_caches  # noqa: PLC0415
    from runner.build.storage import store_roots  # noqa: PLC0415
    from runner.pipeline.durations import parse_duration  # noqa: PLC0415

    try:
        older_than = parse_duration(args.older_than)
    except ValueError as exc:
        raise UsageError(f"--older-than {args.older_than!r}: {exc}") from None
    stores, runroots = store_roots(os.environ, Path.home())
    now = time.time()
    found = asyncio.run(prune(stores, runroots, older_than, now, dry_run=args.dry_run,
                              only=args.project))
    rows = [Item(f.store.root.name, f.project, f.size, f.last_used, f.verdict) for f in found]
    print(f"image stores in {stores}:")
    _print_items(rows, now, dry_run=args.dry_run)
    print(summary(rows, "project stores", older_than, dry_run=args.dry_run, in_use=True))
    caches: list[Item] = []
    for root in cache_roots(os.environ, Path.home(), _agent_root()):
        got = prune_caches(root, older_than, now, dry_run=args.dry_run, only=args.project)
        if got:
            print(f"caches in {root}:")
            items = [Item(c.path.name, c.project, c.size, c.last_used, c.verdict) for c in got]
            _print_items(items, now, dry_run=args.dry_run)
            caches += items
    print(summary(caches, "project caches", older_than, dry_run=args.dry_run, in_use=False))
    from runner.ghhook import jobdir, sweep  # noqa: PLC0415

    if not args.project and (hooked := asyncio.run(sweep.sweep_abandoned(
            jobdir.hook_root(os.environ), dry_run=args.dry_run))):
        print(sweep.prune_text(hooked, dry_run=args.dry_run))
    failed = any(item.verdict.startswith("failed") for item in [*rows, *caches])
    return 1 if failed else EXIT_OK


@dataclass(frozen=True)
class Item:
    """One store or project cache, as prune lists it."""

    name: str
    project: str
    size: int
    last_used: float
    verdict: str


def _print_items(items: list[Item], now: float, *, dry_run: bool) -> None:
    """A line each: name and verdict, then project, size and last use. A real run lists only
    what it acted on (recent ones are many and need no word)."""
    shown = [item for item in items if dry_run or item.verdict != "recent"]
    rows = [(f"{item.name}: {'keep' if item.verdict == 'recent' else item.verdict}",
             item.project or "(project unknown)", human_size(item.size),
             f"last used {ago(now - item.last_used)}") for item in shown]
    widths = [max((len(row[column]) for row in rows), default=0) for column in range(3)]
    for first, project, size, used in rows:
        print(f"  {first.ljust(widths[0])}  {project.ljust(widths[1])}  "
              f"{size.rjust(widths[2])}  {used}")


def summary(items: list[Item], what: str, older_than_s: float, *, dry_run: bool,
            in_use: bool) -> str:
    """The outcome as one sentence: 'would remove 3 of 5 project stores, 1.2 GiB; keeping 2
    in use or used within 30 days'."""
    gone = [item for item in items if item.verdict in ("removed", "would remove")]
    kept = len(items) - len(gone)
    why = "in use or used" if in_use else "used"
    text = (f"{'would remove' if dry_run else 'removed'} {len(gone)} of {len(items)} {what}, "
            f"{human_size(sum(item.size for item in gone))}; keeping {kept} {why} within "
            f"{span(older_than_s)}")
    failed = sum(item.verdict.startswith("failed") for item in items)
    return text + (f" ({failed} could not be removed)" if failed else "")


def human_size(size: int) -> str:
    """Bytes as people read them: ``0 B``, ``512 KiB``, ``1.2 GiB``."""
    value = float(size)
    for unit in ("B", "KiB", "MiB", "GiB"):
        if value < 1024:
            return f"{value:.0f} {unit}" if unit in ("B", "KiB") else f"{value:.1f} {unit}"
        value /= 1024
    return f"{value:.1f} TiB"


def ago(seconds: float) -> str:
    """``today``, ``1 day ago``, ``40 days ago``."""
    days = int(max(seconds, 0) // 86400)
    return "today" if days == 0 else f"{days} day{'s' if days != 1 else ''} ago"


def span(seconds: float) -> str:
    """A duration in the largest whole unit: ``30 days``, ``12 hours``, ``0 seconds``."""
    for size, unit in ((86400, "day"), (3600, "hour"), (60, "minute")):
        if seconds >= size and seconds % size == 0:
            count = int(seconds // size)
            return f"{count} {unit}{'s' if count != 1 else ''}"
    count = int(seconds)
    return f"{count} second{'s' if count != 1 else ''}"


def _agent_root() -> Path | None:
    """The agent's data dir as its config sets it (None: the default, or no readable config)."""
    from runner.agent.config import default_path, load  # noqa: PLC0415
    from runner.errors import UserInputError  # noqa: PLC0415

    try:
        return load(default_path(), missing_ok=True, private=False).work_root()
    except (UserInputError, OSError):
        return None
