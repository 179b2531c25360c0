"""Loading one GitLab CI file: the positioned tree, with ``!reference`` kept for later.

GitLab resolves ``!reference`` only after every include is merged and every
``extends`` applied, so the loader keeps the tag on its node (see
``reference``) instead of failing on it as an unknown tag. Messages are
worded for GitLab files rather than the native format's 'version'/'jobs'.
"""

from __future__ import annotations

from pathlib import Path

from runner.errors import PipelineError, SourceSpot
from runner.pipeline import yamlsrc
from runner.pipeline.gitlab.keywords import TOP_KEYS

REFERENCE_TAG = "!reference"


class GitLabLoader(yamlsrc.SourceLoader):
    """The safe loader plus GitLab's one custom tag, building mappings as Ruby's Psych does.

    GitLab loads the file with Psych, so duplicate keys and repeated ``<<`` are
    accepted with Psych's results (and a warning here); see ``yamlmaps``.
    """

    extra_tags = frozenset({REFERENCE_TAG})
    psych = True
    not_jobs = frozenset(TOP_KEYS)


def is_blank(text: str) -> bool:
    """Whether ``text`` holds no YAML content: only blank lines, comments and document markers."""
    for line in text.splitlines():
        stripped = line.strip()
        if stripped and not stripped.startswith("#") and stripped not in ("---", "..."):
            return False
    return True


def load(path: Path, label: str) -> yamlsrc.Source:
    """Read ``path`` and load it, naming it ``label`` in every position and message."""
    return load_text(yamlsrc.read_text(path), label)


def load_text(text: str, label: str) -> yamlsrc.Source:
    """Load GitLab CI ``text`` (named ``label``) whose top level must be a mapping."""
    if is_blank(text):
        raise PipelineError(
            SourceSpot(label, 1, 1), "the file is empty; a GitLab pipeline needs at least one job"
        )
    try:
        return yamlsrc.load_text(text, label, GitLabLoader)
    except PipelineError as exc:
        # yamlsrc words this one for the native format ('version' and 'jobs').
        if not exc.message.startswith("the top level must be a mapping"):
            raise
        got = exc.message.rsplit(", got ", 1)[-1]
        raise PipelineError(
            exc.spot,
            f"the top level must be a mapping of jobs and keywords like 'stages', got {got}",
        ) from None
