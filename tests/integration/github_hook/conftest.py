"""Fixtures of the ``runner github-hook`` tests: a runner install, a service image, Node."""

from __future__ import annotations

import secrets
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.integration.github_hook.harness import FakeRunner, hook_dir, job_leftovers

WEB_IMAGE = "localhost/runner-hook-web:test"
HOST_NODE = "/usr/bin/node"


@pytest.fixture
def fake(tmp_path: Path, busybox_image: str) -> Iterator[FakeRunner]:
    """A runner install of its own name (a prepare_job sweeps its runner's earlier jobs)."""
    runner = FakeRunner(tmp_path / "actions-runner", name=f"hook-{secrets.token_hex(4)}")
    yield runner
    for state in runner.jobs:
        runner.call("cleanup_job", {}, state)
        assert job_leftovers(str(state["job"])) == []
        assert not hook_dir(str(state["job"])).exists()


@pytest.fixture(scope="session")
def web_image(busybox_image: str) -> str:
    """busybox whose command is an HTTP server on port 80, serving ``hello from web``."""
    def buildah(*args: str) -> str:
        done = subprocess.run(["buildah", *args], capture_output=True, text=True, timeout=120,
                              check=False)
        assert done.returncode == 0, done.stderr
        return done.stdout.strip()

    container = buildah("from", "--pull=never", "--quiet", busybox_image)
    try:
        buildah("run", container, "sh", "-c", "mkdir -p /www && echo hello from web "
                "> /www/index.html")
        buildah("config", "--cmd", "httpd -f -p 80 -h /www", "--port", "80", container)
        buildah("commit", "--quiet", container, WEB_IMAGE)
    finally:
        buildah("rm", container)
    return WEB_IMAGE


@pytest.fixture(scope="session")
def node_binary(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The host's Node 20 (glibc), copied once: the runner's ``externals/node20/bin/node``."""
    if not Path(HOST_NODE).is_file():
        pytest.skip(f"needs a glibc Node 20 at {HOST_NODE} (actions/runner's externals ship "
                    "one; Debian's nodejs needs its libnode, which a job image lacks)")
    copy = tmp_path_factory.mktemp("node") / "node"
    subprocess.run(["cp", HOST_NODE, str(copy)], check=True, timeout=120)
    return copy
