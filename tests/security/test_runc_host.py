"""Attacks on what the runc engine leaves on the host: other tenants' pods, strays, secrets.

A tenant controls its pipeline, so it controls how many runc containers
start, when its ``runner exec`` dies, and which environment variables a run
declares as secrets. None of that may break another tenant's podman pod,
leave a process behind, or show a secret to a process that has no use for it.
"""

from __future__ import annotations

import contextlib
import os
import secrets
import signal
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.integration.harness import Project, wait_for_line

pytestmark = pytest.mark.podman

IMAGE = "localhost/busybox:latest"
RUNTIME_DIR = Path(os.environ.get("XDG_RUNTIME_DIR", "/nonexistent"))
WAIT_S = 60
"""How long a test waits for a process to appear or go (a bound, not a timed assert)."""


def _podman(*args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["podman", *args], capture_output=True, text=True, timeout=120,
                          check=check)


def _netns_mounts() -> dict[str, str]:
    """nsfs mounts under ``$XDG_RUNTIME_DIR/netns`` in podman's mount namespace: path -> ns."""
    text = _podman("unshare", "cat", "/proc/self/mountinfo").stdout
    found = {}
    for line in text.splitlines():
        fields = line.split()
        fstype = fields[fields.index("-") + 1]
        if fstype == "nsfs" and fields[4].startswith(f"{RUNTIME_DIR}/netns/"):
            found[fields[4]] = fields[3]
    return found


def _repair(lost: dict[str, str]) -> None:
    """Mount each lost network namespace back from a process still in it (the old bug's
    damage would otherwise break every podman command of the user, other tests' too)."""
    script = ('p=$1 ns=$2; for d in /proc/[0-9]*; do [ "$(readlink "$d/ns/net")" = "$ns" ] '
              '&& mount --bind "$d/ns/net" "$p" && exit 0; done; exit 1')
    for path, ns in lost.items():
        _podman("unshare", "sh", "-c", script, "repair", path, ns, check=False)


@pytest.fixture
def tenant_pod() -> Iterator[tuple[str, str]]:
    """Another tenant's pod (a service would make one): its name and netns mount path."""
    name = f"h4-tenant-{secrets.token_hex(4)}"
    _podman("pod", "create", "--name", name)
    try:
        _podman("run", "-d", "--pod", name, "--name", f"{name}-svc", IMAGE, "sleep", "600")
        infra = _podman("pod", "inspect", name, "--format", "{{.InfraContainerID}}").stdout
        path = _podman("inspect", infra.strip(), "--format",
                       "{{.NetworkSettings.SandboxKey}}").stdout.strip()
        yield name, path
    finally:
        _podman("pod", "rm", "--force", "--time", "0", name, check=False)


def test_runc_job_starts_leave_other_tenants_pods_intact(project: Project,
                                                         tenant_pod: tuple[str, str]) -> None:
    """H4: slirp4netns's sandbox must not unmount podman's netns mounts (shared mounts)."""
    pod, netns = tenant_pod
    before = _netns_mounts()
    assert netns in before
    jobs = "\n".join(f"  j{n}: {{image: {IMAGE}, script: [\"echo started {n}\"]}}"
                     for n in range(20))
    project.write(f"version: 1\njobs:\n{jobs}\n")
    try:
        run = project.run("--engine", "runc", "--concurrency", "2")
        assert run.code == 0, run.out + run.err
        assert run.out.count("started ") >= 20  # 20 runc containers, each networked, ran
        assert _netns_mounts().get(netns) == before[netns]
        # Filtered: on a shared machine other users' broken pods would fail a plain ps -a.
        listing = _podman("ps", "-a", "--filter", f"pod={pod}", "--format", "{{.Names}}",
                          check=False)
        assert listing.returncode == 0, listing.stderr
        assert f"{pod}-svc" in listing.stdout.split()
        removed = _podman("pod", "rm", "--force", "--time", "0", pod, check=False)
        assert removed.returncode == 0, removed.stderr
    finally:
        now = _netns_mounts()
        _repair({path: ns for path, ns in before.items() if path not in now})


# --- processes of a run, as the runner user sees them on the host -----------------------------

def _children() -> dict[int, list[int]]:
    tree: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            with contextlib.suppress(OSError, IndexError, ValueError):
                stat = (entry / "stat").read_text()
                ppid = int(stat.rsplit(")", 1)[1].split()[1])
                tree.setdefault(ppid, []).append(int(entry.name))
    return tree


def _descendants(pid: int) -> list[int]:
    tree, found, todo = _children(), [], [pid]
    while todo:
        for child in tree.get(todo.pop(), []):
            found.append(child)
            todo.append(child)
    return found


def _cmdline(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()
    except OSError:
        return ""


def _comm(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/comm").read_text().strip()
    except OSError:
        return ""


def slirps_of(runner_pid: int) -> list[int]:
    return [pid for pid in _descendants(runner_pid) if _comm(pid) == "slirp4netns"]


def slirp_alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z" and _comm(pid) == "slirp4netns"


def test_sweep_after_sigkill_stops_the_dead_runs_slirp4netns(project: Project) -> None:
    """P3: the crashed run's slirp4netns goes with its container and scratch dir."""
    project.write(f"""
        version: 1
        jobs:
          nap: {{image: {IMAGE}, script: ["echo napping", "sleep 300"]}}
        """)
    slirps: list[int] = []
    try:
        with project.start("--engine", "runc") as proc:
            wait_for_line(proc, "napping")
            slirps = slirps_of(proc.pid)
            assert len(slirps) == 1
            proc.kill()
            proc.communicate(timeout=30)
        assert slirp_alive(slirps[0])  # the job still runs: nothing has stopped it yet
        project.write(f"""
            version: 1
            jobs:
              next: {{image: {IMAGE}, script: ["echo next"]}}
            """)
        run = project.run("--engine", "runc")
        assert run.code == 0, run.out + run.err
        assert "left by crashed run" in run.err
        deadline = time.monotonic() + WAIT_S
        while slirp_alive(slirps[0]) and time.monotonic() < deadline:
            time.sleep(0.2)
        assert not slirp_alive(slirps[0])
    finally:
        for pid in slirps:
            if slirp_alive(pid):
                os.kill(pid, signal.SIGKILL)


def _environ(pid: int) -> bytes | None:
    try:
        return Path(f"/proc/{pid}/environ").read_bytes()
    except OSError:
        return None


def test_secrets_in_runners_environment_reach_no_helper_process(project: Project) -> None:
    """P4: the namespace helper, monitor, runc, fuse-overlayfs and slirp4netns get no secret."""
    listed, unlisted = token("LISTED"), token("UNLISTED")
    project.write(f"""
        version: 1
        secrets:
          USED: {{env: P4_LISTED}}
          IDLE: {{env: P4_UNLISTED}}
        jobs:
          work:
            image: {IMAGE}
            secrets: [USED]
            script: ["echo working", "sleep 300"]
        """)
    seen: dict[str, int] = {}
    leaks: list[str] = []
    with project.start("--engine", "runc", P4_LISTED=listed, P4_UNLISTED=unlisted) as proc:
        try:
            wait_for_line(proc, "working")
            fuse = [pid for pid in map(int, filter(str.isdigit, os.listdir("/proc")))
                    if _comm(pid) == "fuse-overlayfs" and str(project.root) in _cmdline(pid)]
            for pid in _descendants(proc.pid) + fuse:
                kind = _kind(pid)
                environ = _environ(pid)
                if kind is None or environ is None:
                    continue  # the job's own processes: another uid, and they may hold USED
                seen[kind] = seen.get(kind, 0) + 1
                if listed.encode() in environ or unlisted.encode() in environ:
                    leaks.append(f"{kind} ({pid}): {_cmdline(pid)[:80]}")
        finally:
            proc.send_signal(signal.SIGINT)
            proc.communicate(timeout=120)
    assert set(seen) == {"podman", "nshelper", "monitor", "runc", "fuse-overlayfs",
                         "slirp4netns"}, seen
    assert leaks == []


def _kind(pid: int) -> str | None:
    """Which of runner's helper processes ``pid`` is (None: a job's, or a short-lived one)."""
    comm, argv = _comm(pid), _cmdline(pid)
    if "runner.engine.nshelper" in argv and comm.startswith("python"):
        return "nshelper"
    if comm == "sh" and " monitor " in argv:
        return "monitor"
    if comm in ("podman", "runc", "fuse-overlayfs", "slirp4netns"):
        return comm
    return None


def token(prefix: str) -> str:
    return f"{prefix}-{secrets.token_hex(12)}"
