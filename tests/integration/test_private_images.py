"""GitLab files: private job images through ``DOCKER_AUTH_CONFIG``, and ``pull_policy``.

Against the session's TLS + htpasswd registry, whose CA is installed in the
user's ``certs.d`` as an admin would (neither GitLab nor DOCKER_AUTH_CONFIG
carries a CA). The password must appear in no output and no file left behind.
"""

from __future__ import annotations

import base64
import json
import secrets
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import PrivateImage
from tests.integration.harness import BASE, Project, Tenants, said
from tests.registry import Registry, push_image

pytestmark = pytest.mark.podman


@pytest.fixture
def trusted(registry: Registry) -> Iterator[Registry]:
    host_dir = Path.home() / ".config" / "containers" / "certs.d" / registry.host
    host_dir.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(registry.ca_file, host_dir / "ca.crt")
    try:
        yield registry
    finally:
        shutil.rmtree(host_dir)


def _auth_config(registry: Registry) -> str:
    token = base64.b64encode(f"{registry.username}:{registry.password}".encode()).decode()
    return json.dumps({"auths": {registry.host: {"auth": token}}})


def _repush(registry: Registry, reference: str, marker: str, tmp_path: Path) -> None:
    """Put new content (``/private-marker`` = ``marker``) under ``reference``'s tag."""
    def buildah(*args: str) -> str:
        done = subprocess.run(["buildah", *args], capture_output=True, text=True, timeout=120,
                              check=False)
        assert done.returncode == 0, done.stderr
        return done.stdout.strip()

    local = f"localhost/repush-{secrets.token_hex(4)}:1"
    container = buildah("from", "--pull=never", "--quiet", BASE)
    try:
        (tmp_path / "marker").write_text(marker + "\n")
        buildah("copy", "--quiet", container, str(tmp_path / "marker"), "/private-marker")
        buildah("commit", "--quiet", container, local)
    finally:
        buildah("rm", container)
    try:
        push_image(registry, local, reference.removeprefix(f"{registry.host}/"))
    finally:
        buildah("rmi", local)


def _files_holding(root: Path, needles: list[bytes]) -> list[Path]:
    found = []
    for path in root.rglob("*"):
        if path.is_file() and not path.is_symlink():
            data = path.read_bytes()
            if any(needle in data for needle in needles):
                found.append(path)
    return found


def test_private_image_with_docker_auth_config_and_pull_always(
        project: Project, tenants: Tenants, trusted: Registry, private_image: PrivateImage,
        tmp_path: Path) -> None:
    """Refused clearly without credentials; pulled with them; a moved tag is used (always)."""
    tenants.add(project)
    registry = trusted
    project.write("", **{".gitlab-ci.yml": f"""\
job:
  image: {private_image.reference}
  script: [cat /private-marker]
"""})
    denied = project.run(".gitlab-ci.yml")
    assert denied.code == 1, denied.out + denied.err
    assert said(denied.out, "job", f"runner: image {private_image.reference} could not be pulled")
    assert "DOCKER_AUTH_CONFIG for a GitLab file" in denied.out

    auth = _auth_config(registry)
    run = project.run(".gitlab-ci.yml", DOCKER_AUTH_CONFIG=auth)
    assert run.code == 0, run.out + run.err
    assert said(run.out, "job", private_image.marker), run.out

    newer = f"moved-{secrets.token_hex(6)}"
    _repush(registry, private_image.reference, newer, tmp_path)
    (project.root / ".runner").mkdir(exist_ok=True)
    (project.root / ".runner" / "variables.yml").write_text(
        "DOCKER_AUTH_CONFIG: " + json.dumps(auth) + "\n")
    again = project.run(".gitlab-ci.yml")
    assert again.code == 0, again.out + again.err
    assert said(again.out, "job", newer), again.out  # GitLab's default policy: always

    (project.root / ".gitlab-ci.yml").write_text(f"""\
job:
  image: {{name: {private_image.reference}, pull_policy: never}}
  script: [cat /private-marker]
""")
    offline = project.run(".gitlab-ci.yml")
    assert offline.code == 0, offline.out + offline.err
    assert said(offline.out, "job", newer)
    assert "pulling image" not in offline.out

    password = registry.password
    needles = [password.encode(), auth.encode().split(b'"auth": ')[-1].strip(b'"}')]
    for output in (denied, run, again, offline):
        assert password not in output.out + output.err
    (project.root / ".runner" / "variables.yml").unlink()  # the user's own input file
    assert _files_holding(project.root, needles) == []
    assert _files_holding(project.cache, needles) == [] if project.cache.exists() else True
