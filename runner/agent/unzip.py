"""Extracting a dependency's artifact archive without trusting it.

The archive comes from the network and was made by another job, so every
entry is treated as hostile. Paths that are absolute or climb with ``..`` are
skipped; directories are opened one component at a time with ``O_NOFOLLOW``,
so nothing is ever written through a symlink, whether the archive made it a
moment ago or it was in the destination already; symlinks are created last
and only when their target stays inside the destination; and the bytes
actually written are counted against ``max_bytes``, whatever the headers claim.
"""

from __future__ import annotations

import contextlib
import errno
import os
import stat
import time
import zipfile
import zlib
from collections.abc import Sequence
from pathlib import Path

from runner.agent.archives import (
    CHUNK,
    MAX_LINK_TARGET,
    MAX_WARNINGS,
    UNIX,
    ArchiveError,
    safe_parts,
)


class _Skip(Exception):
    """This entry is left out; the message says why."""


def _entry_mode(info: zipfile.ZipInfo) -> int:
    """The entry's Unix mode (type and permissions), guessed when the zip has none."""
    mode = info.external_attr >> 16 if info.create_system == UNIX else 0
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
        parts = safe_parts(info.filename)
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
