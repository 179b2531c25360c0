"""Which GitLab keywords runner honours, accepts without effect, or refuses, and why.

Unsupported keywords are looked for across the whole composed file before
anything else is read and reported together in one error, so a user porting
a pipeline sees the full list of what to change at once instead of one item
per attempt.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from runner.errors import PipelineError, SourceSpot
from runner.pipeline import yamlsrc
from runner.pipeline.yamlsrc import Map, Pos

JOB_KEYS = (
    "stage",
    "image",
    "services",
    "script",
    "before_script",
    "after_script",
    "variables",
    "needs",
    "dependencies",
    "artifacts",
    "cache",
    "timeout",
    "retry",
    "allow_failure",
    "when",
    "start_in",
    "parallel",
    "coverage",
    "rules",
    "only",
    "except",
    "inherit",
    "extends",
    "trigger",
)
"""Keywords with an effect on the local run (``extends`` is already applied by compose)."""

TRIGGER_JOB_KEYS = (
    "trigger",
    "extends",
    "stage",
    "only",
    "except",
    "rules",
    "variables",
    "inherit",
    "allow_failure",
    "when",
    "needs",
    "parallel",
    "resource_group",
    "environment",
    "interruptible",
)
"""What a trigger job may have (GitLab's Bridge entry: ``trigger`` plus the Processable keys)."""

NO_EFFECT = (
    "environment",
    "tags",
    "interruptible",
    "resource_group",
    "dast_configuration",
    "manual_confirmation",
    "publish",
)
"""Keywords about GitLab's server side (deployments, runner selection, cancelling)."""

UNSUPPORTED = {
    "release": "creating GitLab releases is not supported",
    "secrets": "external secrets (Vault and others) are not supported; pass them with"
    " --secret or a variables file",
    "id_tokens": "OIDC ID tokens are not supported",
    "pages": "the 'pages' keyword is not supported (a job named 'pages' runs as any other)",
    "hooks": "job hooks are not supported",
    "identity": "identity federation is not supported",
    "inputs": "job-level inputs are not supported (a file's 'spec:inputs' header is)",
    "run": "CI/CD steps ('run') are not supported",
}

TOP_KEYS = (
    "stages",
    "variables",
    "workflow",
    "default",
    "include",
    "image",
    "before_script",
    "after_script",
    "cache",
    "services",
    "types",
    "spec",
)
"""Top-level keys that are not jobs; ``image`` ... ``cache`` are deprecated global defaults."""

ALL_JOB_KEYS = (*JOB_KEYS, *NO_EFFECT, *UNSUPPORTED, "type")

DEFAULT_KEYS = (
    "image",
    "services",
    "before_script",
    "after_script",
    "cache",
    "artifacts",
    "retry",
    "timeout",
    "interruptible",
    "tags",
    "hooks",
    "id_tokens",
)
"""What ``default:`` may set, the one list: compose applies it, translate checks typos in it."""


@dataclass(frozen=True)
class Use:
    """One use of an unsupported keyword."""

    keyword: str
    pos: Pos
    key: str


def unsupported_uses(
    file: str, top: Map, jobs: Iterable[tuple[str, Map]]
) -> list[Use]:
    """Every use of an unsupported keyword: top level, ``default`` and jobs, each spot once."""
    found: list[Use] = []
    seen: set[tuple[str, str, int, int]] = set()

    def scan(mapping: Map, parent: str) -> None:
        for entry in mapping:
            if entry.key not in UNSUPPORTED:
                continue
            pos = entry.key_pos
            ident = (entry.key, pos.file or file, pos.line, pos.column)
            if ident not in seen:
                seen.add(ident)
                found.append(Use(entry.key, entry.key_pos, yamlsrc.join_key(parent, entry.key)))

    scan(top, "")
    default = top.get("default")
    if default is not None and isinstance(default.value, Map):
        scan(default.value, "default")
    for name, body in jobs:
        scan(body, name)
    return found


def check_unsupported(file: str, top: Map, jobs: Sequence[tuple[str, Map]]) -> None:
    """Raise one PipelineError listing every unsupported keyword (at the first one)."""
    uses = unsupported_uses(file, top, jobs)
    if not uses:
        return
    first = uses[0]
    parts = [
        f"'{use.key}' at {use.pos.file or file}:{use.pos.line} ({UNSUPPORTED[use.keyword]})"
        for use in uses
    ]
    noun = "keyword" if len(uses) == 1 else f"{len(uses)} keywords"
    raise PipelineError(
        SourceSpot(first.pos.file or file, first.pos.line, first.pos.column, first.key),
        f"this pipeline uses {noun} runner does not support: " + "; ".join(parts)
        + "; remove them (or move the jobs that need them out of the file) to run it locally",
    )
