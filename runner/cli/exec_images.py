"""``runner exec``'s image settings: the default image and pull policy, from flags or config.

The executor's own settings, as gitlab-runner's ``[runners.docker]`` holds
them: ``--image`` wins over ``image:`` in the user's config file
(``runnerconfig``); the pull policy comes from that file, else GitLab's
default for GitLab files (``always``: a tag that moved in its registry is
used, as on a docker runner) and ``if-not-present`` for the native format,
which has no ``pull_policy`` of its own and must keep working offline.
"""

from __future__ import annotations

import argparse
import dataclasses
from collections.abc import Mapping
from functools import cache
from pathlib import Path

from runner.engine.imageref import why_not
from runner.errors import UsageError
from runner.execute.report import shown
from runner.pipeline.dockerauth import VARIABLE, parse_docker_auth
from runner.pipeline.load import LoadOptions
from runner.pipeline.model import Pipeline, Registry, SecretSource
from runner.pipeline.runnerconfig import RunnerConfig, config_path, load_runner_config

GITLAB_PULL = ("always",)
NATIVE_PULL = ("if-not-present",)


def add_image_options(parser: argparse.ArgumentParser) -> None:
    """``--image``: the default image of GitLab jobs that name none."""
    parser.add_argument("--image", metavar="IMAGE",
                        help="image for GitLab jobs that name none (default: 'image:' in "
                        "~/.config/runner/config.yml), as a docker runner's default image")


@cache
def _config(path: Path) -> RunnerConfig:
    return load_runner_config(path)


def runner_config(environ: Mapping[str, str]) -> RunnerConfig:
    """The user's config file, read once per process."""
    return _config(config_path(environ, Path.home()))


def with_image_options(options: LoadOptions, args: argparse.Namespace,
                       environ: Mapping[str, str]) -> LoadOptions:
    """``options`` plus the default image (``--image``, else the config's) and its hint."""
    config = runner_config(environ)
    path = shown(config.path, Path.cwd())
    default: tuple[str, str] | None = None
    if args.image is not None:
        if (problem := why_not(args.image)) is not None:
            raise UsageError(f"--image: {problem}")
        default = (args.image, "--image")
    elif config.image is not None:
        default = (config.image, path)
    hint = f"give one with --image IMAGE or 'image: IMAGE' in {path}"
    return dataclasses.replace(options, default_image=default, no_image_hint=hint,
                               listing=bool(args.list))


def default_pull(environ: Mapping[str, str], dialect: str) -> tuple[str, ...]:
    """The pull policy of images that name none (see the module's docstring)."""
    config = runner_config(environ)
    if config.pull_policy:
        return config.pull_policy
    return GITLAB_PULL if dialect == "gitlab" else NATIVE_PULL


def image_notes(pipeline: Pipeline, environ: Mapping[str, str]) -> list[str]:
    """For ``--list``: which jobs run in the default image, or need one to be set (static
    child pipelines' jobs too; a trigger job runs no container, so never)."""
    containers = [job for job in pipeline.every_job() if job.trigger is None]
    defaulted = [job for job in containers if job.image_from is not None]
    missing = [job.name for job in containers
               if not job.image and job.build is None and job.image_from is None]
    notes = []
    if defaulted:
        first = defaulted[0]
        notes.append(f"runner: jobs without an image use the default image {first.image} "
                     f"(from {first.image_from}): {', '.join(job.name for job in defaulted)}")
    if missing:
        notes.append(f"runner: jobs without an image need a default image to run: "
                     f"{', '.join(missing)}; give one with --image IMAGE or 'image: IMAGE' in "
                     f"{shown(runner_config(environ).path, Path.cwd())}")
    return notes


def with_docker_auth(pipeline: Pipeline, options: LoadOptions,
                     environ: Mapping[str, str]) -> Pipeline:
    """A GitLab pipeline with ``DOCKER_AUTH_CONFIG``'s logins as registries of its images.

    The variable is read as gitlab-runner reads it: from the job variables
    (here, the variables files and ``--variable``), else from the runner's
    environment. A registry the pipeline already has access for keeps it.
    """
    if pipeline.dialect != "gitlab":
        return pipeline
    found = _auth_config(options, environ)
    if found is None:
        return pipeline
    text, origin = found
    known = {registry.host for registry in pipeline.registries}
    registries, secrets = list(pipeline.registries), list(pipeline.secrets)
    for index, cred in enumerate(parse_docker_auth(text, origin)):
        if cred.host in known:
            continue
        name = f"{VARIABLE} password {index}"
        secrets.append(SecretSource(name=name, value=cred.password))
        if cred.auth is not None:  # masked too: a job may print the variable it was given
            secrets.append(SecretSource(name=f"{VARIABLE} auth {index}", value=cred.auth))
        registries.append(Registry(host=cred.host, username=cred.username, password_secret=name))
    return dataclasses.replace(pipeline, registries=tuple(registries), secrets=tuple(secrets))


def _auth_config(options: LoadOptions, environ: Mapping[str, str]) -> tuple[str, str] | None:
    """The variable's value and where it came from, the pipeline's variables first."""
    for name, value in (*options.variables, *options.file_variables):
        if name == VARIABLE:
            return value, "the pipeline's variables"
    if VARIABLE in options.secret_values:
        return options.secret_values[VARIABLE], "the pipeline's variables"
    for secret in options.secrets:
        if secret.name == VARIABLE and secret.value is not None:
            return secret.value, "the pipeline's variables"
    if environ.get(VARIABLE):
        return environ[VARIABLE], "the environment"
    return None
