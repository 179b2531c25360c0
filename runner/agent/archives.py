"""Artifact archives in GitLab's formats, built from a tree (``unzip`` extracts them).

The executor has already copied a job's artifacts out of its
workspace into a tree we own; here the ``artifacts:paths`` globs (the
semantics of ``runner.engine.globs``) pick from that tree and the entries go
into a zip (the ``archive`` artifact), a multi-member gzip (reports such as
junit) or a raw copy. Symlinks are stored as symlinks and never followed, so
an artifact can only ever contain what is inside the tree.

"""

from __future__ import annotations

import contextlib
import errno
import os
import stat
import tempfile
import time
import zipfile
import zlib
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import BinaryIO

from runner.engine.globs import compile_pattern, match_tree
from runner.errors import Fault, RunnerError

CHUNK = 1 << 16
MAX_LINK_TARGET = 4096
"""Longer symlink targets than PATH_MAX cannot be real; such entries are skipped."""
MAX_WARNINGS = 50
"""Warnings listed one by one; the rest are summed up in one line."""
_DOS_DIRECTORY = 0x10
UNIX = 3
"""A zip entry's ``create_system`` when its external attributes hold a Unix mode."""


class ArchiveError(RunnerError):
    """An artifact archive cannot be built or extracted: the job's artifacts are at fault."""

    fault = Fault.JOB


# --- selecting ----------------------------------------------------------------


def safe_parts(name: str) -> list[str] | None:
    """Components of a relative POSIX path, or None if it is absolute or climbs out."""
    if not name or name.startswith("/") or "\0" in name:
        return None
    parts = [part for part in name.split("/") if part not in ("", ".")]
    if not parts or ".." in parts:
        return None
    return parts


def _real_parents(tree: Path, parts: list[str]) -> bool:
    """Whether every parent directory of ``parts`` under ``tree`` is a real directory."""
    here = tree
    for part in parts[:-1]:
        here = here / part
        try:
            if not stat.S_ISDIR(here.lstat().st_mode):
                return False
        except FileNotFoundError:
            return False
    return True


def _select(
    tree: Path, patterns: Sequence[str], exclude: Sequence[str],
    untracked: Sequence[str] | None = None,
) -> tuple[dict[str, os.stat_result], list[str]]:
    """Paths to archive (with their ``lstat``), parents first, and the unmatched patterns.

    A matched directory brings its whole subtree (never walking into a
    symlink). As in GitLab and ``runner exec``, ``exclude`` is per path and
    not recursive: an excluded directory gets no entry of its own, but files
    under it that are not excluded themselves are kept.
    """
    matched, unmatched = match_tree(str(tree), patterns)
    excludes = [compile_pattern(pattern) for pattern in exclude]
    chosen: dict[str, os.stat_result] = {}

    def take(rel: str) -> None:
        if rel not in chosen and not any(regex.match(rel) for regex in excludes):
            with contextlib.suppress(FileNotFoundError):
                chosen[rel] = (tree / rel).lstat()

    roots: list[str] = list(matched)
    for rel in untracked or ():
        parts = safe_parts(rel)
        if parts and _real_parents(tree, parts) and os.path.lexists(tree / rel):
            roots.append("/".join(parts))
    for rel in roots:
        parts = rel.split("/")
        for depth in range(1, len(parts)):
            take("/".join(parts[:depth]))
        take(rel)
        top = tree / rel
        if not top.is_symlink() and top.is_dir():
            for dirpath, dirnames, filenames in os.walk(top, followlinks=False):
                prefix = Path(dirpath).relative_to(tree).as_posix()
                for name in sorted(dirnames + filenames):
                    take(f"{prefix}/{name}")
    return dict(sorted(chosen.items())), unmatched


def _open_regular(path: Path) -> int | None:
    """A read descriptor for ``path`` if it is a regular file (never following a symlink)."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC)
    except OSError as error:
        if error.errno in (errno.ELOOP, errno.ENOENT, errno.ENXIO):
            return None
        raise
    if not stat.S_ISREG(os.fstat(fd).st_mode):
        os.close(fd)
        return None
    return fd


def _chunks(fd: int) -> Iterator[bytes]:
    while chunk := os.read(fd, CHUNK):
        yield chunk


def _write_atomically(dest: Path, fill: Callable[[BinaryIO], None]) -> None:
    """Write ``dest`` through a temporary file beside it, so no half archive is ever left."""
    fd, name = tempfile.mkstemp(dir=dest.parent, prefix=f".{dest.name}.", suffix=".partial")
    try:
        with os.fdopen(fd, "wb") as handle:
            fill(handle)
        Path(name).replace(dest)
    except BaseException:
        Path(name).unlink(missing_ok=True)
        raise


# --- building -----------------------------------------------------------------


def _zip_time(mtime: float) -> tuple[int, int, int, int, int, int]:
    """A zip timestamp (zip cannot say anything before 1980 or after 2107)."""
    stamp = time.localtime(mtime)[:6]
    if stamp[0] < 1980:
        return (1980, 1, 1, 0, 0, 0)
    if stamp[0] > 2107:
        return (2107, 12, 31, 23, 59, 58)
    return (stamp[0], stamp[1], stamp[2], stamp[3], stamp[4], stamp[5])


def _zip_entry(archive: zipfile.ZipFile, tree: Path, rel: str, info: os.stat_result) -> None:
    entry = zipfile.ZipInfo(rel, date_time=_zip_time(info.st_mtime))
    entry.create_system = UNIX
    entry.external_attr = (info.st_mode & 0xFFFF) << 16
    if stat.S_ISDIR(info.st_mode):
        entry.filename = rel + "/"
        entry.external_attr |= _DOS_DIRECTORY
        archive.writestr(entry, b"")
    elif stat.S_ISLNK(info.st_mode):
        # As gitlab-runner: the entry's data is the link target, stored uncompressed.
        target = os.fsencode((tree / rel).readlink())
        archive.writestr(entry, target, compress_type=zipfile.ZIP_STORED)
    elif stat.S_ISREG(info.st_mode):
        fd = _open_regular(tree / rel)
        if fd is None:  # replaced since it was listed
            return
        try:
            entry.compress_type = zipfile.ZIP_DEFLATED
            entry.file_size = os.fstat(fd).st_size  # lets zipfile pick zip64 for big files
            with archive.open(entry, "w") as out:
                for chunk in _chunks(fd):
                    out.write(chunk)
        finally:
            os.close(fd)
    # FIFOs, sockets and devices are not artifacts; gitlab-runner skips them too.


def build_zip(
    tree: Path, patterns: Sequence[str], exclude: Sequence[str], dest: Path, *,
    untracked: Sequence[str] | None = None,
) -> list[str]:
    """Zip what ``patterns`` (and ``untracked``, relative paths) select from ``tree`` into ``dest``.

    Returns the patterns that matched nothing, for a warning line. When
    nothing at all is selected no file is written: check ``dest.exists()``.
    """
    chosen, unmatched = _select(tree, patterns, exclude, untracked)
    if chosen:
        def fill(handle: BinaryIO) -> None:
            with zipfile.ZipFile(handle, "w", zipfile.ZIP_DEFLATED) as archive:
                for rel, info in chosen.items():
                    _zip_entry(archive, tree, rel, info)

        _write_atomically(dest, fill)
    return unmatched


def _regular_files(chosen: dict[str, os.stat_result]) -> list[str]:
    return [rel for rel, info in chosen.items() if stat.S_ISREG(info.st_mode)]


def _gzip_member(handle: BinaryIO, fd: int, rel: str, mtime: float) -> None:
    """One gzip member: base name as FNAME, relative path as FCOMMENT (as gitlab-runner)."""
    name = os.fsencode(rel.rsplit("/", 1)[-1])
    header = (b"\x1f\x8b\x08\x18" + (int(mtime) & 0xFFFFFFFF).to_bytes(4, "little")
              + b"\x00\x03" + name + b"\x00" + os.fsencode(rel) + b"\x00")
    handle.write(header)
    deflate = zlib.compressobj(6, zlib.DEFLATED, -zlib.MAX_WBITS)
    crc = size = 0
    for chunk in _chunks(fd):
        crc = zlib.crc32(chunk, crc)
        size += len(chunk)
        handle.write(deflate.compress(chunk))
    handle.write(deflate.flush())
    handle.write(crc.to_bytes(4, "little") + (size & 0xFFFFFFFF).to_bytes(4, "little"))


def build_gzip(
    tree: Path, patterns: Sequence[str], exclude: Sequence[str], dest: Path,
) -> list[str]:
    """GitLab's ``gzip`` artifact format: one gzip member per selected regular file, concatenated.

    Used for reports (junit and the like). Symlinks and other non-regular
    files are left out (gitlab-runner refuses them). Returns the unmatched
    patterns; no file is written when no regular file is selected.
    """
    chosen, unmatched = _select(tree, patterns, exclude)
    files = _regular_files(chosen)
    if files:
        def fill(handle: BinaryIO) -> None:
            for rel in files:
                fd = _open_regular(tree / rel)
                if fd is None:
                    continue
                try:
                    _gzip_member(handle, fd, rel, chosen[rel].st_mtime)
                finally:
                    os.close(fd)

        _write_atomically(dest, fill)
    return unmatched


def build_raw(
    tree: Path, patterns: Sequence[str], exclude: Sequence[str], dest: Path,
) -> list[str]:
    """GitLab's ``raw`` artifact format: the one selected regular file, copied as is.

    More than one selected file is the job's configuration error. Returns the
    unmatched patterns; no file is written when nothing is selected.
    """
    chosen, unmatched = _select(tree, patterns, exclude)
    files = _regular_files(chosen)
    if len(files) > 1:
        listed = ", ".join(files[:5]) + (", ..." if len(files) > 5 else "")
        raise ArchiveError(
            f"A raw artifact must be exactly one file, but its paths select {len(files)}: "
            f"{listed}. Narrow the paths (or use another artifact format)."
        )
    if files:
        fd = _open_regular(tree / files[0])
        if fd is not None:
            try:
                _write_atomically(dest, lambda handle: _copy_fd(fd, handle))
            finally:
                os.close(fd)
    return unmatched


def _copy_fd(fd: int, handle: BinaryIO) -> None:
    for chunk in _chunks(fd):
        handle.write(chunk)
