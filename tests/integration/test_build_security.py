"""Build jobs keep credentials out of sight and tenants out of each other's layer cache."""

from __future__ import annotations

import base64
import os
import re
import secrets
import threading
from pathlib import Path

import pytest

from tests.integration.harness import (
    BASE,
    BUILD_TIMEOUT,
    OUTPUT_IMAGE,
    Project,
    Run,
    Tenants,
    job_results,
    new_project,
    podman,
    tenant_store,
    with_registry,
)
from tests.registry import Registry

pytestmark = pytest.mark.podman




def _run(project: Project, *args: str, **env: str) -> Run:
    """``runner exec`` with the time a build may take."""
    return project.run(*args, timeout=BUILD_TIMEOUT, **env)


class ArgvWatcher(threading.Thread):
    """Reads every process's command line, over and over, until stopped."""

    def __init__(self) -> None:
        super().__init__(daemon=True)
        self.seen: set[bytes] = set()
        self.rounds = 0
        self._halt = threading.Event()

    def run(self) -> None:
        while not self._halt.is_set():
            for pid in os.listdir("/proc"):
                if not pid.isdigit():
                    continue
                try:
                    with open(f"/proc/{pid}/cmdline", "rb") as handle:
                        argv = handle.read()
                except OSError:  # gone meanwhile, or not ours to read
                    continue
                if argv:
                    self.seen.add(argv)
            self.rounds += 1

    def stop(self) -> None:
        self._halt.set()
        self.join(timeout=30)


def test_credentials_never_in_argv_files_or_logs(project: Project, tenants: Tenants,
                                                 registry: Registry) -> None:
    """During a build and push no process's argv holds the password (plain or as the base64
    auth token); afterwards no file under .runner does, and the job's auth file is gone."""
    tenants.add(project)
    ref = f"{registry.host}/security/argv:1"
    project.write(with_registry(f"""
        version: 1
        jobs:
          img:
            build: {{tags: [{ref}], push: true, cache: {{to: {registry.host}/security/cache}}}}
        """, registry), Containerfile=f"FROM {BASE}\nRUN echo {secrets.token_hex(8)} > /f\n")
    token = base64.b64encode(f"{registry.username}:{registry.password}".encode())
    needles = (registry.password.encode(), token)
    watcher = ArgvWatcher()
    watcher.start()
    try:
        run = _run(project, REG_PW=registry.password)
    finally:
        watcher.stop()
    assert run.code == 0, run.out + run.err
    assert registry.tags("security/argv") == ["1"]
    leaks = [argv for argv in watcher.seen if any(needle in argv for needle in needles)]
    assert leaks == []
    # The watcher did see buildah at work, using an auth file in the job's scratch dir.
    work = project.state / "work"
    buildah_argvs = [argv.split(b"\0") for argv in watcher.seen if argv.startswith(b"buildah\0")]
    assert any(b"build" in argv for argv in buildah_argvs), watcher.rounds
    assert any(b"push" in argv for argv in buildah_argvs), watcher.rounds
    authfiles = {Path(argv[argv.index(b"--authfile") + 1].decode()) for argv in buildah_argvs
                 if b"--authfile" in argv}
    assert authfiles
    assert all(path.is_relative_to(work) for path in authfiles), authfiles
    assert not any(path.exists() for path in authfiles)
    assert not work.exists() or list(work.iterdir()) == []
    files = [path for path in project.state.rglob("*") if path.is_file()]
    assert project.state / "result.json" in files
    assert any(path.name == "img.log" and path.parent.parent == project.state / "runs"
               for path in files)
    for path in files:
        data = path.read_bytes()
        assert not any(needle in data for needle in needles), path
    assert not any(needle.decode() in run.out + run.err for needle in needles)


STAMP = """\
FROM {base}
RUN echo {nonce} && cat /proc/sys/kernel/random/uuid > /stamp
"""
PIPELINE = f"""
    version: 1
    jobs:
      img:
        build: {{}}
      use:
        image: {OUTPUT_IMAGE}
        script: ["echo stamp=$(cat /stamp)"]
    """


def _stamp_and_image(project: Project, *args: str) -> tuple[str, str]:
    """Run the pipeline; the /stamp of the image it built and the image's id."""
    run = _run(project, *args)
    assert run.code == 0, run.out + run.err
    found = re.search(r"^use\s*\| stamp=([0-9a-f-]{36})$", run.out, re.MULTILINE)
    assert found, run.out
    return found[1], str(job_results(project)["img"]["digest"])


def test_tenants_share_no_layers_unless_asked(tmp_path: Path, project: Project,
                                              tenants: Tenants) -> None:
    """Two projects building the same RUN step each run it in their own store; with
    ``--build-storage shared`` the second reuses the first one's layer."""
    containerfile = STAMP.format(base=BASE, nonce=secrets.token_hex(8))
    first = tenants.add(project)
    second = tenants.add(new_project(tmp_path / "second", tmp_path / "cache2"))
    for each in (first, second):
        each.write(PIPELINE, Containerfile=containerfile)
    own = [_stamp_and_image(each) for each in (first, second)]
    assert own[0][0] != own[1][0]
    assert "Using cache" not in second.log("img")
    stores = [tenant_store(each.root).root for each in (first, second)]
    assert stores[0] != stores[1]
    assert all(store.is_dir() for store in stores)
    assert podman("image", "exists", own[0][1], check=False).returncode == 1  # not shared
    shared: list[tuple[str, str]] = []
    try:
        for each in (first, second):
            shared.append(_stamp_and_image(each, "--build-storage", "shared"))
            assert "in the user's shared image store" in each.log("img")
        assert shared[0] == shared[1]  # same layer, same image
        assert "Using cache" in second.log("img")
        assert shared[0][0] not in (own[0][0], own[1][0])
    finally:
        for _, image in shared:
            podman("rmi", "--force", "--ignore", image, check=False)
    assert podman("image", "exists", shared[0][1], check=False).returncode == 1
    work = second.state / "work"
    assert not work.exists() or list(work.iterdir()) == []
