"""Artifact archives in GitLab's formats, built from a tree and extracted without trusting them.

Building: the executor has already copied a job's artifacts out of its
workspace into a tree we own; here the ``artifacts:paths`` globs (the
semantics of ``runner.engine.globs``) pick from that tree and the entries go
into a zip (the ``archive`` artifact), a multi-member gzip (reports such as
junit) or a raw copy. Symlinks are stored as symlinks and never followed, so
an artifact can only ever contain what is inside the tree.

Extracting: a dependency's archive comes from the network and was made by
another job, so every entry is treated as hostile. Paths that are absolute or
climb with ``..`` are skipped; directories are opened one component at a time
with ``O_NOFOLLOW``, so nothing is ever written through a symlink, whether the
archive made it a moment ago or it was in the destination already; symlinks
are created last and only when their target stays inside the destination;
and the bytes actually written are counted against ``max_bytes``, whatever the
headers claim.
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
_UNIX = 3


class ArchiveError(RunnerError):
    """An artifact archive cannot be built or extracted: the job's artifacts are at fault."""

    fault = Fault.JOB


# --- selecting ----------------------------------------------------------------


def _safe_parts(name: str) -> list[str] | None:
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
        parts = _safe_parts(rel)
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
    entry.create_system = _UNIX
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


# --- extracting ---------------------------------------------------------------


class _Skip(Exception):
    """This entry is left out; the message says why."""


def _entry_mode(info: zipfile.ZipInfo) -> int:
    """The entry's Unix mode (type and permissions), guessed when the zip has none."""
    mode = info.external_attr >> 16 if info.create_system == _UNIX else 0
    if info.is_dir():
        return stat.S_IFDIR | (stat.S_IMODE(mode) or 0o755)
    if stat.S_IFMT(mode) == 0:
        return stat.S_IFREG | (stat.S_IMODE(mode) or 0o644)
    return mode


def _link_target_ok(parts: list[str], target: str) -> bool:
    """Whether a link at ``parts`` pointing to ``target`` resolves inside the destination.

    The link's own directory is a real directory chain (extraction never
    passes through a symlink), so leading ``..`` climb it predictably; a
    ``..`` after a normal component could climb out of another symlink's
    target instead, so such targets are refused outright.
    """
    if not target or target.startswith("/") or "\0" in target:
        return False
    depth = len(parts) - 1
    descended = False
    for part in target.split("/"):
        if part in ("", "."):
            continue
        if part == "..":
            if descended or depth == 0:
                return False
            depth -= 1
        else:
            descended = True
    return True


class _Extractor:
    """One extraction into ``root_fd``: the byte budget and the warnings so far."""

    def __init__(self, archive: zipfile.ZipFile, root_fd: int, max_bytes: int) -> None:
        self.archive = archive
        self.root_fd = root_fd
        self.left = max_bytes
        self.max_bytes = max_bytes
        self.warnings: list[str] = []
        self.skipped = 0

    def skip(self, name: str, why: str) -> None:
        self.skipped += 1
        if len(self.warnings) < MAX_WARNINGS:
            self.warnings.append(f"Skipped artifact entry '{name}': {why}.")

    def parent(self, parts: list[str], mode: int = 0o755) -> int:
        """A descriptor of the directory that holds ``parts``, creating missing ones."""
        fd = os.dup(self.root_fd)
        for part in parts[:-1]:
            fd = self._descend(fd, part, mode)
        return fd

    def _descend(self, fd: int, part: str, mode: int) -> int:
        """Open (or make) directory ``part`` in ``fd``, never through a symlink; closes ``fd``."""
        flags = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC
        try:
            try:
                child = os.open(part, flags, dir_fd=fd)
            except FileNotFoundError:
                with contextlib.suppress(FileExistsError):
                    os.mkdir(part, (mode & 0o777) | 0o700, dir_fd=fd)
                child = os.open(part, flags, dir_fd=fd)
        except OSError as error:
            if error.errno in (errno.ELOOP, errno.ENOTDIR):
                raise _Skip(
                    f"'{part}' on its path is a symlink or a file, not a directory"
                ) from None
            raise
        finally:
            os.close(fd)
        return child

    def directory(self, info: zipfile.ZipInfo, parts: list[str]) -> None:
        os.close(self._descend(self.parent(parts), parts[-1], _entry_mode(info)))

    def _clear(self, fd: int, name: str) -> None:
        """Remove what is at ``name`` so a new entry can take its place; never a directory."""
        try:
            present = os.stat(name, dir_fd=fd, follow_symlinks=False)
        except FileNotFoundError:
            return
        if stat.S_ISDIR(present.st_mode):
            raise _Skip("a directory of that name is already there")
        os.unlink(name, dir_fd=fd)

    def file(self, info: zipfile.ZipInfo, parts: list[str]) -> None:
        fd = self.parent(parts)
        try:
            self._clear(fd, parts[-1])
            flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC
            out = os.open(parts[-1], flags, 0o600, dir_fd=fd)
            try:
                self._copy(info, out)
                os.fchmod(out, stat.S_IMODE(_entry_mode(info)) & 0o777)
                with contextlib.suppress(ValueError, OverflowError):  # a nonsense date
                    stamp = time.mktime((*info.date_time, 0, 0, -1))
                    os.utime(out, (stamp, stamp))
            except BaseException:
                os.unlink(parts[-1], dir_fd=fd)
                raise
            finally:
                os.close(out)
        finally:
            os.close(fd)

    def _copy(self, info: zipfile.ZipInfo, out: int) -> None:
        with self.archive.open(info) as data:
            while chunk := data.read(CHUNK):
                self._spend(info, len(chunk))
                view = memoryview(chunk)
                while view:
                    view = view[os.write(out, view) :]

    def _spend(self, info: zipfile.ZipInfo, size: int) -> None:
        """Count ``size`` more bytes against the budget, before they are written."""
        if size > self.left:
            raise ArchiveError(
                f"The artifacts archive unpacks to more than {self.max_bytes} bytes "
                f"(stopped at '{info.filename}'); it is refused as a possible zip bomb."
            )
        self.left -= size

    def symlink(self, info: zipfile.ZipInfo, parts: list[str]) -> None:
        with self.archive.open(info) as data:
            raw = data.read(MAX_LINK_TARGET + 1)
        if len(raw) > MAX_LINK_TARGET:
            raise _Skip("its symlink target is too long")
        self._spend(info, len(raw))
        target = os.fsdecode(raw)
        if not _link_target_ok(parts, target):
            raise _Skip(f"its symlink target '{target}' points outside the artifacts")
        fd = self.parent(parts)
        try:
            self._clear(fd, parts[-1])
            os.symlink(target, parts[-1], dir_fd=fd)
        finally:
            os.close(fd)

    def entry(self, info: zipfile.ZipInfo) -> None:
        parts = _safe_parts(info.filename)
        if parts is None:
            raise _Skip("its path is absolute or leaves the extraction directory")
        mode = _entry_mode(info)
        if stat.S_ISDIR(mode):
            self.directory(info, parts)
        elif stat.S_ISLNK(mode):
            self.symlink(info, parts)
        elif stat.S_ISREG(mode):
            self.file(info, parts)
        else:
            raise _Skip("it is not a file, directory or symlink")


def _claimed_size(infos: Sequence[zipfile.ZipInfo]) -> int:
    """What the headers say the archive unpacks to (checked early, but never trusted)."""
    return sum(info.file_size for info in infos)


def extract_zip(archive: Path, dest: Path, *, max_bytes: int) -> list[str]:
    """Unpack a downloaded artifacts zip into ``dest``; returns warnings for skipped entries.

    Raises ``ArchiveError`` for a corrupt archive or one that unpacks to more
    than ``max_bytes``; what was extracted until then stays, the offending
    file does not. Permissions are kept without setuid, setgid or sticky bits.
    """
    try:
        zipped = zipfile.ZipFile(archive)
    except (zipfile.BadZipFile, zipfile.LargeZipFile, ValueError, EOFError) as error:
        raise ArchiveError(f"The artifacts archive {archive.name} is not a valid zip: {error}.") \
            from error
    with zipped:
        infos = zipped.infolist()
        claimed = _claimed_size(infos)
        if claimed > max_bytes:
            raise ArchiveError(
                f"The artifacts archive {archive.name} unpacks to {claimed} bytes, more than "
                f"the {max_bytes} allowed."
            )
        dest.mkdir(parents=True, exist_ok=True)
        root_fd = os.open(dest, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
        try:
            extractor = _Extractor(zipped, root_fd, max_bytes)
            # Links last: no file entry can meet a link the archive itself made.
            ordered = sorted(infos, key=lambda info: stat.S_ISLNK(_entry_mode(info)))
            for info in ordered:
                try:
                    extractor.entry(info)
                except _Skip as skip:
                    extractor.skip(info.filename, str(skip))
                except OSError as error:
                    if error.errno != errno.ENAMETOOLONG:
                        raise
                    extractor.skip(info.filename, "its name is too long for this file system")
                except (zipfile.BadZipFile, zlib.error, EOFError, NotImplementedError,
                        RuntimeError) as error:
                    raise ArchiveError(
                        f"The artifacts archive {archive.name} is corrupt at "
                        f"'{info.filename}': {error}."
                    ) from error
        finally:
            os.close(root_fd)
    warnings = extractor.warnings
    if extractor.skipped > len(warnings):
        warnings.append(f"... and {extractor.skipped - len(warnings)} more entries were skipped.")
    return warnings
