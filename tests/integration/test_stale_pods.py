"""A pod left by a killed run never blocks a uid slot (issue 15, bug 2).

The bug: a pod left by a killed run whose network namespace mount was gone
could not be removed ("unknown FS magic"), and every later run's first job
failed on the lowest uid slot for good. Now removal mends the lost mount, and a
pod podman still cannot remove sets its slot aside: the job takes another and
its log says once what to run.
"""

from __future__ import annotations

import fcntl
import json
import os
import signal
import subprocess
import time
from pathlib import Path

import pytest

from tests.integration.harness import Project, wait_for_line
from tests.integration.test_services import (
    IMAGE,
    assert_nothing_left,
    pods_of,
    run_id_of,
    running_run_id,
    serve,
)

pytestmark = pytest.mark.podman

PIPELINE = f"""
    version: 1
    jobs:
      nap:
        image: {IMAGE}
        services:
          - image: {IMAGE}
            command: {serve("echo hi > index.html")}
            ports: [8080]
        script: ["echo napping", "sleep 3", "echo waking"]
    """
SLOTS = Path(os.environ.get("XDG_RUNTIME_DIR", "/nonexistent")) / "runner" / "slots"
WAIT = 60


def wait_until(what: str, ready: object) -> None:
    deadline = time.monotonic() + WAIT
    while time.monotonic() < deadline:
        if callable(ready) and ready():
            return
        time.sleep(0.01)
    raise AssertionError(f"{what} never happened")


def markers() -> set[tuple[Path, int, int]]:
    """Pod markers by path, inode and mtime: a marker is written anew (renamed into place)
    even where one of the same name was left, and tmpfs may give it the old one's inode."""
    found = set()
    for path in SLOTS.glob("slot-*.pod") if SLOTS.is_dir() else ():
        try:
            info = path.stat()
            found.add((path, info.st_ino, info.st_mtime_ns))
        except FileNotFoundError:
            continue
    return found


def kill_at(project: Project, phase: str) -> str:
    """Start the run, SIGKILL it at ``phase``; the killed run's id."""
    before = markers()
    proc = project.start()
    try:
        if phase == "pod create":  # the marker is written just before `podman pod create`
            wait_until("a pod marker", lambda: markers() - before or proc.poll() is not None)
            assert proc.poll() is None, proc.communicate(timeout=30)
        elif phase == "service start":
            wait_until("the pod", lambda: (project.state / "work").is_dir()
                       and any((project.state / "work").iterdir())
                       and pods_of(running_run_id(project)))
        elif phase == "job run":
            wait_for_line(proc, "napping")
        else:  # cleanup: the job's verdict is out, its pod is being removed
            wait_for_line(proc, "| runner: job ")
        run_id = running_run_id(project)
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.communicate(timeout=30)
    return run_id


def next_free_slot() -> int:
    """The slot the next job will lease: the lowest whose lock no process holds."""
    SLOTS.mkdir(mode=0o700, parents=True, exist_ok=True)
    for slot in range(1024):
        with (SLOTS / f"slot-{slot}.lock").open("a") as lock:
            try:
                fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                continue
            return slot
    raise AssertionError("no free uid slot")


def lose_netns(pod: str) -> None:
    """Take away the pod's netns mount in podman's namespace, as a reboot or a detaching
    process does: podman then fails every call on it with "unknown FS magic"."""
    infra = subprocess.run(["podman", "pod", "inspect", "--format", "{{.InfraContainerID}}",
                            pod], capture_output=True, text=True, timeout=WAIT,
                           check=True).stdout.strip()
    netns = subprocess.run(["podman", "inspect", "--format", "{{.NetworkSettings.SandboxKey}}",
                            infra], capture_output=True, text=True, timeout=WAIT,
                           check=True).stdout.strip()
    subprocess.run(["podman", "unshare", "umount", "--lazy", netns], timeout=WAIT, check=True)
    done = subprocess.run(["podman", "pod", "rm", "--force", "--time", "0", pod],
                          capture_output=True, text=True, timeout=WAIT, check=False)
    assert "unknown FS magic" in done.stderr, done.stderr  # the state the bug needs


def test_pod_whose_netns_mount_is_gone_is_removed_by_the_next_run(project: Project) -> None:
    project.write(PIPELINE)
    run_id = kill_at(project, "job run")
    (pod,) = pods_of(run_id)
    lose_netns(pod)
    run = project.run()
    assert run.code == 0, run.out + run.err + project.log("nap")
    assert "waking" in project.log("nap")
    assert_nothing_left(run_id)
    assert_nothing_left(run_id_of(project))


@pytest.mark.parametrize("phase", ["pod create", "service start", "job run", "cleanup"])
def test_sigkill_at_every_phase_leaves_nothing_the_next_run_trips_on(
        project: Project, phase: str) -> None:
    project.write(PIPELINE)
    run_id = kill_at(project, phase)
    run = project.run()
    assert run.code == 0, run.out + run.err + project.log("nap")
    assert "waking" in project.log("nap")
    assert_nothing_left(run_id)
    assert_nothing_left(run_id_of(project))


def test_a_pod_podman_cannot_remove_sets_its_slot_aside(project: Project) -> None:
    """The job takes another slot; its log says once what to run; the marker stays."""
    marker: Path = SLOTS / f"slot-{next_free_slot()}.pod"
    assert not marker.exists(), "a free slot with a pod marker: another run's leftover"
    marker.write_text(json.dumps({"pod": "runner-gone-pod", "root": "/proc/runner-no-store",
                                  "runroot": "/proc/runner-no-store", "driver": "overlay"}))
    try:
        project.write(PIPELINE)
        run = project.run()
        log = project.log("nap")
        assert run.code == 0, run.out + run.err + log
        assert log.count("runner: warning: pod runner-gone-pod was left") == 1, log
        assert ("Remove it with: podman --root /proc/runner-no-store --runroot"
                " /proc/runner-no-store --storage-driver overlay pod rm --force --ignore"
                " --time 0 -- runner-gone-pod") in log, log
        assert marker.exists()
    finally:
        marker.unlink(missing_ok=True)
