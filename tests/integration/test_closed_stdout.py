"""``runner exec | head -1``: a reader that closes the pipe stops the run cleanly (issue 15, bug 1).

The old code died of a ``BrokenPipeError`` traceback (exit 70) and in 2 of 12
tries hung with its job containers running and their uid slices held. Now the
first failed write stops the run as one Ctrl-C does: scripts stop,
``after_script`` runs, nothing is left, exit 130. The ``project`` fixture
checks that no container or scratch dir remains.
"""

from __future__ import annotations

import json
import os
import subprocess

import pytest

from tests.integration.harness import Project

IMAGE = "localhost/busybox:latest"

pytestmark = pytest.mark.podman

PIPELINE = f"""
    version: 1
    image: {IMAGE}
    jobs:
      a:
        script: ["for i in $(seq 600); do echo a-$i; sleep 0.1; done"]
        after_script: ["echo a-after"]
      b:
        script: ["for i in $(seq 600); do echo b-$i; sleep 0.1; done"]
      c:
        needs: [a]
        script: ["echo never"]
    """
HANG = 150
"""Seconds after which the run is taken for hung (the jobs alone would take 60 s)."""


def statuses(project: Project) -> dict[str, str]:
    result = json.loads((project.state / "result.json").read_text())
    return {job["name"]: job["status"] for job in result["jobs"]}


def test_pipe_closed_before_the_jobs_stops_the_run(project: Project) -> None:
    project.write(PIPELINE)
    read, write = os.pipe()
    os.close(read)
    try:
        proc = subprocess.Popen(project.argv(), cwd=project.root, env=project.env(),
                                stdout=write, stderr=subprocess.PIPE, text=True)
    finally:
        os.close(write)
    _, err = proc.communicate(timeout=HANG)
    assert proc.returncode == 130, err
    assert "Traceback" not in err and "BrokenPipe" not in err, err
    assert statuses(project) == {"a": "canceled", "b": "canceled", "c": "canceled"}


def test_pipe_closed_during_the_jobs_stops_the_run(project: Project) -> None:
    project.write(PIPELINE)
    proc = project.start()
    assert proc.stdout is not None and proc.stderr is not None
    while "a-3" not in proc.stdout.readline():
        pass
    proc.stdout.close()  # what `head -1` does once it has its line
    try:
        _, err = proc.communicate(timeout=HANG)
    finally:
        proc.kill()
    assert proc.returncode == 130, err
    assert "Traceback" not in err and "BrokenPipe" not in err, err
    assert statuses(project) == {"a": "canceled", "b": "canceled", "c": "canceled"}
    assert "a-after" in project.log("a")
