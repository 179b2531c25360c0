"""Small, side-effect-free readers of one host property each (files and stat only).

They take a ``root`` so tests can point them at a fake tree; none of them
spawns a process. ``runner.host.facts`` assembles their answers.
"""

from __future__ import annotations

import os
import shutil
import stat
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

SLICE = 65536
"""Ids one job's slice takes from the user's subordinate range (see engine.slices)."""

_SYSTEM_BIN_DIRS = ("usr/local/sbin", "usr/local/bin", "usr/sbin", "usr/bin", "sbin", "bin")


@dataclass(frozen=True)
class IdRange:
    """One ``name:start:count`` line of /etc/subuid or /etc/subgid."""

    start: int
    count: int


@dataclass(frozen=True)
class Binary:
    """An executable we depend on; ``version`` is the first ``--version`` line (full only)."""

    path: str | None
    version: str | None = None
    setuid: bool = False
    owner_uid: int | None = None
    file_caps: int = 0
    """Permitted capability bits from the ``security.capability`` xattr."""


@dataclass(frozen=True)
class RuntimeDir:
    """``$XDG_RUNTIME_DIR`` as podman will see it."""

    path: str | None
    exists: bool = False
    owner_uid: int | None = None
    mode: int | None = None


def read(path: Path) -> str:
    """A text file's content, or "" when it cannot be read (absent is a fact, not an error)."""
    try:
        return path.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return ""


def parse_subids(text: str, user: str, uid: int) -> tuple[IdRange, ...]:
    """The ranges granted to ``user`` (by name or uid) in subuid/subgid file ``text``."""
    return tuple(
        IdRange(int(fields[1]), int(fields[2]))
        for fields in _subid_lines(text)
        if fields[0] in (user, str(uid))
    )


def free_subid_start(*texts: str) -> int:
    """First 65536-aligned id (>= 100000) above every range in the given subid files."""
    top = max((int(f[1]) + int(f[2]) for t in texts for f in _subid_lines(t)), default=0)
    return -(-max(top, 100000) // SLICE) * SLICE


def _subid_lines(text: str) -> list[list[str]]:
    lines = (line.strip().split(":") for line in text.splitlines())
    return [f for f in lines if len(f) == 3 and f[1].isdigit() and f[2].isdigit()]


def parse_file_caps(blob: bytes) -> int:
    """Permitted capability bits (low word) of a ``security.capability`` xattr value."""
    return int.from_bytes(blob[4:8], "little") if len(blob) >= 8 else 0


def which(name: str, root: Path, environ: Mapping[str, str], *, system_dirs: bool) -> str | None:
    """``PATH`` lookup; with ``system_dirs`` also where podman itself looks (e.g. /usr/sbin).

    podman finds runc and newuidmap even when a login ``PATH`` lacks /usr/sbin,
    so reporting them missing there would send people chasing a non-problem.
    """
    found = shutil.which(name, path=environ.get("PATH", os.defpath))
    if found or not system_dirs:
        return found
    for rel in _SYSTEM_BIN_DIRS:
        candidate = root / rel / name
        if candidate.is_file() and os.access(candidate, os.X_OK):
            return str(candidate)
    return None


def binary(path: str | None) -> Binary:
    """Stat ``path``: setuid bit, owner and file capabilities (what newuidmap needs)."""
    if path is None:
        return Binary(None)
    try:
        st = Path(path).stat()
    except OSError:
        return Binary(None)
    try:
        caps = parse_file_caps(os.getxattr(path, "security.capability"))
    except OSError:
        caps = 0
    return Binary(path, setuid=bool(st.st_mode & stat.S_ISUID), owner_uid=st.st_uid, file_caps=caps)


def cgroup_version(root: Path) -> str:
    """Cgroup mode: "v2" (unified only), "hybrid" (v1 controllers plus a unified mount) or "v1"."""
    base = root / "sys/fs/cgroup"
    if (base / "cgroup.controllers").exists():
        return "v2"
    return "hybrid" if (base / "unified/cgroup.controllers").exists() else "v1"


def delegated_controllers(root: Path, uid: int) -> frozenset[str]:
    """Controllers the user's systemd manager (or, without it, our own cgroup) may use."""
    base = root / "sys/fs/cgroup"
    if not (base / "cgroup.controllers").exists():
        return frozenset()
    candidates = [base / f"user.slice/user-{uid}.slice/user@{uid}.service"]
    for line in read(root / "proc/self/cgroup").splitlines():
        if line.startswith("0::/"):
            candidates.append(base / line[4:].strip())
    for cgroup in candidates:
        text = read(cgroup / "cgroup.controllers")
        if text:
            return frozenset(text.split())
    return frozenset()


def openable(path: Path) -> bool:
    """Whether this user may open ``path`` read-write (what slirp4netns does with the tun)."""
    try:
        fd = os.open(path, os.O_RDWR)
    except OSError:
        return False
    os.close(fd)
    return True


def root_shared(root: Path) -> bool:
    """Whether ``/`` has shared propagation (``shared:N`` in its mountinfo line)."""
    shared = False
    for line in read(root / "proc/self/mountinfo").splitlines():
        fields = line.split(" - ")[0].split()
        if len(fields) >= 5 and fields[4] == "/":  # the last mount on / is the visible one
            shared = any(f.startswith("shared:") for f in fields[6:])
    return shared


def runtime_dir(value: str | None) -> RuntimeDir:
    """Stat ``$XDG_RUNTIME_DIR``; podman refuses one that is not ours."""
    if not value:
        return RuntimeDir(None)
    try:
        st = Path(value).stat()
    except OSError:
        return RuntimeDir(value)
    if not stat.S_ISDIR(st.st_mode):
        return RuntimeDir(value)
    return RuntimeDir(value, exists=True, owner_uid=st.st_uid, mode=stat.S_IMODE(st.st_mode))
