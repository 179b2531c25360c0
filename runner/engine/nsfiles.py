"""Namespace-helper work on a job's files while the job runs (the steps of GitHub jobs).

``nshelper``'s prepare and collect run when the job has no process left; a
GitHub job's steps ask for files mid-job (a step's script and environment
files, artifacts uploaded and downloaded, caches restored and saved,
``hashFiles``) while processes the job left in the background may be
swapping names for symlinks. So everything here works from directory
descriptors: the container's file system is reached as ``/proc/<pid>/root``
of its PID 1 (as root of podman's namespace we may), every component below
it is opened with ``O_NOFOLLOW``, trees are walked with ``os.fwalk``, and a
file is read only once ``fstat`` says it is a regular file (a FIFO would
block us). A symlink is copied as a link, never followed: an absolute link
would otherwise resolve against the helper's own root, the runner user's.
Stdlib only, like the helper.
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import os
import stat
from collections.abc import Iterator
from typing import Any

from runner.engine.beneath import DIR_FLAGS, components, open_dir
from runner.engine.fscopy import Budget, copy_at, ensure_parents, remove_tree
from runner.engine.globs import compile_pattern

Request = dict[str, Any]

READ_FLAGS = os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC


def _container_dir(pid: int, path: str) -> int:
    """A descriptor of the absolute container path ``path`` of the container whose PID 1 is
    ``pid``, every component below its root opened without following links."""
    root = os.open(f"/proc/{pid}/root", os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
    try:
        rel = path.strip("/")
        return open_dir(root, components(rel) if rel else [])
    finally:
        os.close(root)


def _files(top: int) -> Iterator[tuple[str, int, str]]:
    """(relative path, parent dir fd, name) of every non-directory under ``top``, sorted."""
    found: list[tuple[str, str]] = []
    for dirpath, dirnames, filenames, dirfd in os.fwalk(".", dir_fd=top, follow_symlinks=False):
        prefix = "" if dirpath == "." else dirpath[2:] + "/"
        dirnames.sort()
        found.extend((prefix + name, prefix) for name in filenames)
        # fwalk lists a symlink to a directory among dirnames and does not enter it
        found.extend((prefix + name, prefix) for name in dirnames
                     if stat.S_ISLNK(os.stat(name, dir_fd=dirfd, follow_symlinks=False).st_mode))
    for rel, prefix in sorted(found):
        parent = open_dir(top, components(prefix) if prefix else [])
        try:
            yield rel, parent, rel[len(prefix):]
        finally:
            os.close(parent)


def gather(req: Request) -> Request:
    """Copy the files of container dir ``base`` that match ``include`` and not ``exclude``
    (globs relative to ``base``) into ``dest`` (ours), keeping their relative paths.

    A ``base`` that is a file stands for itself, under its directory (the base
    then used is in the reply). Links are copied as links. ``max_bytes`` bounds
    the data copied.
    """
    base, include, exclude = req["base"], list(req["include"]), list(req.get("exclude", []))
    try:
        top = _container_dir(int(req["pid"]), base)
    except NotADirectoryError:  # a single file: its directory is the base
        base, name = os.path.split(base.rstrip("/"))
        include = [name if p == "**" else f"{name}/{p}" for p in include]
        exclude = [f"{name}/{p}" for p in exclude]
        try:
            top = _container_dir(int(req["pid"]), base)
        except OSError:
            return {"ok": True, "files": [], "base": base}
    except OSError:
        return {"ok": True, "files": [], "base": base}
    includes = [compile_pattern(p) for p in include]
    excludes = [compile_pattern(p) for p in exclude]
    budget = Budget(req.get("max_bytes"))
    dest = req["dest"]
    os.makedirs(dest, exist_ok=True)
    taken: list[str] = []
    try:
        for rel, parent, name in _files(top):
            inside = _under_any(rel, includes)
            if not inside or _under_any(rel, excludes):
                continue
            info = os.stat(name, dir_fd=parent, follow_symlinks=False)
            if not (stat.S_ISREG(info.st_mode) or stat.S_ISLNK(info.st_mode)):
                continue
            if not req.get("hidden", True) and any(p.startswith(".") for p in rel.split("/")):
                continue
            ensure_parents(dest, rel)
            copy_at(parent, name, os.path.join(dest, rel), budget)
            taken.append(rel)
    finally:
        os.close(top)
    return {"ok": True, "files": taken, "base": base}


def _under_any(rel: str, patterns: list[Any]) -> bool:
    """Whether ``rel`` or a directory above it matches one of ``patterns``."""
    parts = rel.split("/")
    prefixes = ["/".join(parts[:i]) for i in range(1, len(parts) + 1)]
    return any(regex.match(prefix) for regex in patterns for prefix in prefixes)


def put(req: Request) -> Request:
    """Copy the tree ``src`` (ours) into container dir ``base`` (created as needed), owned
    by ``uid``/``gid``; an existing file of the same name is replaced, a symlink on the
    way is refused rather than followed."""
    uid, gid = int(req["uid"]), int(req["gid"])
    root = os.open(f"/proc/{int(req['pid'])}/root", os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
    try:
        top = _make_dirs(root, req["base"].strip("/"), uid, gid)
    finally:
        os.close(root)
    try:
        _put_children(req["src"], top, uid, gid)
    finally:
        os.close(top)
    return {"ok": True}


def _make_dirs(root: int, rel: str, uid: int, gid: int) -> int:
    fd = os.open(".", DIR_FLAGS, dir_fd=root)
    for name in components(rel) if rel else []:
        with contextlib.suppress(FileExistsError):
            os.mkdir(name, 0o755, dir_fd=fd)
            os.chown(name, uid, gid, dir_fd=fd, follow_symlinks=False)
        try:
            child = os.open(name, DIR_FLAGS, dir_fd=fd)
        finally:
            os.close(fd)
        fd = child
    return fd


def _put_children(src: str, dst: int, uid: int, gid: int) -> None:
    for entry in sorted(os.scandir(src), key=lambda e: e.name):
        info = entry.stat(follow_symlinks=False)
        if stat.S_ISDIR(info.st_mode):
            with contextlib.suppress(FileExistsError):
                os.mkdir(entry.name, 0o755, dir_fd=dst)
                os.chown(entry.name, uid, gid, dir_fd=dst, follow_symlinks=False)
            child = os.open(entry.name, DIR_FLAGS, dir_fd=dst)
            try:
                _put_children(entry.path, child, uid, gid)
            finally:
                os.close(child)
            continue
        with contextlib.suppress(FileNotFoundError, IsADirectoryError):
            os.unlink(entry.name, dir_fd=dst)
        if stat.S_ISLNK(info.st_mode):
            os.symlink(os.readlink(entry.path), entry.name, dir_fd=dst)
        elif stat.S_ISREG(info.st_mode):
            flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC
            out = os.open(entry.name, flags, stat.S_IMODE(info.st_mode), dir_fd=dst)
            with open(entry.path, "rb") as source, os.fdopen(out, "wb") as target:
                while chunk := source.read(1 << 20):
                    target.write(chunk)
        else:
            continue
        os.chown(entry.name, uid, gid, dir_fd=dst, follow_symlinks=False)


def hash_files(req: Request) -> Request:
    """GitHub's ``hashFiles``: the SHA-256 of the SHA-256 digests of every regular file under
    container dir ``base`` matching ``include`` and no ``exclude``, in path order; empty
    when none matches. Links are not followed (GitHub's default follows them)."""
    includes = [compile_pattern(p) for p in req["include"]]
    excludes = [compile_pattern(p) for p in req.get("exclude", [])]
    total = hashlib.sha256()
    count = 0
    try:
        top = _container_dir(int(req["pid"]), req["base"])
    except OSError:
        return {"ok": True, "hash": ""}
    try:
        for rel, parent, name in _files(top):
            if not any(r.match(rel) for r in includes) or any(r.match(rel) for r in excludes):
                continue
            try:
                fd = os.open(name, READ_FLAGS, dir_fd=parent)
            except OSError:
                continue  # a link (ELOOP) or gone
            with os.fdopen(fd, "rb") as file:
                if not stat.S_ISREG(os.fstat(fd).st_mode):
                    continue
                digest = hashlib.sha256()
                while chunk := file.read(1 << 20):
                    digest.update(chunk)
            total.update(digest.digest())
            count += 1
    finally:
        os.close(top)
    return {"ok": True, "hash": total.hexdigest() if count else ""}


def write(req: Request) -> Request:
    """Make the new directory ``name`` in ``dir`` (ours, the job's control dir) holding
    ``files`` (name -> text), all owned by ``uid``/``gid``; fails if ``name`` exists."""
    uid, gid = int(req["uid"]), int(req["gid"])
    top = os.open(req["dir"], DIR_FLAGS)
    try:
        os.mkdir(req["name"], 0o700, dir_fd=top)
        sub = os.open(req["name"], DIR_FLAGS, dir_fd=top)
        try:
            for name, text in req["files"].items():
                flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC
                fd = os.open(name, flags, 0o600, dir_fd=sub)
                with os.fdopen(fd, "w", encoding="utf-8", newline="") as file:
                    file.write(text)
                os.chown(name, uid, gid, dir_fd=sub, follow_symlinks=False)
            os.fchown(sub, uid, gid)
        finally:
            os.close(sub)
    finally:
        os.close(top)
    return {"ok": True}


def read(req: Request) -> Request:
    """The contents of ``names`` in ``dir/name`` (each at most ``max_bytes``; a link, a
    non-regular file or a missing one reads as empty), base64-encoded, then removes them."""
    limit = int(req["max_bytes"])
    out: dict[str, str] = {}
    over: list[str] = []
    try:
        sub = os.open(os.path.join(req["dir"], req["name"]), DIR_FLAGS)
    except OSError:
        return {"ok": True, "files": {}, "over": []}
    try:
        for name in req["names"]:
            data = b""
            with contextlib.suppress(OSError):
                fd = os.open(name, READ_FLAGS, dir_fd=sub)
                with os.fdopen(fd, "rb") as file:
                    if stat.S_ISREG(os.fstat(fd).st_mode):
                        data = file.read(limit + 1)
            if len(data) > limit:
                over.append(name)
                data = data[:limit]
            out[name] = base64.b64encode(data).decode()
    finally:
        os.close(sub)
    remove_tree(os.path.join(req["dir"], req["name"]))
    return {"ok": True, "files": out, "over": over}
