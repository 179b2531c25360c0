"""The state directory must be runner's own: no symlink a project ships may steer our writes.

By default the state dir is ``.runner`` inside the project, and a project's
files are its tenant's to choose: a committed ``.runner/artifacts`` link to
another tenant's cache, or ``.runner/logs/JOB.log`` to any file, would make
runner write there as the runner user. So the dir, the dirs runner writes
in, and their entries must be real and ours; files are opened O_NOFOLLOW.
``latest`` is the one link runner makes there: it is only ever replaced
(``runs.point_latest``), never written or read through.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path

from runner.errors import UserInputError

WRITTEN_DIRS = ("logs", "artifacts", "dotenv", "kept", "work", "runs")
WRITTEN_FILES = ("result.json",)


def check_state_dir(state: Path) -> None:
    """Raise unless ``state`` and everything runner writes directly in it is real and ours."""
    paths = [state, *(state / name for name in (*WRITTEN_DIRS, *WRITTEN_FILES))]
    for name in WRITTEN_DIRS:
        with_entries = state / name
        if with_entries.is_dir() and not with_entries.is_symlink():
            paths += sorted(with_entries.iterdir())
    for path in paths:
        problem = not_own(path)
        if problem == "link":
            raise UserInputError(
                f"{path} is a symbolic link; runner writes its logs, artifacts and results "
                "there and will not follow a link a project may have shipped. Remove it, or "
                "pass --state-dir DIR outside the project."
            )
        if problem:
            raise UserInputError(
                f"{path} belongs to {problem}, not to this user; runner only writes "
                "into a state directory of its own. Remove it, or pass --state-dir DIR."
            )


def not_own(path: Path) -> str:
    """``link`` if ``path`` is a symlink, ``uid N`` if another user's, else (or if missing) ''."""
    try:
        info = path.lstat()
    except FileNotFoundError:
        return ""
    if stat.S_ISLNK(info.st_mode):
        return "link"
    return f"uid {info.st_uid}" if info.st_uid != os.geteuid() else ""


def open_new(path: Path, mode: int = 0o644) -> int:
    """A file created or truncated for writing, never through a symlink."""
    return os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_NOFOLLOW | os.O_CLOEXEC,
                   mode)
