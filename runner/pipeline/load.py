"""The one entry point that picks a pipeline dialect and translates the file with it."""

from __future__ import annotations

from pathlib import Path

from runner.errors import UsageError
from runner.pipeline.model import Pipeline
from runner.pipeline.native import parse_native

DIALECTS = ("gitlab", "native")
"""Every dialect name ``--dialect`` accepts (some may not be implemented yet)."""


def detect_dialect(path: Path) -> str:
    """The dialect a file name implies: GitLab's own file names, else native."""
    if path.name == ".gitlab-ci.yml" or path.name.endswith(".gitlab-ci.yml"):
        return "gitlab"
    return "native"


def load_pipeline(path: Path, root: Path, dialect: str | None = None) -> Pipeline:
    """Translate ``path`` with ``dialect`` (detected from the file name when None).

    The explicit dialect wins over the file name, so a GitLab-named file can
    still be read as native with ``--dialect native``.
    """
    if dialect is not None and dialect not in DIALECTS:
        raise UsageError(
            f"unknown pipeline dialect '{dialect}'; valid dialects are "
            + ", ".join(f"'{d}'" for d in DIALECTS)
        )
    if not path.exists():
        raise UsageError(f"pipeline file '{path}' does not exist")
    if path.is_dir():
        raise UsageError(f"pipeline file '{path}' is a directory, not a file")
    chosen = dialect if dialect is not None else detect_dialect(path)
    if chosen == "gitlab":
        how = "was requested" if dialect is not None else f"was chosen from the name '{path.name}'"
        raise UsageError(
            f"the GitLab dialect {how} for '{path}', but it arrives in a later version of"
            " runner; to read the file in the native format, pass '--dialect native'"
        )
    return parse_native(path, root)
