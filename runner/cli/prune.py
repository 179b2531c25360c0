"""``runner prune``: remove project image stores nobody has used for a while.

Every project keeps its own image store (its builds, the images it pulled
with its own registry access), so a shared server needs a way to reclaim
them, like gitlab-runner's ``clear-docker-cache``. Stores in use are skipped.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import time
from pathlib import Path

from runner.cli import EXIT_OK
from runner.cli.helptext import explain
from runner.errors import UsageError

DEFAULT_AGE = "30d"


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add the ``prune`` subcommand."""
    parser = sub.add_parser(
        "prune", help="remove project image stores unused for a while",
        description="Remove the image stores of projects that have not used them for "
        "--older-than (builds, and images pulled with a project's own registry access). "
        "A store a build or job is using is left alone. Exit code 0, or 1 if a store could "
        "not be removed.",
    )
    explain(parser, "prune")
    parser.add_argument("--older-than", default=DEFAULT_AGE, metavar="DURATION",
                        help=f"how long a store must have gone unused (default {DEFAULT_AGE}; "
                        "e.g. 12h, 7d, 0 for every store not in use)")
    parser.add_argument("--dry-run", action="store_true",
                        help="only say what would be removed")
    parser.add_argument("--project", action="append", default=[], metavar="KEY",
                        help="only this project's store (its directory name, as listed); "
                        "repeatable")
    parser.set_defaults(func=handle)


def handle(args: argparse.Namespace) -> int:
    from runner.build.prune import prune  # noqa: PLC0415
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
    for item in found:
        if item.verdict == "recent":
            continue
        days = (now - item.last_used) / 86400
        print(f"{item.store.root.name}: {item.verdict} (last used {days:.1f} days ago)")
    kept = sum(item.verdict == "recent" for item in found)
    print(f"{len(found)} project store(s) under {stores}; {kept} used within "
          f"{args.older_than}")
    return 1 if any(item.verdict.startswith("failed") for item in found) else EXIT_OK
