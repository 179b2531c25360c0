"""Open a relative path under a directory descriptor without following any symlink.

A tenant owns every name in its checkout and its job's workspace, and a
process of its own may turn a directory into a symlink at any moment. A path
string is resolved by the kernel afresh at each use, following links in
every component (``O_NOFOLLOW`` only guards the last one), so a check made on
a path says nothing about what a later open of it reaches. Here each
component is opened on its own, relative to the descriptor of the one
before, with ``O_NOFOLLOW``: a symlink anywhere fails the open (``ELOOP``,
or ``ENOTDIR`` where a directory was expected) instead of leading out.
``..`` and absolute paths are refused outright, so the result is always
beneath the starting directory. Stdlib only: the namespace helper uses it.
"""

from __future__ import annotations

import errno
import os

DIR_FLAGS = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC
"""How every directory component is opened: a real directory, never a link to one."""

NOT_THERE = frozenset({errno.ENOENT, errno.ENOTDIR, errno.ELOOP})
"""Errors that mean "no such path beneath the directory, or not without a symlink"."""


def components(rel: str) -> list[str]:
    """The names of a relative ``/``-separated path (``.`` and empty parts dropped).

    Raises ``ValueError`` for an absolute path, a ``..`` part, or a path with no name.
    """
    if rel.startswith("/"):
        raise ValueError(f"{rel!r} is an absolute path, not one beneath a directory")
    parts = [part for part in rel.split("/") if part not in ("", ".")]
    if ".." in parts:
        raise ValueError(f"{rel!r} climbs out with '..'")
    if not parts:
        raise ValueError(f"{rel!r} names no file")
    return parts


def open_dir(dir_fd: int, names: list[str]) -> int:
    """A new descriptor of the directory ``names`` leads to from ``dir_fd`` (itself if none).

    Every name must be a real directory: a symlink raises ``OSError`` (``ELOOP``).
    """
    fd = os.open(".", DIR_FLAGS, dir_fd=dir_fd)
    try:
        for name in names:
            if name in ("", ".", "..") or "/" in name:
                raise ValueError(f"{name!r} is not a single file name")
            child = os.open(name, DIR_FLAGS, dir_fd=fd)
            os.close(fd)
            fd = child
    except BaseException:
        os.close(fd)
        raise
    return fd


def open_parent(dir_fd: int, rel: str) -> tuple[int, str]:
    """The descriptor of the directory that holds ``rel``'s last name, and that name.

    The caller closes the descriptor, and looks at the name itself with
    ``dir_fd=`` and ``follow_symlinks=False`` (or ``O_NOFOLLOW``).
    """
    *dirs, name = components(rel)
    return open_dir(dir_fd, dirs), name


def open_beneath(dir_fd: int, rel: str, flags: int = os.O_RDONLY, mode: int = 0o600) -> int:
    """Open ``rel`` beneath ``dir_fd`` with ``flags``, following no symlink in any component.

    A symlink as the last component fails too (``ELOOP``): callers that keep
    links as links look with ``open_parent`` first.
    """
    parent, name = open_parent(dir_fd, rel)
    try:
        return os.open(name, flags | os.O_NOFOLLOW | os.O_CLOEXEC, mode, dir_fd=parent)
    finally:
        os.close(parent)
