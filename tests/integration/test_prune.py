"""``runner prune`` on real stores: a project's store goes, one in use stays."""

from __future__ import annotations

import dataclasses
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from runner.execute.layout import tenant_key
from tests.integration.harness import (
    BASE,
    BUILD_TIMEOUT,
    OUTPUT_IMAGE,
    REPO,
    Project,
    Tenants,
    tenant_store,
    wait_for_line,
)

pytestmark = pytest.mark.podman


def _prune(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    """``runner prune``; tests name their own store (``--project``) or their own XDG dirs
    (``env``): never another's."""
    return subprocess.run([sys.executable, "-m", "runner", "prune", *args], capture_output=True,
                          text=True, timeout=300, check=False,
                          env={**os.environ, "PYTHONPATH": str(REPO), **(env or {})})


def test_prune_removes_a_project_store_unless_it_is_in_use(project: Project,
                                                           tenants: Tenants) -> None:
    """A build leaves its project's store; prune skips it while held, keeps it while recent,
    removes it (both roots) at age 0, and the project simply starts afresh."""
    built = tenants.add(project)
    built.write(f"""
        version: 1
        jobs:
          img:
            build: {{}}
          use:
            image: {OUTPUT_IMAGE}
            script: ["cat /stamp", "sleep $HOLD"]
            variables: {{HOLD: "0"}}
        """, Containerfile=f"FROM {BASE}\nRUN echo stamped > /stamp\n")
    run = built.run(timeout=BUILD_TIMEOUT)
    assert run.code == 0, run.out + run.err
    store = tenant_store(built.root)
    assert (store.root / "overlay-images" / "images.json").is_file()
    name = store.root.name

    # A job of the project is running from its store: prune must leave the store alone.
    built.write(built.root.joinpath("pipeline.yml").read_text().replace('HOLD: "0"',
                                                                         'HOLD: "30"'))
    running = built.start()
    try:
        wait_for_line(running, "stamped", timeout=BUILD_TIMEOUT)
        busy = _prune("--older-than", "0", "--project", name)
    finally:
        running.send_signal(signal.SIGINT)
        running.communicate(timeout=120)
    assert busy.returncode == 0, busy.stdout + busy.stderr
    assert f"{name}: in use" in busy.stdout, busy.stdout
    assert store.root.is_dir()

    dry = _prune("--older-than", "0", "--dry-run", "--project", name)
    assert f"{name}: would remove" in dry.stdout and store.root.is_dir()
    kept = _prune("--older-than", "30d", "--project", name)
    assert name not in kept.stdout and store.root.is_dir()

    done = _prune("--older-than", "0", "--project", name)
    assert done.returncode == 0, done.stdout + done.stderr
    assert f"{name}: removed" in done.stdout
    assert not store.root.exists() and not store.runroot.exists()
    again = built.run(timeout=BUILD_TIMEOUT)  # the project starts afresh
    assert again.code == 0, again.out + again.err


def test_bad_duration_is_a_usage_error() -> None:
    done = _prune("--older-than", "soon")
    assert done.returncode == 2
    assert "--older-than 'soon'" in done.stderr and "Traceback" not in done.stderr


DAY = 86400


def _aged(path: Path, days: float) -> None:
    """``path`` and everything under it last changed ``days`` ago."""
    then = time.time() - days * DAY
    for sub in [*path.rglob("*"), path]:
        os.utime(sub, (then, then), follow_symlinks=False)


def test_dry_run_lists_stores_and_caches_then_prune_removes_old_caches(
        project: Project, tmp_path: Path) -> None:
    """Each store and cache with its project path, size and last use, and a summary that
    reads as a sentence; the agent's per-project caches are covered too."""
    data, config = tmp_path / "data", tmp_path / "config"
    cached = dataclasses.replace(project, cache=tmp_path / "xdg-cache" / "runner" / "cache")
    cached.write(f"""
        version: 1
        jobs:
          fill:
            image: {BASE}
            cache: {{key: deps, paths: [deps/]}}
            script: ["mkdir -p deps && head -c 1048576 /dev/zero > deps/blob"]
        """)
    run = cached.run()
    assert run.code == 0, run.out + run.err
    exec_cache = cached.cache / tenant_key(cached.root)
    assert (exec_cache / "deps").is_dir()
    assert (cached.cache / f"{exec_cache.name}.project").read_text() == f"{cached.root}\n"
    _aged(cached.cache, 40)  # the cache and its project's last run
    # An image store of an old project (a fake one: prune only reads and removes it).
    old_store = data / "runner" / "builds" / "0123456789abcdef"
    (old_store / "overlay-images").mkdir(parents=True)
    (old_store / "overlay-images" / "images.json").write_bytes(b"[]" + b" " * (2 << 20))
    (old_store.parent / "0123456789abcdef.project").write_text("/srv/old-project\n")
    _aged(old_store, 40)
    # The agent's caches: one of a project unused for 40 days, one used today.
    agent_cache = data / "runner" / "agent" / "cache"
    for name, days in (("gitlab-example.com-7", 40), ("gitlab-example.com-8", 0)):
        (agent_cache / name / "key").mkdir(parents=True)
        (agent_cache / name / "key" / "f").write_bytes(b"x" * 4096)
        (agent_cache / f"{name}.project").write_text(f"/builds/group/p{name[-1]}\n")
        _aged(agent_cache / name, days)
        _aged(agent_cache / f"{name}.project", days)
    env = {"XDG_DATA_HOME": str(data), "XDG_CACHE_HOME": str(tmp_path / "xdg-cache"),
           "XDG_CONFIG_HOME": str(config)}

    dry = _prune("--dry-run", env=env)
    assert dry.returncode == 0, dry.stdout + dry.stderr
    lines = dry.stdout.splitlines()
    store_line = next(line for line in lines if "0123456789abcdef: would remove" in line)
    assert "/srv/old-project" in store_line and "2.0 MiB" in store_line
    assert "last used 40 days ago" in store_line
    exec_line = next(line for line in lines if f"{exec_cache.name}: would remove" in line)
    assert str(cached.root) in exec_line and "1.0 MiB" in exec_line
    assert any("gitlab-example.com-7: would remove" in line and "/builds/group/p7" in line
               for line in lines), dry.stdout
    assert any("gitlab-example.com-8: keep" in line and "last used today" in line
               for line in lines), dry.stdout
    assert ("would remove 1 of 1 project stores, 2.0 MiB; keeping 0 in use or used within "
            "30 days") in dry.stdout
    assert ("would remove 2 of 3 project caches, 1.0 MiB; keeping 1 used within 30 days"
            in dry.stdout), dry.stdout
    assert old_store.is_dir() and exec_cache.is_dir()

    done = _prune(env=env)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "removed 2 of 3 project caches" in done.stdout, done.stdout
    assert not exec_cache.exists() and not (agent_cache / "gitlab-example.com-7").exists()
    assert not (agent_cache / "gitlab-example.com-7.project").exists()
    assert (agent_cache / "gitlab-example.com-8" / "key" / "f").is_file()
    assert not old_store.exists()
