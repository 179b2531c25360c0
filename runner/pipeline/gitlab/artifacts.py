"""``artifacts``: read once per job definition, paths expanded per job instance.

Paths go through the runner's expansion (``$VAR``, ``$$``) with the job's
final variables, as gitlab-runner does. A path written as
``$CI_PROJECT_DIR/x`` is taken relative to the project. A path that leaves the
project directory (``/var/cache/apt/archives/``, ``../x``) is not an error:
gitlab-runner's archiver skips it with a warning when it saves, so the model
keeps it in ``skipped`` for the executor to do the same.
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
    item: Located, variables: Mapping[str, str], project_dir: str, outside: list[str]
) -> str | None:
    """A path expanded and made project-relative; None if it expands to nothing.

    A path outside the project is added to ``outside`` (as expanded) and None
    is returned, as gitlab-runner's ``findRelativePathInProject`` refuses it.
    """
    text = item[0]
    path = expand(text, variables).strip()
    if not path:
        return None
    if path == project_dir or path.startswith(project_dir + "/"):
        path = path[len(project_dir) :].lstrip("/") or "."
    normal = posixpath.normpath(path)
    if path.startswith("/") or normal == ".." or normal.startswith("../"):
        outside.append(path)
        return None
    return normal if not path.endswith("/") or normal == "." else normal + "/"


def project_paths(
    items: tuple[Located, ...], variables: Mapping[str, str], project_dir: str,
    outside: list[str],
) -> tuple[str, ...]:
    """Every item's ``project_path``, those that expand to nothing or leave the project dropped."""
    found = (project_path(item, variables, project_dir, outside) for item in items)
    return tuple(path for path in found if path is not None)


def artifacts_for(
    spec: ArtifactsSpec, variables: Mapping[str, str], project_dir: str
) -> Artifacts | None:
    """The model's artifacts for one job instance; None when nothing would be kept or warned.

    An exclude outside the project can match nothing in it, so it is dropped.
    """
    outside: list[str] = []
    kept = project_paths(spec.paths, variables, project_dir, outside)
    dotenv = project_paths(spec.dotenv, variables, project_dir, outside)
    exclude = project_paths(spec.exclude, variables, project_dir, [])
    if not kept and not spec.untracked and not dotenv and not outside:
        return None
    return Artifacts(
        paths=kept,
        when=spec.when,
        exclude=exclude,
        untracked=spec.untracked,
        dotenv=dotenv,
        skipped=tuple(dict.fromkeys(outside)),
    )
