"""A job tries to starve the others: runaway processes, a disk filler.

``limits: {memory, pids, cpus}`` (capped by ``runner exec --memory``,
``--pids-limit``, ``--cpus``) are cgroup limits: rootless podman enforces them
only on cgroup v2 with those controllers delegated to the runner user. On
cgroup v1 (this machine) ``runner doctor`` and each limited job's log say
they are not enforced, and what bounds a job is its timeout, after which
every process of it is killed, whatever signals it ignores. ``disk``
(``--disk-limit``) is watched by runner on any host.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from runner.host import facts
from tests.integration.harness import REPO, Project, wait_for_line
from tests.security.conftest import IMAGE, host_pids_with, static_program, token

pytestmark = pytest.mark.podman

TIMEOUT_S = 2
KILL_GRACE_S = 5.0
"""How long runner waits after TERM before it kills (``Settings.kill_grace_s``)."""


def _limits_enforceable() -> bool:
    return facts.gather_quick().limits_enforceable


def test_doctor_says_whether_limits_are_enforced() -> None:
    """On a host without cgroup v2 (or without delegation), doctor warns that memory and
    pids limits cannot be enforced, with the fix; where they can, it says so."""
    done = subprocess.run([sys.executable, "-m", "runner", "doctor", "--json"], cwd=REPO,
                          env={**os.environ, "PYTHONPATH": str(REPO)}, capture_output=True,
                          text=True, timeout=60, check=False)
    assert done.returncode == 0, done.stdout + done.stderr
    cgroups = next(f for f in json.loads(done.stdout) if f["check"] == "cgroups")
    unified = Path("/sys/fs/cgroup/cgroup.controllers").exists()  # read here, not via runner
    if not unified:
        assert cgroups["ok"] is False and cgroups["severity"] == "warning", cgroups
        assert "cannot be enforced" in cgroups["detail"], cgroups
        assert "unified_cgroup_hierarchy" in cgroups["fix"], cgroups
    elif cgroups["ok"]:
        assert "limits are enforced" in cgroups["detail"], cgroups
    else:
        assert "cannot be enforced" in cgroups["detail"] and cgroups["fix"], cgroups


@pytest.mark.skipif(_limits_enforceable(), reason="limits are enforced on this host")
def test_job_log_says_limits_are_not_enforced(project: Project) -> None:
    """Where cgroups cannot bound a job, the log of a job with limits (its own, or the
    runner's caps) says they are not enforced, so nobody mistakes them for a defence."""
    project.write(f"""
        version: 1
        jobs:
          own:
            image: {IMAGE}
            limits: {{memory: 256m, pids: 128}}
            script: ["true"]
          capped:
            image: {IMAGE}
            script: ["true"]
        """)
    run = project.run("--pids-limit", "128")
    assert run.code == 0, run.out + run.err
    for job in ("own", "capped"):
        log = project.log(job)
        assert re.search(r"limits? (are|is) not enforced", log), log
        assert "pids" in log.split("not enforced")[0], log
    assert "memory" in project.log("own").split("not enforced")[0]


def test_runaway_job_is_killed_at_its_timeout(project: Project) -> None:
    """A job that ignores TERM and keeps forking is killed once its timeout and the grace
    period are over; afterwards none of its processes is left on the host."""
    marker = str(800000000 + int(token("x")[-6:], 16))
    project.write(f"""
        version: 1
        jobs:
          runaway:
            image: {IMAGE}
            timeout: {TIMEOUT_S}s
            script:
              - trap '' TERM INT
              - for i in $(seq 40); do sleep {marker} & done
              - (while :; do sleep {marker} & sleep 0.1; done) &
              - echo runaway-ready
              - while :; do sleep {marker}; done
        """)
    began = time.monotonic()
    with project.start() as proc:
        try:
            wait_for_line(proc, "runaway-ready")
            time.sleep(0.5)
            seen = len(host_pids_with(f"sleep {marker}"))
        finally:
            out, err = proc.communicate(timeout=120)
    took = time.monotonic() - began
    assert seen >= 40, seen  # the runaway processes were there, on the host
    assert proc.returncode == 1, out + err
    assert f"job timed out after {TIMEOUT_S}s" in project.log("runaway")
    result = json.loads((project.state / "result.json").read_text())
    assert result["jobs"][0]["status"] == "timed out"
    assert took < TIMEOUT_S + KILL_GRACE_S + 20, took
    deadline = time.monotonic() + 10
    while host_pids_with(f"sleep {marker}") and time.monotonic() < deadline:
        time.sleep(0.2)
    assert host_pids_with(f"sleep {marker}") == []


def test_disk_filler_stops_at_the_disk_limit(project: Project) -> None:
    """Jobs that keep writing, to the workspace or to the container's own layer, are stopped
    at the runner's disk limit with a clear message; a job's own larger ``limits.disk`` does
    not lift the runner's cap."""
    chunks = "for i in $(seq 40); do dd if=/dev/zero of={dir}/fill$i bs=1M count=4 2>/dev/null; " \
             "sleep 0.2; done"
    project.write(f"""
        version: 1
        jobs:
          workspace:
            image: {IMAGE}
            script: ["{chunks.format(dir='.')}", "echo filled-everything"]
          layer:
            image: {IMAGE}
            limits: {{disk: 100g}}
            script: ["{chunks.format(dir='/tmp')}", "echo filled-everything"]
        """)
    began = time.monotonic()
    run = project.run("--disk-limit", "16m", "-j", "2")
    took = time.monotonic() - began
    assert run.code == 1, run.out + run.err
    result = {job["name"]: job for job in
              json.loads((project.state / "result.json").read_text())["jobs"]}
    for job in ("workspace", "layer"):
        log = project.log(job)
        assert "filled-everything" not in log.splitlines(), log
        assert re.search(r"more than\s+its limit of 16", log), log
        assert result[job]["status"] == "failed", result[job]
        assert result[job]["note"] == "disk limit exceeded", result[job]
    assert took < 40 * 0.2 + 20, took  # stopped, not run to the end


def test_disk_burst_between_polls_is_caught(project: Project) -> None:
    """A job writes four times its disk limit in one quick burst and ends before the next
    poll: it must still fail for its disk use, and what it wrote must not be kept as artifacts
    beyond the limit."""
    project.write(f"""
        version: 1
        jobs:
          burst:
            image: {IMAGE}
            artifacts: [out/]
            script: ["mkdir out && dd if=/dev/zero of=out/big bs=1M count=64 2>/dev/null",
                     "echo burst-done"]
        """)
    run = project.run("--disk-limit", "16m")
    assert "burst-done" in project.log("burst")  # the burst finished within one poll
    kept = sum(path.stat().st_blocks * 512 for path in (project.state / "artifacts").rglob("*")
               if path.is_file())
    assert kept <= 16 << 20, kept
    assert run.code == 1, run.out + run.err


FILL_MB = 400
VOLUME_IMAGE = "localhost/runner-security-volume:latest"


def _bytes_under(top: Path) -> int:
    return sum(path.lstat().st_blocks * 512 for path in top.rglob("*"))


@pytest.mark.parametrize("engine", ["runc", "podman", "pod"])
@pytest.mark.parametrize("target", ["/.runner/fill", "/etc/hosts"])
def test_disk_limit_counts_control_dir_and_etc_files(project: Project, engine: str,
                                                     target: str) -> None:
    """A job writes 400 MB, past its 50 MB disk limit, into places outside its workspace
    and its container's own layer: the control dir (``/.runner``) and a bind-mounted /etc
    file (in a pod, the infra container's). It must fail for its disk use (or its write must
    fail), and nothing of what it wrote may stay on the host."""
    service = ('services: [{image: "' + IMAGE + '", command: [sleep, "600"]}]'
               if engine == "pod" else "")
    project.write(f"""
        version: 1
        jobs:
          fill:
            image: {IMAGE}
            limits: {{disk: 50m}}
            {service}
            script:
              - dd if=/dev/zero of={target} bs=1M count={FILL_MB} 2>&1 | tail -n 1
              - ls -ls {target}
              - echo fill-ended
        """)
    run = project.run("--engine", "podman" if engine == "pod" else engine)
    log = project.log("fill")
    assert run.code == 1, run.out + run.err
    result = json.loads((project.state / "result.json").read_text())["jobs"][0]
    assert result["status"] == "failed", (result, log)
    wrote_it = "fill-ended" in log.splitlines()
    if result.get("note") != "disk limit exceeded":  # else the write itself must have failed
        assert not wrote_it and re.search(r"No space left|Read-only", log), (result, log)
    assert _bytes_under(project.state) < 50 << 20


@pytest.mark.parametrize("engine", ["runc", "podman"])
def test_disk_limit_counts_files_deleted_but_held_open(project: Project, engine: str) -> None:
    """A file the job deleted but keeps open still takes its disk blocks, which no walk of
    the job's dirs sees: 400 MB written that way under a 50 MB limit fail the job."""
    project.write(f"""
        version: 1
        jobs:
          fill:
            image: {IMAGE}
            limits: {{disk: 50m}}
            script:
              - exec 3>/tmp/hidden && rm /tmp/hidden
              - dd if=/dev/zero bs=1M count={FILL_MB} >&3 2>/dev/null
              - echo filled; sleep 8; echo fill-ended
        """)
    run = project.run("--engine", engine)
    log = project.log("fill")
    result = json.loads((project.state / "result.json").read_text())["jobs"][0]
    assert run.code == 1, run.out + run.err
    assert result.get("note") == "disk limit exceeded", (result, log)
    assert "fill-ended" not in log.splitlines(), log


MAP_AND_FORGET_C = r"""
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

/* Write a deleted file, then keep only a mapping of it: its blocks stay, no name, no fd. */
int main(void) {
    static char chunk[1 << 20];
    const size_t size = (size_t)400 << 20;
    int fd = open("/tmp/mapped", O_RDWR | O_CREAT | O_TRUNC, 0600);
    unlink("/tmp/mapped");
    memset(chunk, 'x', sizeof chunk);
    for (size_t done = 0; done < size; done += sizeof chunk)
        if (write(fd, chunk, sizeof chunk) != sizeof chunk) { perror("write"); return 1; }
    void *kept = mmap(NULL, size, PROT_READ, MAP_SHARED, fd, 0);
    if (kept == MAP_FAILED) { perror("mmap"); return 1; }
    close(fd);
    puts("mapped-and-deleted");
    fflush(stdout);
    sleep(10);
    return 0;
}
"""


@pytest.mark.parametrize("engine", ["runc", "podman"])
def test_disk_limit_counts_files_deleted_but_still_mapped(project: Project, engine: str) -> None:
    """The same with neither name nor descriptor left, only a mapping: still counted."""
    static_program(MAP_AND_FORGET_C, project.root / "mapper")
    project.write(f"""
        version: 1
        jobs:
          fill:
            image: {IMAGE}
            limits: {{disk: 50m}}
            script: ["./mapper", "echo fill-ended"]
        """)
    run = project.run("--engine", engine)
    log = project.log("fill")
    result = json.loads((project.state / "result.json").read_text())["jobs"][0]
    assert run.code == 1, run.out + run.err
    assert result.get("note") == "disk limit exceeded", (result, log)
    assert "fill-ended" not in log.splitlines(), log


@pytest.fixture(scope="module")
def volume_image(busybox_image: str) -> Iterator[str]:
    """busybox declaring ``VOLUME /data``: podman would make that an anonymous volume."""
    def buildah(*args: str) -> str:
        done = subprocess.run(["buildah", *args], capture_output=True, text=True, timeout=120,
                              check=False)
        assert done.returncode == 0, f"buildah {' '.join(args)}: {done.stderr}"
        return done.stdout.strip()

    container = buildah("from", "--pull=never", "--quiet", busybox_image)
    try:
        buildah("config", "--volume", "/data", container)
        buildah("commit", "--quiet", "--rm", container, VOLUME_IMAGE)
    except BaseException:
        subprocess.run(["buildah", "rm", container], capture_output=True, timeout=120,
                       check=False)
        raise
    yield VOLUME_IMAGE
    subprocess.run(["podman", "rmi", "--force", "--ignore", VOLUME_IMAGE], capture_output=True,
                   timeout=120, check=False)


@pytest.mark.parametrize("engine", ["runc", "podman"])
def test_disk_limit_counts_an_image_volume(project: Project, engine: str,
                                           volume_image: str) -> None:
    """An image's ``VOLUME`` is no way around the disk limit: 400 MB written there under a
    50 MB limit fail the job."""
    project.write(f"""
        version: 1
        jobs:
          fill:
            image: {volume_image}
            limits: {{disk: 50m}}
            script:
              - mkdir -p /data
              - dd if=/dev/zero of=/data/fill bs=1M count={FILL_MB} 2>&1 | tail -n 1
              - echo fill-ended
        """)
    run = project.run("--engine", engine)
    result = json.loads((project.state / "result.json").read_text())["jobs"][0]
    assert run.code == 1, run.out + run.err
    assert result.get("note") == "disk limit exceeded", (result, project.log("fill"))


@pytest.mark.parametrize("target", ["/fill", "/data/fill"])
def test_disk_limit_counts_what_a_service_writes(project: Project, volume_image: str,
                                                 target: str) -> None:
    """A service is the tenant's code too: 400 MB it writes into its own layer or its
    image's ``VOLUME`` count against the job's 50 MB limit."""
    project.write(f"""
        version: 1
        jobs:
          fill:
            image: {IMAGE}
            limits: {{disk: 50m}}
            services:
              - image: {volume_image}
                command: ["sh", "-c", "dd if=/dev/zero of={target} bs=1M count={FILL_MB};
                                       sleep 600"]
            script: ["sleep 12", "echo fill-ended"]
        """)
    run = project.run()
    result = json.loads((project.state / "result.json").read_text())["jobs"][0]
    assert run.code == 1, run.out + run.err
    assert result.get("note") == "disk limit exceeded", (result, project.log("fill"))


@pytest.mark.parametrize("engine", ["runc", "podman"])
def test_memory_backed_dirs_a_job_can_write_are_small(project: Project, engine: str) -> None:
    """What a job can write that is not on disk (tmpfs: RAM) is small whatever its limits:
    /dev and /dev/shm hold 64 MB each, and /sys/fs/cgroup (a tmpfs without a size under
    podman on cgroup v1) takes nothing."""
    project.write(f"""
        version: 1
        jobs:
          fill:
            image: {IMAGE}
            script:
              - for d in /dev/shm /dev /sys/fs/cgroup; do
                  dd if=/dev/zero of=$d/fill bs=1M count={FILL_MB} 2>/dev/null || true;
                  echo "$d holds $(du -k $d/fill 2>/dev/null | cut -f1)k";
                  rm -f $d/fill;
                done
        """)
    run = project.run("--engine", engine)
    assert run.code == 0, run.out + run.err
    held = dict(re.findall(r"^fill \| (/\S+) holds (\d*)k$", run.out, re.MULTILINE))
    assert set(held) == {"/dev/shm", "/dev", "/sys/fs/cgroup"}, run.out
    for where, kib in held.items():
        assert int(kib or 0) <= 64 << 10, (where, kib)


@pytest.mark.skipif(not _limits_enforceable(), reason="needs cgroup v2 with memory and pids "
                    "delegated; rootless podman cannot enforce limits here")
def test_pids_limit_stops_a_fork_bomb(project: Project) -> None:
    """Where cgroups can enforce it, a job's process limit (here per run) stops a fork bomb
    inside the job, and the job fails instead of the host."""
    project.write(f"""
        version: 1
        jobs:
          bomb:
            image: {IMAGE}
            timeout: 30s
            script: ["for i in $(seq 200); do sleep 60 & done", "echo all-forked"]
        """)
    run = project.run("--pids-limit", "64")
    assert run.code == 1, run.out + run.err
    assert "all-forked" not in project.log("bomb").splitlines()
