"""The one entry point that picks a pipeline dialect and translates the file with it."""

from __future__ import annotations

import dataclasses
import sys
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING

from runner.errors import UsageError
from runner.pipeline.gitlab.fetching import Token
from runner.pipeline.model import Pipeline, SecretSource
from runner.pipeline.native import parse_native

if TYPE_CHECKING:
    from runner.pipeline.github.translate import GithubOptions, Workflow
    from runner.pipeline.gitlab.include import IncludeSettings
    from runner.pipeline.gitlab.inputs import Given

DIALECTS = ("gitlab", "github", "native")
"""Every dialect name ``--dialect`` accepts."""


@dataclass(frozen=True)
class LoadOptions:
    """What the user adds from outside the file: GitLab's pipeline and project variables.

    ``variables`` win over the file's own (as pipeline variables do in GitLab);
    ``secrets`` reach every job, masked; ``secret_values`` are only for
    evaluating conditions (GitLab's ``rules:if``) and never enter the model.
    """

    variables: tuple[tuple[str, str], ...] = ()
    file_variables: tuple[tuple[str, str], ...] = ()
    secrets: tuple[SecretSource, ...] = ()
    secret_values: Mapping[str, str] = field(default_factory=dict)
    inputs: tuple[tuple[str, str], ...] = ()
    """``--input NAME=VALUE``: a GitLab file's ``spec:inputs`` (typed by their declaration)."""
    compare_to: str | None = None
    """``--compare-to``: what GitLab ``changes`` clauses compare with (default branch if None)."""
    gitlab_url: str | None = None
    """The GitLab server for ``include: project/template/component`` (GitLab only)."""
    gitlab_token: Token | None = None
    """Its token; sent to that server only, never shown."""
    default_image: tuple[str, str] | None = None
    """(image, where it was set) for GitLab jobs that name no image; see ``runnerconfig``."""
    no_image_hint: str = ""
    listing: bool = False
    """Only listing: a GitLab job needing an unset default image is listed, not refused."""
    github: GithubOptions | None = None
    """A GitHub workflow's event, inputs, vars and platforms (``--event``, ``--platform``...)."""


WORKFLOW_DIRS = (".github", ".forgejo", ".gitea")
"""Directories whose ``workflows/`` hold GitHub-dialect workflows (Forgejo's and Gitea's too)."""


def detect_dialect(path: Path) -> str:
    """The dialect a file name implies: GitLab's own file names, a workflow directory's
    files (``.github/workflows/*.yml``), else native."""
    if path.name == ".gitlab-ci.yml" or path.name.endswith(".gitlab-ci.yml"):
        return "gitlab"
    parts = path.absolute().parts
    if len(parts) >= 3 and parts[-2] == "workflows" and parts[-3] in WORKFLOW_DIRS:
        return "github"
    return "native"


def chosen_dialect(path: Path, dialect: str | None) -> str:
    """The explicit dialect wins over the file name (``--dialect native`` on a GitLab name)."""
    if dialect is not None and dialect not in DIALECTS:
        raise UsageError(
            f"unknown pipeline dialect '{dialect}'; valid dialects are "
            + ", ".join(f"'{d}'" for d in DIALECTS)
        )
    return dialect if dialect is not None else detect_dialect(path)


def load_pipeline(
    path: Path, root: Path, dialect: str | None = None, options: LoadOptions | None = None
) -> Pipeline:
    """Translate ``path`` with ``dialect`` (detected from the file name when None)."""
    options = options or LoadOptions()
    _check_file(path)
    if chosen_dialect(path, dialect) == "gitlab":
        from runner.pipeline.gitlab.compose import compose  # noqa: PLC0415 - native needs none
        from runner.pipeline.gitlab.translate import Options, translate  # noqa: PLC0415

        settings, given = _gitlab_settings(path, root, options)
        return translate(compose(path, root, settings, given), root, Options(
            variables=options.variables, file_variables=options.file_variables,
            secrets=options.secrets, secret_values=options.secret_values,
            git=settings.git, compare_to=options.compare_to,
            default_image=options.default_image, no_image_hint=options.no_image_hint,
            listing=options.listing,
        ))
    if chosen_dialect(path, dialect) == "github":
        return load_github(path, root, options).pipeline
    return _with_options(parse_native(path, root), options)


def load_github(path: Path, root: Path, options: LoadOptions) -> Workflow:
    """A GitHub workflow with the command line's secrets and the variables files' vars."""
    from runner.pipeline.github.translate import GithubOptions, load_workflow  # noqa: PLC0415

    github = options.github or GithubOptions()
    given = dict(options.variables)
    given.update(github.vars)
    return load_workflow(path, root, replace(github, vars=tuple(given.items()),
                                             secrets=options.secrets))


def preview(
    path: Path, root: Path, dialect: str | None = None, options: LoadOptions | None = None
) -> str:
    """The fully expanded GitLab YAML (includes, extends, ``!reference``, ``default`` applied)."""
    _check_file(path)
    if chosen_dialect(path, dialect) == "github":
        from runner.pipeline.github.preview import render_steps  # noqa: PLC0415

        return render_steps(load_github(path, root, options or LoadOptions()))
    if chosen_dialect(path, dialect) != "gitlab":
        raise UsageError(f"--preview shows GitLab's expanded YAML; {path} is read as the native "
                         "format, which has nothing to expand (pass --dialect gitlab if it is "
                         "a GitLab file)")
    from runner.pipeline.gitlab.compose import compose  # noqa: PLC0415
    from runner.pipeline.gitlab.preview import render  # noqa: PLC0415

    return render(compose(path, root, *_gitlab_settings(path, root, options or LoadOptions())))


def _include_settings(path: Path, root: Path, options: LoadOptions) -> IncludeSettings:
    """What GitLab's include expansion sees: project and pipeline variables, the server."""
    from runner.pipeline.gitlab.includesettings import (  # noqa: PLC0415
        include_settings,
        server_of,
    )

    hidden = {s.name for s in options.secrets}
    outside = {
        **dict(options.file_variables),
        **{k: v for k, v in options.secret_values.items() if k in hidden},
        **dict(options.variables),
    }
    server = server_of(options.gitlab_url, options.gitlab_token)
    return include_settings(root, path, outside, server, notice=_notice)


def _notice(text: str) -> None:
    """An include served from the cache is said at once, whatever the command does next."""
    print(f"runner: {text}", file=sys.stderr, flush=True)


def _gitlab_settings(
    path: Path, root: Path, options: LoadOptions
) -> tuple[IncludeSettings, Given | None]:
    """``compose``'s settings: includes' (with ``expand_vars``'s variables) and ``--input``.

    The checkout is read once (``settings.git``) for includes, inputs and translation.
    """
    from runner.pipeline.gitlab.pipeline_inputs import pipeline_inputs  # noqa: PLC0415

    settings = _include_settings(path, root, options)
    plain = {**dict(options.file_variables), **dict(options.variables)}
    given, expand_vars = pipeline_inputs(path, root, dict(options.inputs), plain,
                                         options.secret_values, git=settings.git)
    return replace(settings, expand_vars=expand_vars, compare_to=options.compare_to), given


def _check_file(path: Path) -> None:
    if not path.exists():
        raise UsageError(f"pipeline file '{path}' does not exist")
    if path.is_dir():
        raise UsageError(f"pipeline file '{path}' is a directory, not a file")


def _with_options(pipeline: Pipeline, options: LoadOptions) -> Pipeline:
    """The native format's share of the options: overriding variables, extra secrets."""
    if not (options.variables or options.file_variables or options.secrets):
        return pipeline
    overrides = dict(options.variables)
    taken = {secret.name for secret in pipeline.secrets}
    clash = sorted(taken & {secret.name for secret in options.secrets})
    if clash:
        raise UsageError(f"secret {clash[0]} is given on the command line and declared in "
                         f"{pipeline.source}; keep one of them")
    names = tuple(secret.name for secret in options.secrets)
    jobs = tuple(
        dataclasses.replace(
            job,
            variables=tuple((k, v) for k, v in job.variables if k not in overrides)
            + options.variables,
            file_variables=job.file_variables + options.file_variables,
            secrets=job.secrets + names,
        )
        for job in pipeline.jobs
    )
    return dataclasses.replace(pipeline, jobs=jobs, secrets=pipeline.secrets + options.secrets)
