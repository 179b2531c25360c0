"""``runner build`` from the command line: where the image goes, and fixes in the CLI's terms.

Issue 15, bugs 4 and 5: ``runner build -t X .`` put the image in a store of the
context's own, so ``podman image exists X`` was false and nothing said where it
went; and a push to a plain-HTTP registry advised a pipeline-file key.
"""

from __future__ import annotations

import http.server
import os
import secrets
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

pytestmark = pytest.mark.podman

REPO = Path(__file__).resolve().parents[2]
BASE = "localhost/busybox:latest"
TIMEOUT = 300


def runner_build(context: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "runner", "build", str(context), *args],
                          env={**os.environ, "PYTHONPATH": str(REPO)}, capture_output=True,
                          text=True, timeout=TIMEOUT, check=False)


def image_exists(ref: str) -> bool:
    return subprocess.run(["podman", "image", "exists", ref], timeout=60,
                          check=False).returncode == 0


@pytest.fixture
def context(tmp_path: Path) -> Path:
    (tmp_path / "Containerfile").write_text(f"FROM {BASE}\nRUN echo {secrets.token_hex(8)}\n")
    return tmp_path


@pytest.fixture
def tag() -> Iterator[str]:
    name = f"localhost/runner-cli-build-{secrets.token_hex(4)}:1"
    yield name
    subprocess.run(["podman", "rmi", "--force", name], capture_output=True, timeout=60,
                   check=False)


def test_the_image_is_in_the_users_podman_store(context: Path, tag: str) -> None:
    done = runner_build(context, "-t", tag)
    assert done.returncode == 0, done.stderr
    assert image_exists(tag)
    assert f"runner: the image is in your podman store: podman run {tag}" in done.stderr


def test_a_project_store_build_says_how_to_reach_it(context: Path, tag: str) -> None:
    done = runner_build(context, "-t", tag, "--build-storage", "project")
    assert done.returncode == 0, done.stderr
    assert not image_exists(tag)
    line = next(line for line in done.stderr.splitlines() if "build store" in line)
    command = line.split("podman store: ", 1)[1].split(" (or build", 1)[0]
    assert command.startswith("podman --root ") and command.endswith(f" run {tag}"), line
    store = command.removeprefix("podman ").removesuffix(f" run {tag}").split()
    assert subprocess.run(["podman", *store, "image", "exists", tag], timeout=60,
                          check=False).returncode == 0


@pytest.fixture
def plain_http() -> Iterator[str]:
    """A server on loopback that answers HTTP, as a registry without TLS would."""
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), http.server.BaseHTTPRequestHandler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def test_a_plain_http_registry_gets_the_clis_fix(context: Path, plain_http: str) -> None:
    done = runner_build(context, "-t", f"{plain_http}/app:1", "--push")
    assert done.returncode == 1, done.stderr
    assert (f"registry {plain_http} speaks plain HTTP, not HTTPS: pass --insecure-registry"
            f" {plain_http} if that is intended") in done.stderr, done.stderr
    assert "registries:" not in done.stderr
