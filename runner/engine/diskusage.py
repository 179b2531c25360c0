"""Disk blocks a job takes, as the namespace helper (``nshelper``) measures them.

Two parts: the trees of every dir the job can write (walked, each inode
once, mount points skipped), and the files it deleted but still holds
open or mapped. The latter no walk can see, yet their blocks stay taken
until the last descriptor and mapping are gone: without them
``exec 3>f; rm f; dd >&3`` wrote past any limit. Stdlib only, like the helper that imports it.
"""

from __future__ import annotations

import contextlib
import os
import stat

DELETED = " (deleted)"
"""How /proc names an open file's path once it is gone: fuse-overlayfs (the runc engine's
root) still reports one link for a file deleted in the container."""


def tree_blocks(tops: list[str], seen: set[tuple[int, int]]) -> int:
    """Bytes of blocks under ``tops``; hard links and other file systems counted once/not.

    Blocks, not apparent sizes: a sparse file costs what it really takes.
    """
    total = 0
    for top in tops:
        try:
            device = os.lstat(top).st_dev
        except FileNotFoundError:
            continue
        for dirpath, dirnames, filenames in os.walk(top, followlinks=False):
            same_device = []
            for name in dirnames + filenames:
                try:
                    info = os.lstat(os.path.join(dirpath, name))
                except FileNotFoundError:  # the job removed it meanwhile
                    continue
                if info.st_dev != device:
                    continue  # a mount point: not this job's disk
                if name in dirnames:
                    same_device.append(name)
                if (info.st_dev, info.st_ino) not in seen:
                    seen.add((info.st_dev, info.st_ino))
                    total += info.st_blocks * 512
            dirnames[:] = same_device
    return total


def start_time(pid: int) -> int | None:
    """When process ``pid`` started (clock ticks after boot): with the pid, a process's
    identity, which a recycled pid does not share; None if there is no such process."""
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii", errors="replace") as stat_file:
            fields = stat_file.read().rpartition(")")[2].split()
        return int(fields[19])
    except (OSError, IndexError, ValueError):
        return None


def held_deleted_blocks(init_pid: int, seen: set[tuple[int, int]],
                        started: int | None = None) -> int:
    """Bytes of blocks of regular files with no name left that processes in the PID
    namespace of ``init_pid`` (a job container's PID 1, as the host numbers it) hold open
    or keep mapped.

    A job can only make itself look bigger here (a deleted name whose file has
    another link is counted again), never smaller. Files on tmpfs count too (a
    job's tmpfs mounts are small and bounded anyway). Processes we may not
    inspect (not the job's) are skipped. With ``started``, nothing is counted
    unless ``init_pid`` is still the process that started then.
    """
    if started is not None and start_time(init_pid) != started:
        return 0
    try:
        namespace = os.stat(f"/proc/{init_pid}/ns/pid")
    except OSError:
        return 0
    members = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            with contextlib.suppress(OSError):
                mine = os.stat(f"/proc/{entry}/ns/pid")
                if (mine.st_dev, mine.st_ino) == (namespace.st_dev, namespace.st_ino):
                    members.append(entry)
    total = sum(_open_deleted(pid, seen) for pid in members)
    for pid in members:
        with contextlib.suppress(OSError):
            total += _mapped_deleted(pid, seen)
    return total


def _open_deleted(pid: str, seen: set[tuple[int, int]]) -> int:
    """Bytes of blocks of deleted regular files process ``pid`` has descriptors of."""
    total = 0
    with contextlib.suppress(OSError):
        for fd in os.listdir(f"/proc/{pid}/fd"):
            with contextlib.suppress(OSError):
                link = f"/proc/{pid}/fd/{fd}"
                info = os.stat(link)
                key = (info.st_dev, info.st_ino)
                if (stat.S_ISREG(info.st_mode) and key not in seen
                        and (info.st_nlink == 0 or os.readlink(link).endswith(DELETED))):
                    seen.add(key)
                    total += info.st_blocks * 512
    return total


MEMORY_PATHS = ("/memfd:", "/dev/shm/", "/SYSV")  # noqa: S108 - names in /proc, not files we use
"""Deleted mappings that are RAM (shared memory), not a file on disk."""


def _mapped_deleted(pid: str, seen: set[tuple[int, int]]) -> int:
    """Bytes of deleted files process ``pid`` only maps (its descriptors closed).

    A mapping's blocks cannot be read without CAP_SYS_ADMIN (``map_files``),
    so each file counts as far as it is mapped: the largest ``offset + length``
    among its mappings. Counted after the files of every descriptor, whose real
    blocks win where the kernel gives both the same device and inode (not so
    through overlayfs: a file both open and mapped may count twice, which only
    makes the job look bigger).
    """
    extent: dict[tuple[int, int], int] = {}
    with open(f"/proc/{pid}/maps", encoding="utf-8", errors="replace") as maps:
        for line in maps:
            fields = line.split(maxsplit=5)
            if len(fields) < 6 or not fields[5].rstrip("\n").endswith(DELETED):
                continue
            if fields[4] == "0" or fields[5].startswith(MEMORY_PATHS):
                continue
            start, end = (int(value, 16) for value in fields[0].split("-"))
            major, minor = (int(value, 16) for value in fields[3].split(":"))
            key = (os.makedev(major, minor), int(fields[4]))
            extent[key] = max(extent.get(key, 0), int(fields[2], 16) + end - start)
    total = 0
    for key, size in extent.items():
        if key not in seen:
            seen.add(key)
            total += size
    return total
