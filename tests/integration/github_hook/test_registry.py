"""A job container from a TLS + password registry, with the workflow's ``credentials``.

actions/runner sends them as ``registry`` in the hook input; the password
must reach only a 0600 auth file, never argv or the step log.
"""

from __future__ import annotations

import base64
import secrets
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import PrivateImage
from tests.integration.github_hook.harness import FakeRunner, hook_dir, job_leftovers, state_of
from tests.registry import Registry

pytestmark = pytest.mark.podman


@pytest.fixture
def trusted(registry: Registry) -> Iterator[Registry]:
    """The registry's CA in the user's certs.d, as an admin installs a private CA."""
    host_dir = Path.home() / ".config" / "containers" / "certs.d" / registry.host
    host_dir.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(registry.ca_file, host_dir / "ca.crt")
    try:
        yield registry
    finally:
        shutil.rmtree(host_dir)


def test_job_container_pulled_with_the_workflows_registry_credentials(
        tmp_path: Path, trusted: Registry, private_image: PrivateImage) -> None:
    fake = FakeRunner(tmp_path / "actions-runner", name=f"hook-{secrets.token_hex(4)}")
    wrong = fake.call("prepare_job", {"container": fake.container(
        private_image.reference, registry={"username": trusted.username,
                                           "password": "not-the-password",
                                           "serverUrl": f"https://{trusted.host}"}),
        "services": []})
    assert wrong.code != 0
    assert "refused access" in wrong.output
    assert "not-the-password" not in wrong.output

    login = {"username": trusted.username, "password": trusted.password,
             "serverUrl": f"https://{trusted.host}"}
    prepared = fake.prepare({"container": fake.container(private_image.reference,
                                                         registry=login), "services": []})
    state = state_of(prepared)
    try:
        assert trusted.password not in prepared.output
        job_files = [p for p in hook_dir(str(state["job"])).rglob("*") if p.is_file()]
        assert job_files  # the job's dir is there: its files hold no password
        token = base64.b64encode(f"{trusted.username}:{trusted.password}".encode()).decode()
        assert not [p for p in job_files if trusted.password in p.read_text(errors="replace")
                    or token in p.read_text(errors="replace")]  # an auth file's form
        done = fake.call("run_script_step", fake.script("cat /private-marker\n", shell="sh"),
                         state)
        assert done.code == 0, done.output
        assert private_image.marker in done.output
    finally:
        assert fake.call("cleanup_job", {}, state).code == 0
    assert job_leftovers(str(state["job"])) == []
