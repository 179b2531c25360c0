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
import shutil
import stat
import sys
from collections.abc import Callable
from typing import Any

from runner.engine.diskusage import held_deleted_blocks, tree_blocks
from runner.engine.globs import compile_pattern, match_tree

Request = dict[str, Any]


def _chown_tree(top: str, uid: int, gid: int) -> None:
    os.lchown(top, uid, gid)
    for dirpath, dirnames, filenames in os.walk(top, followlinks=False):
        for name in dirnames + filenames:
            os.lchown(os.path.join(dirpath, name), uid, gid)


class Budget:
    """Bytes of real data a collect may still write; a job cannot fill the host's disk."""

    def __init__(self, limit: int | None) -> None:
        self.left = limit

    def spend(self, size: int, what: str) -> None:
        if self.left is None:
            return
        self.left -= size
        if self.left < 0:
            raise ValueError(f"{what} goes past the size limit for a job's artifacts or cache")


def _copy_file(src: str, dst: str, budget: Budget) -> None:
    """Copy a regular file's data regions only, so a sparse file stays sparse.

    A job can make a 0-byte-on-disk file of any apparent size; copying its
    holes as zeros would write all of it to the host.
    """
    sfd = os.open(src, os.O_RDONLY | os.O_NOFOLLOW)
    try:
        info = os.fstat(sfd)
        if not stat.S_ISREG(info.st_mode):
            return
        dfd = os.open(dst, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_NOFOLLOW, 0o600)
        try:
            position = 0
            while position < info.st_size:
                try:
                    start = os.lseek(sfd, position, os.SEEK_DATA)
                except OSError:  # ENXIO: only a hole is left
                    break
                end = os.lseek(sfd, start, os.SEEK_HOLE)
                budget.spend(end - start, src)
                os.lseek(sfd, start, os.SEEK_SET)
                os.lseek(dfd, start, os.SEEK_SET)
                remaining = end - start
                while remaining > 0:
                    chunk = os.read(sfd, min(remaining, 1 << 20))
                    if not chunk:
                        break
                    os.write(dfd, chunk)
                    remaining -= len(chunk)
                position = end
            os.ftruncate(dfd, info.st_size)
        finally:
            os.close(dfd)
    finally:
        os.close(sfd)
    shutil.copystat(src, dst, follow_symlinks=False)


def _copy_entry(src: str, dst: str, budget: Budget | None = None) -> None:
    """Copy a file, symlink or whole directory to ``dst`` without following any symlink.

    Destinations are merged level by level: an existing symlink where a
    directory must go is replaced, never written through, so artifacts
    crafted by one job (a link ``x -> /home``, then a directory ``x/``)
    cannot make us write outside the workspace. FIFOs, sockets and devices
    are skipped: opening one could block or touch the host.
    """
    budget = budget or Budget(None)
    mode = os.lstat(src).st_mode
    if stat.S_ISDIR(mode):
        if os.path.islink(dst) or (os.path.lexists(dst) and not os.path.isdir(dst)):
            _remove(dst)
        os.makedirs(dst, exist_ok=True)
        for name in os.listdir(src):
            _copy_entry(os.path.join(src, name), os.path.join(dst, name), budget)
        shutil.copystat(src, dst, follow_symlinks=False)
        return
    if os.path.lexists(dst):
        _remove(dst)
    if stat.S_ISLNK(mode):
        os.symlink(os.readlink(src), dst)
    elif stat.S_ISREG(mode):
        _copy_file(src, dst, budget)


def _ensure_parents(top: str, rel: str) -> None:
    """Create the directories leading to ``top/rel``, replacing symlinks on the way."""
    current = top
    for part in rel.split("/")[:-1]:
        current = os.path.join(current, part)
        if os.path.islink(current) or (os.path.lexists(current) and not os.path.isdir(current)):
            _remove(current)
        if not os.path.isdir(current):
            os.mkdir(current)


def prepare(req: Request) -> Request:
    """Fill a workspace (source files, then artifacts, then caches) and hand it to a slice."""
    workspace, uid, gid = req["workspace"], int(req["uid"]), int(req["gid"])
    source = req["source"]
    for rel in req["files"]:
        src = os.path.join(source, rel)
        if os.path.lexists(src):
            _ensure_parents(workspace, rel)
            _copy_entry(src, os.path.join(workspace, rel))
    for layer in req.get("layers", []):
        if os.path.isdir(layer):
            for name in os.listdir(layer):
                _copy_entry(os.path.join(layer, name), os.path.join(workspace, name))
    for cache in req.get("caches", []):
        # Best effort: another run of the project may be swapping this cache right now.
        with contextlib.suppress(FileNotFoundError):
            for name in os.listdir(cache):
                _copy_entry(os.path.join(cache, name), os.path.join(workspace, name))
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


def _copy_filtered(workspace: str, staging: str, rel: str, budget: Budget,
                   excluded: Callable[[str], bool]) -> None:
    """Copy ``rel`` like ``_copy_entry``, leaving out every path ``excluded`` says.

    As in GitLab, exclusion is per path, not recursive: an excluded directory
    is not kept as such, but files under it that are not excluded still are.
    """
    src = os.path.join(workspace, rel)
    if not stat.S_ISDIR(os.lstat(src).st_mode):
        if not excluded(rel):
            _ensure_parents(staging, rel)
            _copy_entry(src, os.path.join(staging, rel), budget)
        return
    if not excluded(rel):
        _ensure_parents(staging, rel + "/")
    for name in sorted(os.listdir(src)):
        _copy_filtered(workspace, staging, rel + "/" + name, budget, excluded)
    dst = os.path.join(staging, rel)
    if os.path.isdir(dst) and not os.path.islink(dst):
        shutil.copystat(src, dst, follow_symlinks=False)


def collect(req: Request) -> Request:
    """Copy what matches ``patterns`` out of a workspace into ``dest``, owned by us.

    ``exclude`` globs leave paths out; ``untracked`` (the source snapshot's
    file list) adds every file not in it. With ``replace`` the result swaps
    in for ``dest`` only once complete, and staging names are unique, so
    neither an interrupted save nor a concurrent run of the same project
    leaves a half cache behind. ``max_bytes`` bounds the data written.
    """
    workspace, dest = req["workspace"], req["dest"]
    unique = f"{os.getpid()}-{os.urandom(4).hex()}"
    staging = f"{dest}.partial-{unique}" if req.get("replace") else dest
    _remove(staging)
    os.makedirs(staging, exist_ok=True)
    budget = Budget(req.get("max_bytes"))
    matched, unmatched = _select(workspace, req["patterns"], req.get("untracked"))
    excludes = [compile_pattern(pattern) for pattern in req.get("exclude", [])]

    def excluded(rel: str) -> bool:
        return any(regex.match(rel) for regex in excludes)

    try:
        for rel in matched:
            if excludes:
                _copy_filtered(workspace, staging, rel, budget, excluded)
            else:
                _ensure_parents(staging, rel)
                _copy_entry(os.path.join(workspace, rel), os.path.join(staging, rel), budget)
    except BaseException:
        _remove(staging)
        raise
    _chown_tree(staging, 0, 0)
    if staging != dest:
        old = f"{dest}.old-{unique}"
        with contextlib.suppress(FileNotFoundError):
            os.rename(dest, old)
        os.rename(staging, dest)
        _remove(old)
    return {"ok": True, "matched": matched, "unmatched": unmatched}


def _remove(path: str) -> None:
    def make_writable(func: Callable[..., Any], failed: str, _exc: object) -> None:
        os.chmod(os.path.dirname(failed), 0o700)
        func(failed)

    if os.path.islink(path) or os.path.isfile(path):
        os.unlink(path)
    elif os.path.isdir(path):
        shutil.rmtree(path, onerror=make_writable)


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
        _remove(path)
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
    "ping": lambda _req: {"ok": True, "uid": os.getuid(), "pid": os.getpid()},
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
