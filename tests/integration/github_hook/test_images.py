"""Job images that are not plain root Debian: Alpine (``isAlpine``) and a non-root ``USER``."""

from __future__ import annotations

import secrets
import subprocess
from collections.abc import Iterator

import pytest

from tests.integration.github_hook.harness import (
    BUSYBOX,
    FakeRunner,
    state_of,
)

pytestmark = pytest.mark.podman


def _buildah(*args: str) -> str:
    done = subprocess.run(["buildah", *args], capture_output=True, text=True, timeout=120,
                          check=False)
    assert done.returncode == 0, done.stderr
    return done.stdout.strip()


@pytest.fixture
def derived() -> Iterator[list[str]]:
    """Images a test made from busybox; removed after its jobs (ask for it before ``fake``)."""
    made: list[str] = []
    yield made
    for image in made:
        _buildah("rmi", image)


def _derive(made: list[str], shell: str, *config: str) -> str:
    image = f"localhost/runner-hook-variant:{secrets.token_hex(4)}"
    container = _buildah("from", "--pull=never", "--quiet", BUSYBOX)
    try:
        _buildah("run", container, "sh", "-c", shell)
        if config:
            _buildah("config", *config, container)
        _buildah("commit", "--quiet", container, image)
    finally:
        _buildah("rm", container)
    made.append(image)
    return image


def test_is_alpine_is_answered_from_the_images_release_file(
        derived: list[str], fake: FakeRunner) -> None:
    """actions/runner picks its Alpine Node for JS actions from ``isAlpine``."""
    image = _derive(derived, "printf 'NAME=\"Alpine Linux\"\\nID=alpine\\n' > /etc/os-release")
    prepared = fake.prepare({"container": fake.container(image), "services": []})
    fake.jobs.append(state_of(prepared))
    assert prepared.response is not None and prepared.response["isAlpine"] is True


def test_steps_run_as_the_images_non_root_user(derived: list[str], fake: FakeRunner) -> None:
    """As ``docker exec`` runs them: as the image's ``USER`` (here 1000), which the
    supervisor runs as too."""
    image = _derive(derived, "mkdir -p /home/app && chown 1000:1000 /home/app",
                    "--user", "1000:1000")
    state = state_of(fake.prepare({"container": fake.container(image), "services": []}))
    fake.jobs.append(state)
    step = fake.script('echo "uid=$(id -u)"\necho "secret=$TOKEN"\n', shell="sh")
    step["environmentVariables"] = {"TOKEN": "s3cret"}
    step["workingDirectory"] = "/home/app"
    done = fake.call("run_script_step", step, state)
    assert done.code == 0, done.output
    assert "uid=1000" in done.output and "secret=s3cret" in done.output
    failed = fake.script("exit 5\n", shell="sh")
    failed["workingDirectory"] = "/home/app"
    assert fake.call("run_script_step", failed, state).code == 5
