"""The project's files as a job sees them: git-tracked plus untracked-but-not-ignored.

One listing serves two readers: the executor copies these files into each
job's workspace, and GitLab's ``rules:exists`` matches its globs against them
(the local stand-in for the files of the pushed commit).
"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

GIT_TIMEOUT_S = 10.0
"""Any git call of runner's: a hung git (a stuck lock, a network filesystem) must not hang a run."""


def project_files(root: Path, prune: str | None = None, *, everything: bool = False) -> list[str]:
    """Sorted relative paths (``/``-separated) under ``root``, without ``prune`` and below it.

    Outside a git work tree, or in one git refuses to read (such as another
    user's), or without a working git, every file is taken but ``.git``.
    Git lists tracked files even when they were deleted from the work tree;
    callers that need existing files check for themselves. ``everything``
    takes every file, ``.git`` included: the agent's fresh checkout is the
    job's own, and GitLab jobs expect a working repository.
    """
    if everything:
        return sorted(_walk(root, prune, skip=()))
    listed = _git_listing(root)
    if listed is None:
        return sorted(_walk(root, prune))
    return sorted(name for name in set(listed) if not _under(name, prune))


def git_argv(root: Path, *args: str) -> list[str]:
    """``git -C root ARGS`` that runs nothing the project's own config names.

    A project's ``.git/config`` is the tenant's to write: ``core.fsmonitor``
    would run a program of its choosing on the host at ``git ls-files``, and
    hooks likewise. Both are switched off for every git call runner makes.
    """
    return ["git", "-c", "core.fsmonitor=false", "-c", "core.hooksPath=/dev/null",
            "-C", str(root), *args]


def _under(name: str, prune: str | None) -> bool:
    return prune is not None and (name == prune or name.startswith(prune + "/"))


def _git_listing(root: Path) -> list[str] | None:
    try:
        proc = subprocess.run(
            git_argv(root, "ls-files", "-z", "--cached", "--others", "--exclude-standard"),
            capture_output=True,
            check=False,
            timeout=GIT_TIMEOUT_S,
        )
    except (OSError, subprocess.TimeoutExpired):
        return None
    if proc.returncode != 0:
        return None
    # File names are bytes; decode them as the OS does, so any name round-trips.
    return [os.fsdecode(name) for name in proc.stdout.split(b"\0") if name]


def _walk(root: Path, prune: str | None, skip: tuple[str, ...] = (".git",)) -> list[str]:
    found: list[str] = []
    for dirpath, dirnames, filenames in os.walk(root):
        rel = os.path.relpath(dirpath, root)
        dirnames[:] = [d for d in dirnames if d not in skip
                       and not _under(os.path.normpath(os.path.join(rel, d)), prune)]
        found += [os.path.normpath(os.path.join(rel, name)) for name in filenames]
    return found
