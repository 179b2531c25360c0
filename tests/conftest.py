"""Suite-wide set-up: never test as root, build the base image once, skip podman tests cleanly.

Started as root (CI runs ``make test`` as root), the suite re-executes itself
as ``$RUNNER_TEST_USER`` (default ``runner``) before collecting anything:
rootless podman is what we test, and root-owned leftovers would break later
unprivileged runs.
"""

from __future__ import annotations

import os
import pwd
import secrets
import shutil
import subprocess
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import pytest

from tests.registry import Registry, RegistryServer, push_image, registry_unavailable

REPO = Path(__file__).resolve().parent.parent
BUSYBOX_IMAGE = "localhost/busybox:latest"
_MARK = "RUNNER_TEST_REEXECUTED"


def pytest_configure(config: pytest.Config) -> None:
    """As root, hand the whole run to the unprivileged user (before collection)."""
    if os.geteuid() != 0:
        return
    user = os.environ.get("RUNNER_TEST_USER", "runner")
    if os.environ.get(_MARK):
        pytest.exit(f"re-executed as {user} but still root; refusing to loop", returncode=4)
    try:
        entry = pwd.getpwnam(user)
    except KeyError:
        pytest.exit(f"test user {user!r} missing: run `make setup` (deploy/setup-host.sh)", 4)
    runtime_dir = Path(f"/run/user/{entry.pw_uid}")
    if not runtime_dir.is_dir():
        runtime_dir.mkdir(mode=0o700, parents=True)
        os.chown(runtime_dir, entry.pw_uid, entry.pw_gid)
    python = _python_for(user)
    argv = ["runuser", "-u", user, "--", python, "-m", "pytest", *config.invocation_params.args]
    env = {**os.environ, "XDG_RUNTIME_DIR": str(runtime_dir), _MARK: "1"}
    wants_cache = not config.pluginmanager.is_blocked("cacheprovider")
    if (wants_cache and not _can_write(user, config.rootpath)
            and "cache_dir" not in env.get("PYTEST_ADDOPTS", "")):
        # A root-owned checkout is read-only for the user; keep pytest's cache in its home.
        cache = Path(entry.pw_dir) / ".cache/runner-dev/pytest"
        env["PYTEST_ADDOPTS"] = f"{env.get('PYTEST_ADDOPTS', '')} -o cache_dir={cache}".strip()
    capture = config.pluginmanager.getplugin("capturemanager")
    if capture is not None:  # give the child our real stdout/stderr, not capture files
        capture.stop_global_capturing()
    sys.stdout.flush()
    sys.stderr.flush()
    os.chdir(config.invocation_params.dir)
    os.execvpe("runuser", argv, env)


def _can_write(user: str, path: Path) -> bool:
    """Whether ``user`` may create files in ``path`` (asked as that user: root sees no limits)."""
    probe = ["runuser", "-u", user, "--", "test", "-w", str(path)]
    return subprocess.run(probe, cwd="/", check=False).returncode == 0


def _python_for(user: str) -> str:
    """This interpreter if ``user`` can run it with pytest, else the checkout's .venv one.

    A pyenv interpreter under /root (mode 0700) is not executable by anyone else,
    whereas deploy/setup-host.sh builds .venv from /usr/bin/python3 for this.
    """
    for python in (sys.executable, str(REPO / ".venv/bin/python")):
        probe = ["runuser", "-u", user, "--", python, "-c", "import pytest"]
        if subprocess.run(probe, cwd="/", capture_output=True, check=False).returncode == 0:
            return python
    pytest.exit(f"{user} can run neither {sys.executable} nor .venv: run `make setup`", 4)


@cache
def _podman_unavailable() -> str | None:
    """Why podman tests cannot run here, or None when they can."""
    from runner.host import facts  # noqa: PLC0415 - only after a root run was handed over

    if shutil.which("podman") is None:
        return "podman is not on PATH"
    host = facts.gather_quick()
    if not host.subuids or not host.subgids:
        return f"user {host.user} has no subuid/subgid range (run deploy/setup-host.sh)"
    return None


def pytest_runtest_setup(item: pytest.Item) -> None:
    """Skip ``@pytest.mark.podman`` tests, saying why, where rootless podman cannot work."""
    if item.get_closest_marker("podman") is not None:
        reason = _podman_unavailable()
        if reason:
            pytest.skip(f"needs rootless podman: {reason}")


@pytest.fixture(scope="session")
def busybox_image() -> str:
    """The local busybox image, built once per session by deploy/base-images.sh."""
    script = REPO / "deploy/base-images.sh"
    done = subprocess.run([script], capture_output=True, text=True, check=False)
    if done.returncode != 0:
        pytest.fail(f"{script} failed ({done.returncode}):\n{done.stderr}", pytrace=False)
    return BUSYBOX_IMAGE


@pytest.fixture(scope="session")
def registry(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Registry]:
    """One TLS + htpasswd registry for the whole session (tests use their own repositories)."""
    reason = registry_unavailable()
    if reason:
        pytest.skip(f"needs a local registry: {reason}")
    with RegistryServer(tmp_path_factory.mktemp("registry")) as running:
        yield running


@pytest.fixture
def registry_factory(tmp_path: Path) -> Iterator[Callable[[str], RegistryServer]]:
    """Make extra (not yet started) registries under tmp_path; all are stopped afterwards.

    For tests that need an empty registry or one they can stop and start.
    """
    reason = registry_unavailable()
    if reason:
        pytest.skip(f"needs a local registry: {reason}")
    servers: list[RegistryServer] = []

    def make(name: str) -> RegistryServer:
        server = RegistryServer(tmp_path / name)
        servers.append(server)
        return server

    yield make
    for server in servers:
        server.stop()


@dataclass(frozen=True)
class PrivateImage:
    """An image only the registry's credentials can pull, and the file that proves it ran."""

    reference: str
    marker: str
    """The content of ``/private-marker`` in the image (unique per test)."""


@pytest.fixture
def private_image(tmp_path: Path, registry: Registry, busybox_image: str
                  ) -> Iterator[PrivateImage]:
    """Busybox plus a unique ``/private-marker``, pushed to the authenticated registry.

    The local copy is removed before the test runs: the user's store never holds it.
    """
    marker = f"private-layer-{secrets.token_hex(8)}"
    name = f"private/app-{marker[-8:]}:1"
    local = f"localhost/{name}"

    def buildah(*args: str) -> str:
        done = subprocess.run(["buildah", *args], capture_output=True, text=True, timeout=120,
                              check=False)
        assert done.returncode == 0, done.stderr
        return done.stdout.strip()

    container = buildah("from", "--pull=never", "--quiet", busybox_image)
    try:
        (tmp_path / "private-marker").write_text(marker + "\n")
        buildah("copy", "--quiet", container, str(tmp_path / "private-marker"), "/private-marker")
        buildah("commit", "--quiet", container, local)
    finally:
        buildah("rm", container)
    try:
        reference = push_image(registry, local, name)
    finally:
        buildah("rmi", local)
    yield PrivateImage(reference, marker)

