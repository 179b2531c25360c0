"""Pure builder of the OCI ``config.json`` for a job container started with runc directly.

Why: ``podman run`` costs ~160 ms of its own per container here, three at
once ~0.45 s, while runc itself needs ~25 ms. The runc engine (``runc``)
starts job containers without podman, so this module must ask the kernel
for exactly what podman would: the layout below is podman 4.3's own
rootless config (capabilities, masked and read-only paths, mounts,
rlimits, the ``ping_group_range`` sysctl), with seccomp from ``seccomp``.
No I/O here: tests assert whole documents.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from runner.engine.argv import CONTAINER_CAPS, CONTROL_DIR

DEFAULT_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

MASKED_PATHS = ("/proc/acpi", "/proc/kcore", "/proc/keys", "/proc/latency_stats",
                "/proc/timer_list", "/proc/timer_stats", "/proc/sched_debug", "/proc/scsi",
                "/sys/firmware", "/sys/fs/selinux", "/sys/dev/block")
READONLY_PATHS = ("/proc/asound", "/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys",
                  "/proc/sysrq-trigger")
_NOSUID_NOEXEC_NODEV = ["nosuid", "noexec", "nodev"]


@dataclass(frozen=True)
class RuncSpec:
    """What decides one job container's config (paths are as runc sees them)."""

    rootfs: Path
    hostname: str
    env: tuple[str, ...]
    """The image's environment (``KEY=value``), before runner's own additions."""
    id_base: int
    id_size: int
    workspace: Path
    project_dir: str
    control: Path
    etc: Path
    """Directory holding the ``hosts``, ``hostname``, ``resolv.conf`` and ``containerenv`` files."""
    args: tuple[str, ...]
    nofile: int
    """RLIMIT_NOFILE for the container: podman's rule, the runner's own hard limit."""


def oci_config(spec: RuncSpec, seccomp: dict[str, Any]) -> dict[str, Any]:
    """The whole ``config.json`` for ``spec``."""
    caps = [f"CAP_{cap}" for cap in CONTAINER_CAPS]
    mapping = [{"containerID": 0, "hostID": spec.id_base, "size": spec.id_size}]
    return {
        "ociVersion": "1.0.2",
        "process": {
            "user": {"uid": 0, "gid": 0, "umask": 0o022},
            "args": list(spec.args),
            "env": container_env(spec.env, spec.hostname),
            "cwd": "/",
            "capabilities": {"bounding": caps, "effective": caps, "permitted": caps},
            "rlimits": [
                {"type": "RLIMIT_NOFILE", "hard": spec.nofile, "soft": spec.nofile},
                {"type": "RLIMIT_NPROC", "hard": 32768, "soft": 32768},
            ],
            "noNewPrivileges": True,
        },
        "root": {"path": str(spec.rootfs), "readonly": False},
        "hostname": spec.hostname,
        "mounts": _mounts(spec),
        "linux": {
            "uidMappings": mapping,
            "gidMappings": mapping,
            "sysctl": {"net.ipv4.ping_group_range": "0 0"},
            "namespaces": [{"type": kind} for kind in
                           ("pid", "network", "ipc", "uts", "mount", "user")],
            "maskedPaths": list(MASKED_PATHS),
            "readonlyPaths": list(READONLY_PATHS),
            "seccomp": seccomp,
        },
    }


def container_env(image_env: tuple[str, ...], hostname: str) -> list[str]:
    """The image's variables plus podman's defaults (PATH only if the image sets none)."""
    names = {entry.partition("=")[0] for entry in image_env}
    env = [] if "PATH" in names else [f"PATH={DEFAULT_PATH}"]
    env += list(image_env)
    env += [f"{name}={value}" for name, value in
            (("TERM", "xterm"), ("container", "podman"), ("HOSTNAME", hostname))
            if name not in names]
    return env


def _mounts(spec: RuncSpec) -> list[dict[str, Any]]:
    def bind(source: Path, destination: str, *extra: str) -> dict[str, Any]:
        return {"destination": destination, "type": "bind", "source": str(source),
                "options": ["rbind", "rprivate", *extra]}

    return [
        {"destination": "/proc", "type": "proc", "source": "proc",
         "options": _NOSUID_NOEXEC_NODEV},
        {"destination": "/dev", "type": "tmpfs", "source": "tmpfs",
         "options": ["nosuid", "noexec", "strictatime", "mode=755", "size=65536k"]},
        {"destination": "/sys", "type": "sysfs", "source": "sysfs",
         "options": [*_NOSUID_NOEXEC_NODEV, "ro"]},
        {"destination": "/dev/pts", "type": "devpts", "source": "devpts",
         "options": ["nosuid", "noexec", "newinstance", "ptmxmode=0666", "mode=0620", "gid=5"]},
        {"destination": "/dev/mqueue", "type": "mqueue", "source": "mqueue",
         "options": _NOSUID_NOEXEC_NODEV},
        {"destination": "/dev/shm", "type": "tmpfs", "source": "shm",  # noqa: S108 - in the job
         "options": [*_NOSUID_NOEXEC_NODEV, "mode=1777", "size=65536k"]},
        bind(spec.workspace, spec.project_dir),
        bind(spec.control, CONTROL_DIR),
        bind(spec.etc / "hosts", "/etc/hosts"),
        bind(spec.etc / "hostname", "/etc/hostname"),
        bind(spec.etc / "resolv.conf", "/etc/resolv.conf"),
        bind(spec.etc / "containerenv", "/run/.containerenv", "ro"),
    ]


SLIRP_DNS = "10.0.2.3"
SLIRP_GUEST = "10.0.2.100"


def hosts_file(hostname: str, networked: bool) -> str:
    """``/etc/hosts``: localhost, and the container's own name on its slirp4netns address."""
    own = SLIRP_GUEST if networked else "127.0.0.1"
    return (f"127.0.0.1\tlocalhost localhost.localdomain\n::1\tlocalhost ip6-localhost\n"
            f"{own}\t{hostname}\n")


def resolv_conf(host_text: str, networked: bool) -> str:
    """The host's resolver settings behind slirp4netns's forwarder, as podman writes them.

    A name server on 127.0.0.0/8 or ::1 (systemd-resolved, dnsmasq) is the
    host's own loopback, which a job cannot reach, so it is left out; the
    forwarder (which asks the host's resolver) comes first.
    """
    keep: list[str] = []
    servers: list[str] = []
    for line in host_text.splitlines():
        words = line.split()
        if not words or words[0].startswith(("#", ";")):
            continue
        if words[0] == "nameserver" and len(words) > 1:
            if not words[1].startswith("127.") and words[1] != "::1":
                servers.append(words[1])
        elif words[0] in ("search", "domain", "options"):
            keep.append(" ".join(words))
    if networked:
        servers = [SLIRP_DNS, *servers]
    return "".join(f"{line}\n" for line in [*keep, *(f"nameserver {s}" for s in servers)])


def containerenv(name: str, image: str) -> str:
    """``/run/.containerenv``: how tools tell they run in a (rootless) container."""
    return f'engine="runner"\nname="{name}"\nimage="{image}"\nrootless=1\n'
