"""What the adversarial tests share: the attack script, host-side probes, a hostile image.

Every test here is an attack a job (or a tenant's pipeline) makes against
another job, another tenant or the host, and checks two things: the attack
was really carried out (a control the same probe must find, or a log line
that only a run probe prints), and it failed.
"""

from __future__ import annotations

import contextlib
import os
import pwd
import re
import secrets
import shutil
import socket
import socketserver
import struct
import subprocess
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from tests.agent.conftest import agent, gl, repo  # noqa: F401 - attacks through the agent
from tests.integration.conftest import project, tenants  # noqa: F401 - same fixtures here
from tests.integration.harness import Project

IMAGE = "localhost/busybox:latest"
ESCALATION_IMAGE = "localhost/runner-security-escalate:latest"
MALLORY_UID = 77
"""The unprivileged user of the escalation image (its euid's low byte is the probe's status)."""
TOOL_TIMEOUT = 120


# --- the attack a job makes on everything it might reach ------------------------------------

ATTACK = r"""#!/bin/sh
# Tries every way a job might read another job's files and secrets; nothing here stops it.
# Whatever it reads goes to /tmp/loot, printed at the end as hex (masking cannot hide it).
# $VICTIM is the victim project's host path and $CACHE the runner's cache root: the
# attacker is assumed to know both (they are easy to guess on a shared server).
loot=/tmp/loot
: > "$loot"
grab() {
  for f in "$@"; do
    [ "$f" = "$loot" ] && continue
    [ -f "$f" ] && cat "$f" >> "$loot" 2>/dev/null
  done
  return 0
}
echo "attack-start"
# 1. Every process in sight: its environment, command line, and files under its root and cwd.
for p in /proc/[0-9]*; do
  grab "$p/environ" "$p/cmdline"
  for d in "$p/root/." "$p/cwd/."; do
    find "$d" -maxdepth 4 \( -path "$d/proc" -o -path "$d/sys" -o -path "$d/dev" \) -prune \
      -o -type f \( -name '*secret*' -o -name '*.log' -o -name 'secret-*' \) -print 2>/dev/null |
      while read -r f; do grab "$f"; done
  done
done
echo "visible-pids=$(ls -d /proc/[0-9]* | wc -l)"
# 2. The host's paths, guessed: the victim's checkout, state, scratch, and every cache.
grab "$VICTIM"/* "$VICTIM"/.runner/logs/* "$VICTIM"/.runner/artifacts/*/* \
  "$VICTIM"/.runner/work/*/*/ws/* "$VICTIM"/.runner/work/*/*/ctl/* "$CACHE"/*/*/* "$CACHE"/*/*/*/*
ls -d "$VICTIM" "$CACHE" 2>&1
# 3. Writing into the victim's workspace.
for d in "$VICTIM"/.runner/work/*/*/ws; do
  (echo pwned > "$d/pwned") 2>/dev/null && echo "wrote $d/pwned"
done
# 4. Shared memory and temporary files (a shared IPC namespace or /tmp would show them).
grab /dev/shm/* /dev/mqueue/* /tmp/*
# 5. Processes the host's cgroup tree lists (cgroup v1 hierarchies are mounted read-only).
for f in /sys/fs/cgroup/*/cgroup.procs; do
  for p in $(cat "$f" 2>/dev/null); do grab "/proc/$p/environ"; done
done
# 6. A fresh procfs, or the host's root, mounted by the job itself.
mkdir -p /tmp/mnt
mount -t proc proc /tmp/mnt 2>&1 && grab /tmp/mnt/[0-9]*/environ
mount --bind / /tmp/mnt 2>&1
nsenter -t 1 -m -p -n cat /proc/1/environ >> "$loot" 2>/dev/null
echo "loot-bytes=$(wc -c < "$loot")"
echo "loot-hex=$(od -An -tx1 -v "$loot" | tr -d ' \n')"
echo "attack-done"
"""


def write_attack(target: Project) -> None:
    """Put the attack script in the project ``target`` (run it with ``sh attack.sh``)."""
    (target.root / "attack.sh").write_text(ATTACK)


def loot(log: str) -> bytes:
    """What the attack script read, from its job's log."""
    found = re.findall(r"^loot-hex=([0-9a-f]*)$", log, re.MULTILINE)
    assert len(found) == 1, f"the attack did not finish:\n{log}"
    return bytes.fromhex(found[0])


def token(prefix: str) -> str:
    """A value that cannot turn up anywhere by chance."""
    return f"{prefix}-{secrets.token_hex(12)}"


def static_program(source: str, dest: Path) -> None:
    """Compile C ``source`` statically to ``dest``: an attack tool busybox lacks, runnable in
    any image (it needs no libc there)."""
    if shutil.which("gcc") is None:
        pytest.skip("gcc is needed to build the attack program")
    path = dest.with_suffix(".c")
    path.write_text(source)
    subprocess.run(["gcc", "-static", "-O1", "-o", str(dest), str(path)], check=True,
                   timeout=120, capture_output=True)
    path.unlink()


# --- the host's view --------------------------------------------------------------------------

def host_pids_with(needle: str) -> list[int]:
    """Host pids whose command line (words joined by spaces) contains ``needle``.

    Any user's processes count: ``/proc/PID/cmdline`` is world-readable.
    """
    pids = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            argv = (entry / "cmdline").read_bytes().replace(b"\0", b" ")
        except OSError:
            continue
        if needle.encode() in argv and entry.name != str(os.getpid()):
            pids.append(int(entry.name))
    return pids


def status_ids(pid: int) -> dict[str, list[int]]:
    """``Uid``, ``Gid`` and ``Groups`` of a host process, as the host sees them."""
    ids: dict[str, list[int]] = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        key, _, value = line.partition(":")
        if key in ("Uid", "Gid", "Groups"):
            ids[key] = [int(word) for word in value.split()]
    return ids


def subid_ranges(path: str, user: str) -> list[range]:
    """The ranges ``/etc/subuid`` or ``/etc/subgid`` gives ``user`` (by name or uid)."""
    entry = pwd.getpwnam(user)
    ranges = []
    for line in Path(path).read_text().splitlines():
        parts = line.strip().split(":")
        if len(parts) == 3 and parts[0] in (user, str(entry.pw_uid)):
            ranges.append(range(int(parts[1]), int(parts[1]) + int(parts[2])))
    return ranges


def other_users_subid_ranges(path: str, user: str) -> list[range]:
    """Every range ``path`` gives to anyone but ``user``."""
    mine = {user, str(pwd.getpwnam(user).pw_uid)}
    ranges = []
    for line in Path(path).read_text().splitlines():
        parts = line.strip().split(":")
        if len(parts) == 3 and parts[0] not in mine:
            ranges.append(range(int(parts[1]), int(parts[1]) + int(parts[2])))
    return ranges


def host_addresses() -> list[str]:
    """The host's own global addresses (v4 and v6), as a job would try them."""
    done = subprocess.run(["ip", "-o", "addr", "show", "scope", "global"], capture_output=True,
                          text=True, timeout=30, check=True)
    return [line.split()[3].split("/")[0] for line in done.stdout.splitlines()]


# --- services on the host's loopback ----------------------------------------------------------

@dataclass
class LoopbackServices:
    """TCP listeners on the host's 127.0.0.1 (and ::1) that greet every client with ``banner``."""

    banner: str
    ports: dict[str, int] = field(default_factory=dict)
    """Listening address -> port."""
    clients: list[str] = field(default_factory=list)
    """One entry per accepted connection: ``address <- client``."""


class _Server(socketserver.ThreadingTCPServer):
    daemon_threads = True
    allow_reuse_address = True


class _Server6(_Server):
    address_family = socket.AF_INET6


@pytest.fixture
def loopback_services() -> Iterator[LoopbackServices]:
    """Listeners standing for the agent's metrics port or a registry bound to loopback only."""
    services = LoopbackServices(banner=token("loopback-banner"))
    lock = threading.Lock()

    class Greet(socketserver.BaseRequestHandler):
        def handle(self) -> None:
            with lock:
                services.clients.append(f"{self.server.server_address[0]} <- {self.client_address}")
            self.request.sendall(services.banner.encode() + b"\n")

    servers: list[_Server] = [_Server(("127.0.0.1", 0), Greet)]
    if socket.has_ipv6 and Path("/proc/net/if_inet6").exists():
        with contextlib.suppress(OSError):  # no ::1 on this host: the IPv4 listener alone
            servers.append(_Server6(("::1", 0), Greet))
    threads = [threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.1},
                                daemon=True) for server in servers]
    for server, thread in zip(servers, threads, strict=True):
        services.ports[server.server_address[0]] = server.server_address[1]
        thread.start()
    try:
        yield services
    finally:
        for server, thread in zip(servers, threads, strict=True):
            server.shutdown()
            server.server_close()
            thread.join(timeout=10)


# --- an image made for escalation attempts ----------------------------------------------------

def _euid_elf() -> bytes:
    """A 138-byte static x86-64 program: ``exit(geteuid() & 0xff)``.

    A setuid-root copy of busybox proves nothing: busybox drops the privilege
    itself for almost every applet (``BB_SUID_DROP``), so it reports the real
    uid whether or not the kernel honoured the setuid bit. This program keeps
    whatever the kernel gave it, so its exit status is the effective uid it
    really ran with: 0 means the setuid bit made it root.
    """
    code = bytes.fromhex("b86b000000" "0f05" "89c7" "b83c000000" "0f05")
    # mov eax,107 (geteuid); syscall; mov edi,eax; mov eax,60 (exit); syscall
    base, headers = 0x400000, 64 + 56
    elf = b"\x7fELF" + bytes([2, 1, 1, 0]) + bytes(8)
    elf += struct.pack("<HHIQQQIHHHHHH", 2, 0x3E, 1, base + headers, 64, 0, 0, 64, 56, 1, 0, 0, 0)
    size = headers + len(code)
    elf += struct.pack("<IIQQQQQQ", 1, 5, 0, base, base, size, size, 0x1000)
    return elf + code


def _buildah(*args: str) -> str:
    done = subprocess.run(["buildah", *args], capture_output=True, text=True,
                          timeout=TOOL_TIMEOUT, check=False)
    assert done.returncode == 0, f"buildah {' '.join(args)}: {done.stderr}"
    return done.stdout.strip()


def _libraries(binary: str) -> list[str]:
    """The shared libraries (and loader) ``binary`` needs, by the paths it loads them from."""
    done = subprocess.run(["ldd", binary], capture_output=True, text=True, timeout=30,
                          check=True)
    return re.findall(r"(/\S+) \(0x", done.stdout)


@pytest.fixture(scope="session")
def escalation_image(busybox_image: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """busybox plus setuid-root tools and an unprivileged user ``mallory``.

    ``/usr/local/bin/euid`` (setuid root) exits with its effective uid's low
    byte; ``/usr/bin/newuidmap`` is the host's, setuid root, with its libraries,
    and ``/etc/subuid`` lets mallory map container root, so only privileges can
    stop it.
    """
    if os.uname().machine != "x86_64":
        pytest.skip("the euid probe is x86-64 machine code")
    newuidmap = shutil.which("newuidmap")
    if newuidmap is None:
        pytest.skip("newuidmap is not installed")
    context = tmp_path_factory.mktemp("escalate")
    (context / "euid").write_bytes(_euid_elf())
    (context / "passwd").write_text(f"root:x:0:0:root:/:/bin/sh\n"
                                    f"mallory:x:{MALLORY_UID}:{MALLORY_UID}::/:/bin/sh\n")
    (context / "group").write_text(f"root:x:0:\nmallory:x:{MALLORY_UID}:\n")
    (context / "subid").write_text("mallory:0:1\nroot:0:131072\n")  # past the slice
    container = _buildah("from", "--pull=never", "--quiet", busybox_image)
    try:
        _buildah("copy", "--quiet", "--chmod", "4755", container, str(context / "euid"),
                 "/usr/local/bin/euid")
        _buildah("copy", "--quiet", "--chmod", "4755", container, newuidmap,
                 "/usr/bin/newuidmap")
        for library in _libraries(newuidmap):
            _buildah("copy", "--quiet", container, library, library)
        for name, dest in (("passwd", "/etc/passwd"), ("group", "/etc/group"),
                           ("subid", "/etc/subuid"), ("subid", "/etc/subgid")):
            _buildah("copy", "--quiet", container, str(context / name), dest)
        _buildah("commit", "--quiet", "--rm", container, ESCALATION_IMAGE)
    except BaseException:
        subprocess.run(["buildah", "rm", container], capture_output=True, timeout=TOOL_TIMEOUT,
                       check=False)
        raise
    yield ESCALATION_IMAGE
    subprocess.run(["podman", "rmi", "--force", "--ignore", ESCALATION_IMAGE],
                   capture_output=True, timeout=TOOL_TIMEOUT, check=False)
