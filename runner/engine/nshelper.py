"""File work that needs podman's user namespace, served over JSON lines on stdio.

Run as ``podman unshare python -m runner.engine.nshelper``: there this
process is root over every subordinate id, so it can hand a workspace to a
job's UID slice, read back what the job wrote (whatever its modes), and
remove it afterwards. Outside the namespace none of that is possible for an
unprivileged user. One helper lives for a whole run: ~65 ms once instead of a
``podman unshare`` per operation.

Requests: ``{"op": ..., ...}``; replies: ``{"ok": true, ...}`` or
``{"ok": false, "error": "..."}``. Stdlib only; it imports nothing heavy.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import stat
import sys
from collections.abc import Callable
from typing import Any

from runner.engine.beneath import DIR_FLAGS, NOT_THERE, open_parent
from runner.engine.diskusage import held_deleted_blocks, tree_blocks
from runner.engine.fscopy import (
    Budget,
    copy_at,
    copy_beneath,
    copy_meta,
    ensure_parents,
    remove_tree,
)
from runner.engine.globs import compile_pattern, match_tree
from runner.engine.nsdocker import OPERATIONS as DOCKER_OPERATIONS
from runner.engine.nsfiles import gather, hash_files, put, read, write

Request = dict[str, Any]


def _chown_tree(top: str, uid: int, gid: int) -> None:
    os.lchown(top, uid, gid)
    for dirpath, dirnames, filenames in os.walk(top, followlinks=False):
        for name in dirnames + filenames:
            os.lchown(os.path.join(dirpath, name), uid, gid)


def prepare(req: Request) -> Request:
    """Fill a workspace (source files, then artifacts, then caches) and hand it to a slice.

    The source is the tenant's checkout: each listed path is copied beneath a
    descriptor of it, never through a symlink in any component (git lists
    ``v/f`` from its index even after ``v`` became a link to another
    tenant's files); the link itself is copied as a link.
    """
    workspace, uid, gid = req["workspace"], int(req["uid"]), int(req["gid"])
    source = os.open(req["source"], os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
    try:
        for rel in req["files"]:
            copy_beneath(source, rel, workspace)
    finally:
        os.close(source)
    for layer in req.get("layers", []):
        if os.path.isdir(layer):
            _copy_children(layer, workspace)
    for cache in req.get("caches", []):
        # Best effort: another run of the project may be swapping this cache right now.
        with contextlib.suppress(FileNotFoundError):
            _copy_children(cache, workspace)
    _chown_tree(workspace, uid, gid)
    control = req["control"]
    os.chmod(control, 0o700)
    for name, text in req.get("scripts", {}).items():  # scripts and file-type variables
        path = os.path.join(control, name)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_NOFOLLOW, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8", newline="") as handle:
            handle.write(text)
    _chown_tree(control, uid, gid)
    return {"ok": True}


def _copy_children(top: str, dest: str) -> None:
    """Copy every entry of the directory ``top`` (artifacts or a cache of ours) into ``dest``."""
    fd = os.open(top, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
    try:
        for name in os.listdir(fd):
            copy_beneath(fd, name, dest)
    finally:
        os.close(fd)


def _select(workspace: str, patterns: list[str], snapshot: list[str] | None,
            ) -> tuple[list[str], list[str]]:
    """Top-most paths to copy and the patterns that matched nothing.

    With a ``snapshot`` (the source files the workspace was filled from),
    every other file or symlink is taken too: GitLab's ``untracked``. Paths
    already under a matched directory are not listed twice.
    """
    matched, unmatched = match_tree(workspace, patterns)
    if snapshot is None:
        return matched, unmatched
    known = set(snapshot)
    taken = set(matched)
    for dirpath, dirnames, filenames in os.walk(workspace, followlinks=False):
        rel_dir = os.path.relpath(dirpath, workspace)
        prefix = "" if rel_dir == "." else rel_dir + "/"
        # A symlink to a directory is an entry to copy as a link, never a place to walk.
        links = [name for name in dirnames if os.path.islink(os.path.join(dirpath, name))]
        for name in sorted(filenames + links):
            rel = prefix + name
            if rel not in known and rel not in taken:
                matched.append(rel)
                taken.add(rel)
        dirnames[:] = sorted(name for name in dirnames
                             if name not in links and prefix + name not in taken)
    return matched, unmatched


def _copy_filtered(top: int, staging: str, rel: str, budget: Budget,
                   excluded: Callable[[str], bool]) -> None:
    """Copy ``rel`` beneath ``top`` like ``copy_beneath``, leaving out what ``excluded`` says.

    As in GitLab, exclusion is per path, not recursive: an excluded directory
    is not kept as such, but files under it that are not excluded still are.
    """
    try:
        parent, name = open_parent(top, rel)
    except OSError as exc:
        if exc.errno in NOT_THERE:
            return
        raise
    try:
        _filtered_at(parent, name, rel, staging=staging, budget=budget, excluded=excluded)
    finally:
        os.close(parent)


def _filtered_at(parent: int, name: str, rel: str, *, staging: str, budget: Budget,
                 excluded: Callable[[str], bool]) -> None:
    if not stat.S_ISDIR(os.stat(name, dir_fd=parent, follow_symlinks=False).st_mode):
        if not excluded(rel):
            ensure_parents(staging, rel)
            copy_at(parent, name, os.path.join(staging, rel), budget)
        return
    fd = os.open(name, DIR_FLAGS, dir_fd=parent)
    try:
        if not excluded(rel):
            ensure_parents(staging, rel + "/")
        for child in sorted(os.listdir(fd)):
            _filtered_at(fd, child, rel + "/" + child, staging=staging, budget=budget,
                         excluded=excluded)
        dst = os.path.join(staging, rel)
        if os.path.isdir(dst) and not os.path.islink(dst):
            copy_meta(fd, dst)
    finally:
        os.close(fd)


def collect(req: Request) -> Request:
    """Copy what matches ``patterns`` out of a workspace into ``dest``, owned by us.

    ``exclude`` globs leave paths out; ``untracked`` (the source snapshot's
    file list) adds every file not in it. With ``replace`` the result swaps
    in for ``dest`` only once complete, and staging names are unique, so
    neither an interrupted save nor a concurrent run of the same project
    leaves a half cache behind. ``max_bytes`` bounds the data written.

    Every path is read beneath a descriptor of the workspace, never through
    a symlink in any component: a directory swapped for a link after the
    paths were chosen leaves its paths out. The job's processes, services
    included, are stopped before this runs; this is the second wall.
    """
    workspace, dest = req["workspace"], req["dest"]
    unique = f"{os.getpid()}-{os.urandom(4).hex()}"
    staging = f"{dest}.partial-{unique}" if req.get("replace") else dest
    excludes = [compile_pattern(pattern) for pattern in req.get("exclude", [])]

    def excluded(rel: str) -> bool:
        return any(regex.match(rel) for regex in excludes)

    top = os.open(workspace, DIR_FLAGS)
    try:
        remove_tree(staging)
        os.makedirs(staging, exist_ok=True)
        budget = Budget(req.get("max_bytes"))
        matched, unmatched = _select(workspace, req["patterns"], req.get("untracked"))
        for rel in matched:
            if excludes:
                _copy_filtered(top, staging, rel, budget, excluded)
            else:
                copy_beneath(top, rel, staging, budget)
    except BaseException:
        remove_tree(staging)
        raise
    finally:
        os.close(top)
    _chown_tree(staging, 0, 0)
    if staging != dest:
        old = f"{dest}.old-{unique}"
        with contextlib.suppress(FileNotFoundError):
            os.rename(dest, old)
        os.rename(staging, dest)
        remove_tree(old)
    return {"ok": True, "matched": matched, "unmatched": unmatched}


def mounts_under(mountinfo: str, top: str) -> list[str]:
    """Mount points at or below ``top`` in a mountinfo text, deepest first.

    Octal escapes (``\\040`` for a space) are decoded as the kernel wrote them.
    """
    prefix = top.rstrip("/") + "/"
    points = []
    for line in mountinfo.splitlines():
        fields = line.split()
        if len(fields) > 4:
            point = re.sub(r"\\([0-7]{3})", lambda m: chr(int(m.group(1), 8)), fields[4])
            if (point + "/").startswith(prefix):
                points.append(point)
    return sorted(points, key=len, reverse=True)


def _detach_mounts(top: str) -> None:
    """Lazily unmount whatever is mounted under ``top`` (a runc job's root file system
    whose monitor was killed), so removing the tree never walks into an image."""
    with open("/proc/self/mountinfo", encoding="utf-8") as file:
        points = mounts_under(file.read(), top)
    if not points:
        return
    import ctypes  # noqa: PLC0415 - rarely needed: keep the helper's start cheap
    libc = ctypes.CDLL(None, use_errno=True)
    for point in points:
        libc.umount2(point.encode(), 2)  # MNT_DETACH; a mount already gone is fine


def remove(req: Request) -> Request:
    """Remove paths (whatever slice owns what is inside them), mounts under them first."""
    for path in req["paths"]:
        _detach_mounts(path)
        remove_tree(path)
    return {"ok": True}


def usage(req: Request) -> Request:
    """Disk blocks used under ``paths``, plus deleted files the job's processes hold (those
    in the PID namespaces of ``pids``, its containers' PID 1s as ``[pid, start time]``, so
    that a recycled pid counts nothing): see ``diskusage``."""
    seen: set[tuple[int, int]] = set()
    total = tree_blocks(list(req["paths"]), seen)
    for pid, started in req.get("pids") or ():
        total += held_deleted_blocks(int(pid), seen, int(started))
    return {"ok": True, "bytes": total}


CLONE_NEWNET = 0x40000000
PROBE_TIMEOUT_S = 0.2


def _open_ports(netns: int, ports: list[int]) -> list[int]:
    """In the network namespace ``netns`` (an fd), which loopback TCP ports accept."""
    import ctypes  # noqa: PLC0415 - only services need it
    import socket  # noqa: PLC0415

    libc = ctypes.CDLL(None, use_errno=True)
    if libc.setns(netns, CLONE_NEWNET) != 0:  # this thread only: setns(NEWNET) is per thread
        raise OSError(ctypes.get_errno(), "setns into the pod's network namespace failed")
    found = []
    for port in ports:
        with contextlib.suppress(OSError), socket.create_connection(
                ("127.0.0.1", port), timeout=PROBE_TIMEOUT_S):
            found.append(port)
    return found


def probe(req: Request) -> Request:
    """Which of ``ports`` accept connections on localhost of the pod process ``pid`` is in.

    Services listen inside the job's pod, whose network the host cannot
    reach (slirp4netns); as root of podman's namespace we may enter it. The
    work runs in a throwaway thread so this process keeps its own network.
    """
    import threading  # noqa: PLC0415

    fd = os.open(f"/proc/{int(req['pid'])}/ns/net", os.O_RDONLY)
    result: dict[str, Any] = {}

    def work() -> None:
        try:
            result["open"] = _open_ports(fd, [int(port) for port in req["ports"]])
        except OSError as exc:
            result["error"] = str(exc)

    try:
        thread = threading.Thread(target=work)
        thread.start()
        thread.join()
    finally:
        os.close(fd)
    if "error" in result:
        raise OSError(result["error"])
    return {"ok": True, "open": result["open"]}


OPERATIONS: dict[str, Callable[[Request], Request]] = {
    "prepare": prepare,
    "collect": collect,
    "remove": remove,
    "probe": probe,
    "usage": usage,
    "gather": gather,
    "put": put,
    "hash": hash_files,
    "write": write,
    "read": read,
    "ping": lambda _req: {"ok": True, "uid": os.getuid(), "pid": os.getpid()},
    **DOCKER_OPERATIONS,
}


def serve() -> None:
    """Answer one request per input line until stdin closes."""
    for line in sys.stdin:
        try:
            req = json.loads(line)
            reply = OPERATIONS[req["op"]](req)
        except Exception as exc:
            reply = {"ok": False, "error": f"{type(exc).__name__}: {exc}"}
        sys.stdout.write(json.dumps(reply) + "\n")
        sys.stdout.flush()


if __name__ == "__main__":
    serve()
