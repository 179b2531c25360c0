"""Copying a tenant's files (checkout, workspace, artifacts, caches) without following a link.

The source side is read only through directory descriptors: every name is
looked at with ``lstat`` relative to its parent's descriptor and opened with
``O_NOFOLLOW`` (``runner.engine.beneath``), so a symlink anywhere in the
tenant's tree, or one swapped in while we copy, is copied as a link or not
at all, never read through. The destination is ours (a fresh workspace or a
staging dir no job can reach); there an existing symlink where a directory
must go is replaced, never written through. Stdlib only: the namespace
helper uses it.
"""

from __future__ import annotations

import errno
import os
import shutil
import stat
from collections.abc import Callable
from typing import Any

from runner.engine.beneath import DIR_FLAGS, NOT_THERE, open_parent

FILE_FLAGS = os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC
"""A regular file's open: never through a link, and never blocking on a FIFO swapped in."""
_XATTR_SKIP = frozenset({errno.EPERM, errno.EACCES, errno.ENOTSUP, errno.ENODATA, errno.EINVAL})


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


def copy_beneath(top_fd: int, rel: str, dst_top: str, budget: Budget | None = None) -> bool:
    """Copy ``rel`` beneath ``top_fd`` to ``dst_top/rel``; False if it is not there as such.

    "Not there" includes a parent that is a symlink (or was swapped for one):
    the path then names a file outside the tree, which is never read.
    """
    try:
        parent, name = open_parent(top_fd, rel)
    except OSError as exc:
        if exc.errno in NOT_THERE:
            return False
        raise
    try:
        try:
            os.stat(name, dir_fd=parent, follow_symlinks=False)
        except FileNotFoundError:
            return False
        ensure_parents(dst_top, rel)
        copy_at(parent, name, os.path.join(dst_top, rel), budget or Budget(None))
    finally:
        os.close(parent)
    return True


def copy_entry(src: str, dst: str, budget: Budget | None = None) -> None:
    """Copy the file, symlink or directory ``src`` (whose parent dirs are ours) to ``dst``."""
    parent = os.open(os.path.dirname(src) or ".", os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
    try:
        copy_at(parent, os.path.basename(src), dst, budget or Budget(None))
    finally:
        os.close(parent)


def copy_at(parent: int, name: str, dst: str, budget: Budget) -> None:
    """Copy entry ``name`` of the directory ``parent`` (a descriptor) to ``dst``.

    Directories are merged into ``dst`` level by level; symlinks are copied
    as links; FIFOs, sockets and devices are skipped (opening one could block
    or touch the host). An entry that changes type between our look and our
    open (a directory swapped for a link) fails the open: ``OSError``.
    """
    mode = os.stat(name, dir_fd=parent, follow_symlinks=False).st_mode
    if stat.S_ISDIR(mode):
        fd = os.open(name, DIR_FLAGS, dir_fd=parent)
        try:
            make_dir(dst)
            for child in sorted(os.listdir(fd)):
                copy_at(fd, child, os.path.join(dst, child), budget)
            copy_meta(fd, dst)
        finally:
            os.close(fd)
    elif stat.S_ISLNK(mode):
        target = os.readlink(name, dir_fd=parent)
        remove_tree(dst)
        os.symlink(target, dst)
    elif stat.S_ISREG(mode):
        fd = os.open(name, FILE_FLAGS, dir_fd=parent)
        try:
            if stat.S_ISREG(os.fstat(fd).st_mode):
                remove_tree(dst)
                copy_data(fd, dst, budget, name)
                copy_meta(fd, dst)
        finally:
            os.close(fd)


def copy_data(sfd: int, dst: str, budget: Budget, what: str) -> None:
    """Copy an open regular file's data regions only, so a sparse file stays sparse.

    A job can make a 0-byte-on-disk file of any apparent size; copying its
    holes as zeros would write all of it to the host.
    """
    size = os.fstat(sfd).st_size
    dfd = os.open(dst, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_NOFOLLOW | os.O_CLOEXEC,
                  0o600)
    try:
        position = 0
        while position < size:
            try:
                start = os.lseek(sfd, position, os.SEEK_DATA)
            except OSError:  # ENXIO: only a hole is left
                break
            end = os.lseek(sfd, start, os.SEEK_HOLE)
            budget.spend(end - start, what)
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
        os.ftruncate(dfd, size)
    finally:
        os.close(dfd)


def copy_meta(fd: int, dst: str) -> None:
    """Give ``dst`` (ours, not a link) the mode, times and xattrs of the open file ``fd``.

    What ``shutil.copystat`` does, but read from the descriptor, never a path.
    """
    info = os.fstat(fd)
    try:
        names = os.listxattr(fd)
    except OSError as exc:
        if exc.errno not in _XATTR_SKIP:
            raise
        names = []
    for attr in names:
        try:
            os.setxattr(dst, attr, os.getxattr(fd, attr), follow_symlinks=False)
        except OSError as exc:
            if exc.errno not in _XATTR_SKIP:
                raise
    os.utime(dst, ns=(info.st_atime_ns, info.st_mtime_ns), follow_symlinks=False)
    os.chmod(dst, stat.S_IMODE(info.st_mode))


def make_dir(dst: str) -> None:
    """Make ``dst`` a real directory: a symlink or file there is replaced, never followed."""
    if os.path.islink(dst) or (os.path.lexists(dst) and not os.path.isdir(dst)):
        remove_tree(dst)
    os.makedirs(dst, exist_ok=True)


def ensure_parents(top: str, rel: str) -> None:
    """Create the directories leading to ``top/rel``, replacing symlinks on the way."""
    current = top
    for part in rel.split("/")[:-1]:
        current = os.path.join(current, part)
        if os.path.islink(current) or (os.path.lexists(current) and not os.path.isdir(current)):
            remove_tree(current)
        if not os.path.isdir(current):
            os.mkdir(current)


def remove_tree(path: str) -> None:
    """Remove a file, link or whole directory of ours (modes inside notwithstanding)."""
    def make_writable(func: Callable[..., Any], failed: str, _exc: object) -> None:
        os.chmod(os.path.dirname(failed), 0o700)
        func(failed)

    if os.path.islink(path) or os.path.isfile(path):
        os.unlink(path)
    elif os.path.isdir(path):
        shutil.rmtree(path, onerror=make_writable)
    elif os.path.lexists(path):  # a FIFO, socket or device node
        os.unlink(path)
