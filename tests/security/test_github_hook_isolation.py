"""Two GitHub jobs run by ``runner github-hook`` at once cannot see each other.

Two runner installs (as two actions/runner services on one VM would be)
each prepare a job. The victim starts a process holding a secret, listens on
a port and leaves a file in its workspace; the attacker's step then looks for
all three, and for the host's loopback. Each probe is first run in the victim
itself, as a control, so a probe that cannot find anything proves nothing.
Neither job's root is the runner user: a 0600 file of the runner's in its own
``_work`` stays unreadable to the job (the runner reads it, as the control),
and no uid map of a job container, read inside or on the host, maps the user.
"""

from __future__ import annotations

import os
import secrets
import socket
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.integration.github_hook.harness import (
    BUSYBOX,
    FakeRunner,
    hook_dir,
    job_leftovers,
    state_of,
)

pytestmark = pytest.mark.podman
PINNED_CAPS = sum(1 << bit for bit in (0, 1, 3, 4, 5, 6, 7, 8, 10, 18, 31))
"""CONTAINER_CAPS as bits: CHOWN, DAC_OVERRIDE, FOWNER, FSETID, KILL, SETGID, SETUID,
SETPCAP, NET_BIND_SERVICE, SYS_CHROOT, SETFCAP."""

PROBE = """
found=no
for f in /proc/[0-9]*/environ; do grep -q "{secret}" "$f" 2>/dev/null && found=yes; done
echo "secret-process=$found"
cat "{victim_file}" 2>/dev/null && echo "victim-file=read" || echo "victim-file=absent"
ls /__w/{victim_repo} >/dev/null 2>&1 && echo "victim-repo=seen" || echo "victim-repo=absent"
printf 'GET /page HTTP/1.0\r\n\r\n' | nc -w 3 127.0.0.1 7777 2>/dev/null | grep -q canary \
  && echo "victim-port=open" || echo "victim-port=closed"
echo | nc -w 3 10.0.2.2 {host_port} >/dev/null 2>&1 && echo "host-loopback=open" \
  || echo "host-loopback=closed"
echo "uidmap=$(tr -s ' ' < /proc/self/uid_map | tr '\\n' ';')"
cat /__w/runner-private 2>/dev/null && echo "runner-file=read" || echo "runner-file=denied"
grep -E '^(NoNewPrivs|CapEff)' /proc/self/status
"""


@pytest.fixture
def host_listener() -> Iterator[int]:
    """A TCP server on the host's loopback only: what a job must never reach."""
    server = socket.create_server(("127.0.0.1", 0))
    server.settimeout(0.5)
    stop = threading.Event()

    def serve() -> None:
        while not stop.is_set():
            try:
                conn, _ = server.accept()
            except OSError:
                continue
            conn.close()

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    yield server.getsockname()[1]
    stop.set()
    thread.join()
    server.close()


def _runner(root: Path, name: str) -> FakeRunner:
    runner = FakeRunner(root, name=f"{name}-{secrets.token_hex(4)}")
    private = runner.work / "runner-private"  # in reach of the job, but not its
    private.write_text("runner's own\n")
    private.chmod(0o600)
    assert private.read_text() == "runner's own\n"  # the control: the user reads it
    return runner


def _maps_the_user(ranges: str, user: int) -> bool:
    """Whether uid_map lines (``inside outside size``, ``;``-separated) map id ``user`` of
    the parent namespace."""
    for line in filter(None, (part.strip() for part in ranges.replace("\n", ";").split(";"))):
        _, outside, size = (int(word) for word in line.split())
        if outside <= user < outside + size:
            return True
    return False


def test_two_concurrent_hook_jobs_cannot_see_each_other(
        tmp_path: Path, busybox_image: str, host_listener: int) -> None:
    victim = _runner(tmp_path / "victim", "victim")
    attacker = _runner(tmp_path / "attacker", "attacker")
    victim.workspace.parent.rename(victim.work / "victim-repo")
    victim.workspace = victim.work / "victim-repo" / "demo"
    victim.workspace.mkdir(parents=True, exist_ok=True)
    secret = f"hook-secret-{secrets.token_hex(8)}"
    states = []
    try:
        job_container = victim.container(BUSYBOX)
        job_container["workingDirectory"] = "/__w/victim-repo/demo"  # github.workspace
        states.append(state_of(victim.prepare({"container": job_container, "services": []})))
        states.append(state_of(attacker.prepare({"container": attacker.container(BUSYBOX),
                                                 "services": []})))
        start = victim.script(
            "mkdir -p /tmp/www && echo canary > /tmp/www/page\n"
            "httpd -p 7777 -h /tmp/www\n"
            f"echo {secret} > private.txt\n"
            "sleep 600 </dev/null >/dev/null 2>&1 &\n", shell="sh")
        start["environmentVariables"]["HOLDS"] = secret  # type: ignore[index]
        start["workingDirectory"] = "/__w/victim-repo/demo"
        assert victim.call("run_script_step", start, states[0]).code == 0

        probe = PROBE.format(secret=secret, victim_file=victim.workspace / "private.txt",
                             victim_repo="victim-repo", host_port=host_listener)
        control_step = victim.script(probe, shell="sh")
        control_step["workingDirectory"] = "/__w/victim-repo/demo"
        control = victim.call("run_script_step", control_step, states[0])
        assert control.code == 0, control.output
        assert "secret-process=yes" in control.output
        assert "victim-repo=seen" in control.output
        assert "victim-port=open" in control.output

        attack = attacker.call("run_script_step", attacker.script(probe, shell="sh"), states[1])
        assert attack.code == 0, attack.output
        assert "secret-process=no" in attack.output
        assert "victim-file=absent" in attack.output
        assert "victim-repo=absent" in attack.output
        assert "victim-port=closed" in attack.output
        assert "host-loopback=closed" in attack.output
        assert "host-loopback=closed" in control.output
        assert secret not in attack.output
        assert "NoNewPrivs:\t1" in attack.output
        assert f"CapEff:\t{PINNED_CAPS:016x}" in attack.output  # runner's pinned set, no more
        maps = [line for out in (control.output, attack.output)
                for line in out.splitlines() if line.startswith("uidmap=")]
        assert len(maps) == 2 and maps[0] != maps[1], maps  # each job its own slice
        for found in maps:  # inside, the user is podman's id 0
            assert not _maps_the_user(found.removeprefix("uidmap="), 0), maps
        for state in states:  # on the host, the user is itself
            pid = (hook_dir(str(state["job"])) / "pid").read_text().strip()
            host_map = Path(f"/proc/{pid}/uid_map").read_text()
            assert not _maps_the_user(host_map, os.getuid()), host_map
        assert "runner-file=denied" in control.output
        assert "runner-file=denied" in attack.output
    finally:
        for runner, state in zip((victim, attacker), states, strict=False):
            runner.call("cleanup_job", {}, state)
            assert job_leftovers(str(state["job"])) == []
