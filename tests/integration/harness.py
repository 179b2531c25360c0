"""Helpers for running the real ``runner exec`` on throwaway projects."""

from __future__ import annotations

import contextlib
import json
import os
import re
import signal
import subprocess
import sys
import tempfile
import textwrap
import time
from dataclasses import dataclass
from pathlib import Path

from runner.build.prune import tenant_stores
from runner.build.storage import store_roots
from runner.engine import store_index
from runner.engine.argv import (
    LABEL_RUN,
    StoreSpec,
    list_containers_argv,
    remove_store_argv,
    store_options,
)
from runner.execute.layout import tenant_key
from tests.registry import Registry

REPO = Path(__file__).resolve().parents[2]


BASE = "localhost/busybox:latest"
"""The local base image build tests start FROM."""
BUILD_TIMEOUT = 300
"""How long a test gives one ``runner exec`` that builds images."""


SESSION_START = time.time()


def podman_leftovers() -> list[str]:
    """Containers of any runner run (podman's and buildah's), by name, in the user's store
    and in every tenant store whose containers changed since the test session started."""
    stores: list[StoreSpec | None] = [None]
    for store in tenant_stores(*store_roots(os.environ, Path.home())):
        listing = store.root / "overlay-containers" / "containers.json"
        with contextlib.suppress(OSError):
            if (listing.stat().st_mtime >= SESSION_START
                    and store_index.has_containers(store) is not False):
                stores.append(store)
    found = []
    for store in stores:
        proc = subprocess.run(list_containers_argv(LABEL_RUN, store), capture_output=True,
                              text=True, timeout=60, check=True)
        found += [line for line in proc.stdout.splitlines() if line.strip()]
    return found + runc_leftovers()


def runc_leftovers() -> list[str]:
    """What the runc engine may leave: containers runc still knows, root file system mounts
    and their mount-point dirs (see ``runner.engine.runc``)."""
    state = Path(os.environ.get("XDG_RUNTIME_DIR", "/nonexistent")) / "runner" / "runc"
    proc = subprocess.run(["podman", "unshare", "sh", "-c",
                           'runc --root "$1" list --quiet 2>/dev/null; cat /proc/self/mountinfo',
                           "sh", str(state)], capture_output=True, text=True, timeout=60,
                          check=True)
    found = [f"runc container {line}" for line in proc.stdout.splitlines()
             if line.startswith("runner-")]
    found += [f"mount {line.split()[4]}" for line in proc.stdout.splitlines()
              if " fuse.fuse-overlayfs " in line or "/runner-root-" in line]
    found += [f"dir {path}" for path in Path(tempfile.gettempdir()).glob("runner-root-*")]
    return found


@dataclass
class Run:
    """A finished ``runner exec``."""

    code: int
    out: str
    err: str


@dataclass
class Project:
    """A git repository in tmp_path with a pipeline.yml, and how to run it."""

    root: Path
    cache: Path

    def write(self, pipeline: str, **files: str) -> None:
        (self.root / "pipeline.yml").write_text(textwrap.dedent(pipeline))
        for name, text in files.items():
            path = self.root / name
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(text)

    def argv(self, *args: str) -> list[str]:
        return [sys.executable, "-m", "runner", "exec", "--cache-dir", str(self.cache),
                "--color", "never", *args]

    def env(self, **extra: str) -> dict[str, str]:
        return {**os.environ, "PYTHONPATH": str(REPO), **extra}

    def run(self, *args: str, timeout: float = 180, **env: str) -> Run:
        proc = subprocess.run(self.argv(*args), cwd=self.root, env=self.env(**env),
                              capture_output=True, text=True, timeout=timeout, check=False)
        return Run(proc.returncode, proc.stdout, proc.stderr)

    def start(self, *args: str, **env: str) -> subprocess.Popen[str]:
        return subprocess.Popen(self.argv(*args), cwd=self.root, env=self.env(**env),
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)

    @property
    def state(self) -> Path:
        return self.root / ".runner"

    def log(self, job: str) -> str:
        return (self.state / "latest" / f"{job}.log").read_text()



def wait_for_line(proc: subprocess.Popen[str], needle: str, timeout: float = 60) -> list[str]:
    """Read proc's stdout until a line contains ``needle``; returns the lines read."""
    assert proc.stdout is not None
    seen: list[str] = []
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        line = proc.stdout.readline()
        if not line:
            break
        seen.append(line)
        if needle in line:
            return seen
    proc.send_signal(signal.SIGKILL)
    raise AssertionError(f"{needle!r} never appeared; got {seen!r}")


def said(out: str, job: str, text: str) -> bool:
    """Whether ``job`` printed a line starting with ``text`` (prefixes are padded)."""
    return any(re.match(rf"{re.escape(job)}\s*\| {re.escape(text)}", line)
               for line in out.splitlines())


# --- image builds (build jobs) ---------------------------------------------------------------

BUILD_TOOL_TIMEOUT = 300
OUTPUT_IMAGE = "${{ jobs.img.image }}"
"""How a later job names build job ``img``'s image (kept out of f-strings' braces)."""
OUTPUT_DIGEST = "${{ jobs.img.digest }}"


def new_project(root: Path, cache: Path) -> Project:
    """Another fresh git project, for tests that need two (each gets its own tenant store)."""
    root.mkdir(parents=True)
    subprocess.run(["git", "init", "-q", str(root)], check=True, timeout=30)
    return Project(root, cache)


def job_results(project: Project) -> dict[str, dict[str, object]]:
    """``.runner/result.json``'s jobs, by name."""
    doc = json.loads((project.state / "result.json").read_text())
    return {job["name"]: job for job in doc["jobs"]}


def with_registry(pipeline: str, registry: Registry, ca_file: str | Path | None = None,
                  secret: str = "REG_PW") -> str:
    """``pipeline`` (dedented) plus ``secrets`` and ``registries`` for pushing to ``registry``.

    The password comes from the environment variable named ``secret``; ``ca_file``
    defaults to the registry's CA by absolute path.
    """
    ca = registry.ca_file if ca_file is None else ca_file
    return (textwrap.dedent(pipeline)
            + f"secrets: {{{secret}: {{env: {secret}}}}}\n"
            + f"registries: {{\"{registry.host}\": {{ca_file: \"{ca}\", username: "
              f"{registry.username}, password_secret: {secret}}}}}\n")


def tenant_store(root: Path) -> StoreSpec:
    """Where build jobs of the project at ``root`` keep their images (its tenant store)."""
    stores, runroots = store_roots(os.environ, Path.home())
    key = tenant_key(root)
    return StoreSpec(stores / key, runroots / key)


def buildah(*args: str, store: StoreSpec | None = None,
            check: bool = True) -> subprocess.CompletedProcess[str]:
    """``buildah`` on ``store`` (None: the user's default store), with a timeout."""
    return subprocess.run(["buildah", *store_options(store), *args], capture_output=True,
                          text=True, timeout=BUILD_TOOL_TIMEOUT, check=check)


def podman(*args: str, store: StoreSpec | None = None,
           check: bool = True) -> subprocess.CompletedProcess[str]:
    """``podman`` on ``store`` (None: the user's default store), with a timeout."""
    return subprocess.run(["podman", *store_options(store), *args], capture_output=True,
                          text=True, timeout=BUILD_TOOL_TIMEOUT, check=check)


def remove_build_store(root: Path) -> None:
    """Delete the tenant store of the project at ``root`` (its files belong to subuids too)."""
    store = tenant_store(root)
    if store.root.exists():
        buildah("rm", "--all", store=store, check=False)
        buildah("rmi", "--all", "--force", store=store, check=False)
    if store.root.exists() or store.runroot.exists():
        subprocess.run(remove_store_argv(store), capture_output=True, text=True,
                       timeout=BUILD_TOOL_TIMEOUT, check=True)
    (store.root.parent / f"{store.root.name}.lock").unlink(missing_ok=True)


class Tenants:
    """Projects whose tenant build stores a test created; remove_all() deletes the stores."""

    def __init__(self) -> None:
        self.roots: list[Path] = []

    def add(self, project: Project) -> Project:
        self.roots.append(project.root)
        return project

    def remove_all(self) -> None:
        errors = []
        for root in self.roots:
            try:
                remove_build_store(root)
            except subprocess.SubprocessError as err:
                errors.append(f"{root}: {err}")
        assert not errors, errors


def runtime_dir_mode() -> int:
    """The permission bits of ``$XDG_RUNTIME_DIR``."""
    return Path(os.environ["XDG_RUNTIME_DIR"]).stat().st_mode & 0o7777
