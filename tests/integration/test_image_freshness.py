"""A job whose image an upstream job makes runs that image, never an older one.

The scheduler starts containers of waiting jobs early; an image named by a
tag that an upstream job pushes must be resolved only once that job is done.
Both the first run (the tag does not exist yet: ``manifest unknown`` when
pulled too early) and a later one (the store holds the previous run's image
under that tag) are checked, against the session's TLS + htpasswd registry.
"""

from __future__ import annotations

import secrets

import pytest

from tests.integration.harness import BASE, BUILD_TIMEOUT, Project, Tenants, said, with_registry
from tests.registry import Registry

pytestmark = pytest.mark.podman


def _pipeline(ref: str, registry: Registry, *, use: bool = True) -> str:
    user = f"""
          use:
            needs: [img]
            image: {ref}
            script: ["cat /version"]
        """ if use else ""
    return with_registry(f"""
        version: 1
        jobs:
          img:
            build: {{tags: [{ref}], push: true}}
        """ + user, registry)


def test_job_runs_the_image_its_need_just_pushed(project: Project, tenants: Tenants,
                                                 registry: Registry) -> None:
    """First run: the tag is new; second run: the tag moves to new content."""
    tenants.add(project)
    ref = f"{registry.host}/fresh/app-{secrets.token_hex(4)}:1"
    env = {"REG_PW": registry.password}
    for version in ("3.0.0", "4.0.0"):
        project.write(_pipeline(ref, registry),
                      Containerfile=f"FROM {BASE}\nRUN echo version {version} > /version\n")
        run = project.run(timeout=BUILD_TIMEOUT, **env)
        assert run.code == 0, f"run of {version}:\n{run.out}\n{run.err}"
        assert said(run.out, "use", f"version {version}"), run.out


def test_job_never_runs_the_previous_runs_image(project: Project, tenants: Tenants,
                                               registry: Registry) -> None:
    """The store already holds 3.0.0 under the tag when the pipeline pushes 4.0.0."""
    tenants.add(project)
    ref = f"{registry.host}/fresh/stale-{secrets.token_hex(4)}:1"
    env = {"REG_PW": registry.password}
    project.write(_pipeline(ref, registry, use=False),
                  Containerfile=f"FROM {BASE}\nRUN echo version 3.0.0 > /version\n")
    assert project.run(timeout=BUILD_TIMEOUT, **env).code == 0
    project.write(_pipeline(ref, registry),
                  Containerfile=f"FROM {BASE}\nRUN echo version 4.0.0 > /version\n")
    run = project.run(timeout=BUILD_TIMEOUT, **env)
    assert run.code == 0, run.out + run.err
    assert said(run.out, "use", "version 4.0.0"), run.out
