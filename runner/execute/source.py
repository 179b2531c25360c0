"""The project snapshot each job's workspace is filled from (the git seam)."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

from runner.errors import UserInputError

STATE_DIR = ".runner"
"""Runner's own state inside the project; never part of a workspace."""


def source_files(root: Path, exclude: Path) -> list[str]:
    """Git-tracked plus untracked-but-not-ignored files under ``root``, relative to it.

    Outside a git work tree (or in one git refuses to read, such as another
    user's) every file is taken but ``.git``. Runner's state dir ``exclude`` is
    never taken. Copies, not mounts, so a job can never change the checkout.
    """
    state = os.path.relpath(exclude, root)

    def _excluded(rel: str) -> bool:
        return rel == state or rel.startswith(state + "/")

    try:
        proc = subprocess.run(
            ["git", "-C", str(root), "ls-files", "-z", "--cached", "--others",
             "--exclude-standard"],
            capture_output=True,
            check=False,
        )
    except FileNotFoundError:
        proc = None
    if proc is not None and proc.returncode == 0:
        # File names are bytes; decode them as the OS does, so any name round-trips.
        names = {os.fsdecode(name) for name in proc.stdout.split(b"\0") if name}
        return sorted(name for name in names if not _excluded(name)
                      and os.path.lexists(root / name))
    if not root.is_dir():
        raise UserInputError(f"project directory {root} does not exist")
    files: list[str] = []
    for dirpath, dirnames, filenames in os.walk(root):
        rel_dir = os.path.relpath(dirpath, root)
        dirnames[:] = [d for d in dirnames if d != ".git" and not
                       _excluded(os.path.normpath(os.path.join(rel_dir, d)))]
        files += [os.path.normpath(os.path.join(rel_dir, f)) for f in filenames]
    return sorted(files)

