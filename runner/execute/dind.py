"""Docker-in-Docker jobs: which jobs ask for a Docker daemon, and what they get instead.

A job asks by listing a ``docker:*dind*`` service (any tag, alias or
registry prefix: GitLab's documented form, also the native format's, and
what the GitHub dialect sets for a job that runs ``docker``). That service
is never started: the job gets its own rootless Docker API instead
(``runner.dockerapi``), reachable under the service's aliases, with its
containers in the job's pod. Jobs that do not ask get nothing.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from pathlib import Path

from runner.dockerapi.endpoint import DockerWish, JobDocker
from runner.dockerapi.policy import Scope
from runner.engine.argv import StoreSpec
from runner.engine.namespace import NamespaceHelper
from runner.engine.podman import ContainerGone
from runner.errors import EngineError
from runner.pipeline.model import Job, Service

_DIND = re.compile(r"(?:[^/@\s]+/)*docker:[^/@\s]*dind[^/@\s]*(?:@sha256:[0-9a-f]{64})?")
DEFAULT_CERTDIR = "/certs"
"""The docker:dind image's own default (``ENV DOCKER_TLS_CERTDIR=/certs``)."""
ENVIRONMENT = (("DOCKER_BUILDKIT", "0"),)
"""Defaults under the job's own variables: the classic builder, which is what there is."""


def is_dind(service: Service) -> bool:
    """Whether ``service`` is a Docker-in-Docker daemon (``docker:dind``, ``docker:24-dind``)."""
    return _DIND.fullmatch(service.image.strip()) is not None


def other_services(job: Job) -> tuple[Service, ...]:
    """The job's services that really run as containers."""
    return tuple(service for service in job.services if not is_dind(service))


def docker_wish(job: Job) -> DockerWish | None:
    """What the job's DinD service asks for, or None when the job has none."""
    dind = [service for service in job.services if is_dind(service)]
    if not dind:
        return None
    aliases = tuple(dict.fromkeys(alias for s in dind for alias in s.aliases)) or ("docker",)
    return DockerWish(aliases, certdir(job.variables, *(s.variables for s in dind)))


def certdir(*scopes: Sequence[tuple[str, str]]) -> str | None:
    """``DOCKER_TLS_CERTDIR`` as the dind service would read it ('' turns TLS off).

    Later scopes win (a service's own variables over the job's); a value
    that is not a plain absolute path turns TLS off rather than guess.
    """
    value = DEFAULT_CERTDIR
    for scope in scopes:
        for name, text in scope:
            if name == "DOCKER_TLS_CERTDIR":
                value = text
    if not value or not value.startswith("/") or any(
            part in ("..", ".") for part in value.split("/")) or "$" in value or ":" in value:
        return None
    return value


async def open_docker(wish: DockerWish, scope: Scope, *, scratch: Path, workspace: Path,
                      helper: NamespaceHelper, runtime: str | None,
                      store: StoreSpec | None, private_hosts: frozenset[str]) -> JobDocker:
    """The job's Docker API, started (its listeners wait for ``attach``)."""
    docker = JobDocker(wish, scope, scratch=scratch, workspace=workspace, helper=helper,
                       runtime=runtime, store=store, private_hosts=private_hosts)
    try:
        await docker.prepare()
    except BaseException as exc:
        await docker.close()
        if isinstance(exc, (EngineError, OSError)):
            raise ContainerGone(f"the job's Docker API did not start: {exc}") from exc
        raise
    return docker
