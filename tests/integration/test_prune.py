"""``runner prune`` on real stores: a project's store goes, one in use stays."""

from __future__ import annotations

import os
import signal
import subprocess
import sys

import pytest

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


def _prune(*args: str) -> subprocess.CompletedProcess[str]:
    """``runner prune``; tests name their own store (``--project``): never another's."""
    return subprocess.run([sys.executable, "-m", "runner", "prune", *args], capture_output=True,
                          text=True, timeout=300, check=False,
                          env={**os.environ, "PYTHONPATH": str(REPO)})


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
