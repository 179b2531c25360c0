"""The project snapshot each job's workspace is filled from (the git seam)."""

from __future__ import annotations

import os
from pathlib import Path

from runner.errors import UserInputError
from runner.pipeline.projectfiles import project_files

STATE_DIR = ".runner"
"""Runner's own state inside the project; never part of a workspace."""
PROJECT_VARIABLES = f"{STATE_DIR}/variables.yml"
"""The project's automatic variables file (masked values included): never in a workspace,
even when the state dir is elsewhere (``--state-dir``)."""


def without_secret_files(files: list[str], root: Path, secret_files: list[Path]
                         ) -> tuple[list[str], list[str]]:
    """``files`` minus the secret files among them, and those left out.

    A ``file:`` secret kept in the project would otherwise be copied into every
    job's workspace, including jobs that do not list it.
    """
    resolved = {os.path.realpath(path) for path in secret_files}
    keep: list[str] = []
    dropped: list[str] = []
    for name in files:
        (dropped if os.path.realpath(root / name) in resolved else keep).append(name)
    return keep, dropped


def source_files(root: Path, exclude: Path, *, everything: bool = False) -> list[str]:
    """Git-tracked plus untracked-but-not-ignored files under ``root``, relative to it.

    Outside a git work tree (or in one git refuses to read, such as another
    user's) every file is taken but ``.git``. Runner's state dir ``exclude`` is
    never taken. Copies, not mounts, so a job can never change the checkout.
    ``everything`` takes ``.git`` and ignored files too (the agent's checkouts).
    """
    if not root.is_dir():
        raise UserInputError(f"project directory {root} does not exist")
    names = project_files(root, prune=os.path.relpath(exclude, root), everything=everything)
    # A fresh checkout (the agent's) is the project's as committed; a local one can hold
    # the user's variables file, which is not the project's to see.
    return [name for name in names if os.path.lexists(root / name)
            and (everything or name != PROJECT_VARIABLES)]
