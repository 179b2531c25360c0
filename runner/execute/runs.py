"""Each run's logs and result under ``.runner/runs/<id>/``, the last few kept, and ``latest``.

A user looks at the run that just failed, and at the one before it that
passed; so a run never overwrites another's logs. ``.runner/latest`` is a
symlink to the newest run's directory, for people (``less .runner/latest/
build.log``): runner itself never writes or reads through it, so a
``latest`` a project ships can only be replaced, never followed. It is
swapped in with one ``rename``, which replaces the link itself whatever it
points to. ``.runner/.gitignore`` keeps the whole state dir out of
``git status``.
"""

from __future__ import annotations

import contextlib
import os
import shutil
from collections.abc import Collection, Sequence
from pathlib import Path

RUNS = "runs"
LATEST = "latest"
DEFAULT_KEEP = 10
"""Runs kept when nothing else is asked (``--keep-runs``)."""


def run_dir(state: Path, run_id: str) -> Path:
    """Where one run's logs and result.json go."""
    return state / RUNS / run_id


def start_run(state: Path, run_id: str) -> Path:
    """Make the run's own directory (never an existing one) and ignore the state dir in git.

    The caller has checked ``state`` and ``state/runs`` (``check_state_dir``).
    """
    state.mkdir(parents=True, exist_ok=True)
    ignore_in_git(state)
    (state / RUNS).mkdir(exist_ok=True)
    path = run_dir(state, run_id)
    path.mkdir()
    return path


def ignore_in_git(state: Path) -> None:
    """``.gitignore`` with ``*`` in the state dir, unless one is there (the user's own, kept).

    O_EXCL with O_NOFOLLOW: an existing entry, a planted link included, is left alone.
    """
    try:
        fd = os.open(state / ".gitignore",
                     os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC, 0o644)
    except FileExistsError:
        return
    with os.fdopen(fd, "w") as out:
        out.write("# runner's state: logs, artifacts, scratch. Made by runner.\n*\n")


def point_latest(state: Path, run_id: str) -> bool:
    """Make ``state/latest`` a relative link to the run's dir, atomically; False if it cannot.

    A new link is made under a name of this run's own and renamed over
    ``latest``: rename never follows the link it replaces. It fails (False)
    only if ``latest`` is a real directory, which is then left as it is.
    """
    temporary = state / f".{LATEST}.{run_id}"
    try:
        temporary.symlink_to(f"{RUNS}/{run_id}")
        temporary.replace(state / LATEST)
    except OSError:
        with contextlib.suppress(OSError):
            temporary.unlink()
        return False
    return True


def runs_to_remove(ordered: Sequence[str], keep: int, live: Collection[str]) -> list[str]:
    """The runs beyond the newest ``keep`` of ``ordered`` (oldest first), live ones spared."""
    old = ordered[: max(len(ordered) - keep, 0)]
    return [name for name in old if name not in live]


def _age_order(entry: os.DirEntry[str]) -> tuple[str, int]:
    """Run ids start with their second (``%Y%m%d-%H%M%S``); within one, the dir's time."""
    return entry.name[:15], entry.stat(follow_symlinks=False).st_mtime_ns


def remove_old_runs(state: Path, keep: int, live: Collection[str]) -> list[str]:
    """Delete the directories of runs beyond the newest ``keep``; returns their ids.

    Only real directories are removed (``check_state_dir`` refused links
    already) and ``rmtree`` never follows a link inside them.
    """
    root = state / RUNS
    try:
        with os.scandir(root) as entries:
            names = [entry.name for entry in sorted(
                (e for e in entries if e.is_dir(follow_symlinks=False)), key=_age_order)]
    except OSError:
        return []
    removed = []
    for name in runs_to_remove(names, keep, live):
        shutil.rmtree(root / name, ignore_errors=True)
        removed.append(name)
    return removed
