"""A tenant's private image is pulled with its credentials and stays in its own store.

On a shared runner, an image one project pulled with its credentials must not
be runnable by another project that has none: the classic leak of a shared
image cache (Kubernetes added ``AlwaysPullImages`` for it). The attacker here
knows the image's full name and trusts the registry's CA; only credentials
are missing, and the registry must be the one that says no.
"""

from __future__ import annotations

import json
import textwrap
from pathlib import Path

import pytest

from tests.conftest import PrivateImage
from tests.integration.harness import (
    Project,
    Tenants,
    new_project,
    podman,
    said,
    tenant_store,
    with_registry,
)
from tests.registry import Registry
from tests.security.conftest import IMAGE

pytestmark = pytest.mark.podman


def test_private_image_is_never_run_without_credentials(
        tmp_path: Path, project: Project, tenants: Tenants, registry: Registry,
        private_image: PrivateImage) -> None:
    """The owner pulls with its credentials into its own store (never the user's); an attacker
    with the CA but no credentials is refused by the registry, through either store; the
    owner's next run finds its copy without pulling again."""
    reference, marker = private_image.reference, private_image.marker
    owner = tenants.add(project)
    owner.write(with_registry(f"""
        version: 1
        jobs:
          app:
            image: {reference}
            services:
              - image: {IMAGE}
                alias: web
                command: ["sh", "-c", "mkdir /s && echo up > /s/i && exec httpd -f -p 8080 -h /s"]
                ports: [8080]
            script:
              - cat /private-marker
              - wget -qO- http://web:8080/i
        """, registry), **{"notes.txt": "x\n"})
    first = owner.run(REG_PW=registry.password)
    assert first.code == 0, first.out + first.err
    assert said(first.out, "app", marker) and said(first.out, "app", "up"), first.out
    log = owner.log("app")
    assert f"pulling image {reference} into this project's image store" in log
    assert f"copying image {IMAGE} into this project's image store" in log
    assert registry.password not in first.out + log
    assert podman("image", "exists", reference, check=False).returncode == 1  # user's store
    assert podman("image", "exists", reference, store=tenant_store(owner.root),
                  check=False).returncode == 0

    # The attacker trusts the registry's CA (so TLS is not what stops it) but has no password.
    attacker = tenants.add(new_project(tmp_path / "attacker", project.cache))
    attacker.write(textwrap.dedent(f"""
        version: 1
        jobs:
          steal:
            image: {reference}
            script: ["cat /private-marker"]
        registries:
          "{registry.host}": {{ca_file: "{registry.ca_file}"}}
        """))
    attack = attacker.run()
    assert attack.code == 1, attack.out + attack.err
    stolen = attacker.log("steal")
    assert marker not in attack.out + stolen
    assert f"pulling image {reference}" in stolen  # control: it really asked the registry
    assert "The registry refused access" in stolen, stolen
    assert "image could not be fetched" in json.dumps(_results(attacker))

    # Without any registries entry the job uses the user's store, which never had the image.
    conf = tmp_path / "registries.conf"
    conf.write_text(f'[[registry]]\nlocation = "{registry.host}"\ninsecure = true\n')
    attacker.write(f"""
        version: 1
        jobs:
          steal:
            image: {reference}
            script: ["cat /private-marker"]
        """)
    attack = attacker.run(CONTAINERS_REGISTRIES_CONF=str(conf))
    assert attack.code == 1, attack.out + attack.err
    assert marker not in attack.out + attacker.log("steal")
    assert "unauthorized" in attack.out + attacker.log("steal"), attack.out

    again = owner.run(REG_PW=registry.password)
    assert said(again.out, "app", marker), again.out + again.err
    assert "pulling image" not in owner.log("app")
    assert "copying image" not in owner.log("app")


def _results(project: Project) -> dict[str, object]:
    return json.loads((project.root / ".runner" / "result.json").read_text())



def test_shared_storage_still_pulls_private_images_with_the_pipelines_access(
        project: Project, registry: Registry, private_image: PrivateImage) -> None:
    """``--build-storage shared`` (one user's choice) keeps images in the user's store, but a
    private one is still fetched with the pipeline's credentials and CA: podman would have
    neither."""
    reference = private_image.reference
    project.write(with_registry(f"""
        version: 1
        jobs:
          app:
            image: {reference}
            script: ["cat /private-marker"]
        """, registry))
    try:
        run = project.run("--build-storage", "shared", REG_PW=registry.password)
        assert run.code == 0, run.out + run.err
        assert said(run.out, "app", private_image.marker), run.out
        assert f"pulling image {reference} into the user's image store" in project.log("app")
        assert podman("image", "exists", reference, check=False).returncode == 0
    finally:
        podman("rmi", "--force", reference, check=False)
