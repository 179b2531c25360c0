"""``artifacts``: read once per job definition, paths expanded per job instance.

Paths go through the runner's expansion (``$VAR``, ``$$``) with the job's
final variables, as gitlab-runner does. A path written as
``$CI_PROJECT_DIR/x`` is taken relative to the project; anything else that
leaves the project directory is an error, since the model keeps only
project-relative globs.
"""

from __future__ import annotations

import posixpath
from collections.abc import Mapping
from dataclasses import dataclass

from runner.pipeline import yamlsrc
from runner.pipeline.gitlab.expand import expand
from runner.pipeline.gitlab.reading import GitLabReader, Notes
from runner.pipeline.model import Artifacts, When
from runner.pipeline.yamlsrc import Node, Pos

ARTIFACTS_KEYS = (
    "paths",
    "exclude",
    "when",
    "untracked",
    "reports",
    "name",
    "expire_in",
    "expose_as",
    "public",
    "access",
)
OUTCOME_WHENS = ("on_success", "on_failure", "always")

Located = tuple[str, Pos, str]
"""A raw string with the position and key path it was written at."""


@dataclass(frozen=True)
class ArtifactsSpec:
    """``artifacts`` as written (paths unexpanded)."""

    paths: tuple[Located, ...]
    exclude: tuple[Located, ...]
    when: When
    untracked: bool
    dotenv: tuple[Located, ...]


def read_artifacts(
    reader: GitLabReader, node: Node, key: str, what: str, *, notes: Notes, job: str
) -> ArtifactsSpec:
    """``artifacts``; keys about GitLab's UI and retention are accepted and have no effect."""
    spec = reader.expect_map(node, key, what)
    reader.check_keys(spec, ARTIFACTS_KEYS, key, f"in {what}")
    paths: tuple[Located, ...] = ()
    exclude: tuple[Located, ...] = ()
    dotenv: tuple[Located, ...] = ()
    when = When.ON_SUCCESS
    untracked = False
    if (got := reader.child(spec, "paths", key, what)) is not None:
        paths = tuple(reader.strings(*got))
    if (got := reader.child(spec, "exclude", key, what)) is not None:
        exclude = tuple(reader.strings(*got))
    if (got := reader.child(spec, "when", key, what)) is not None:
        when = When(reader.word(*got, OUTCOME_WHENS))
    if (got := reader.child(spec, "untracked", key, what)) is not None:
        untracked = reader.expect_bool(*got)
    if (got := reader.child(spec, "reports", key, what)) is not None:
        reports = reader.expect_map(*got)
        for entry in reports:
            if entry.key == "dotenv":
                path = yamlsrc.join_key(got[1], "dotenv")
                dotenv = tuple(reader.strings(entry.value, path, f"'dotenv' of {got[2]}"))
            else:
                notes.ignored(f"artifacts:reports:{entry.key}", job)
    for name in ("expose_as", "name", "expire_in", "access"):
        if (got := reader.child(spec, name, key, what)) is not None:
            reader.text(*got)
    if (got := reader.child(spec, "public", key, what)) is not None:
        reader.expect_bool(*got)
    return ArtifactsSpec(paths, exclude, when, untracked, dotenv)


def project_path(
    reader: GitLabReader, item: Located, variables: Mapping[str, str], project_dir: str, what: str
) -> str | None:
    """A path expanded and made project-relative; None if it expands to nothing."""
    text, pos, key = item
    path = expand(text, variables).strip()
    if not path:
        return None
    if path == project_dir or path.startswith(project_dir + "/"):
        path = path[len(project_dir) :].lstrip("/") or "."
    if path.startswith("/"):
        raise reader.fail(
            pos, key, f"{what} '{path}' is outside the project directory; use a relative path"
        )
    normal = posixpath.normpath(path)
    if normal == ".." or normal.startswith("../"):
        raise reader.fail(pos, key, f"{what} '{path}' leaves the project directory")
    return normal if not path.endswith("/") or normal == "." else normal + "/"


def artifacts_for(
    reader: GitLabReader, spec: ArtifactsSpec, variables: Mapping[str, str], project_dir: str
) -> Artifacts | None:
    """The model's artifacts for one job instance; None when nothing would be kept."""

    def paths(items: tuple[Located, ...], what: str) -> tuple[str, ...]:
        found = (project_path(reader, item, variables, project_dir, what) for item in items)
        return tuple(path for path in found if path is not None)

    kept = paths(spec.paths, "artifact path")
    dotenv = paths(spec.dotenv, "dotenv report")
    if not kept and not spec.untracked and not dotenv:
        return None
    return Artifacts(
        paths=kept,
        when=spec.when,
        exclude=paths(spec.exclude, "artifact exclude"),
        untracked=spec.untracked,
        dotenv=dotenv,
    )
