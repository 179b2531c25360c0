"""Dotenv reports (GitLab's ``artifacts:reports:dotenv``): variables one job hands to later ones.

GitLab's rules, followed here: one ``KEY=VALUE`` per line, split at the
first ``=``, key and value stripped of surrounding whitespace, quotes kept
as written (no unquoting, no escapes, no ``$`` expansion), the last value of
a repeated key wins. A file may hold at most 5 KiB, and a job's reports at
most 20 variables together (the default limit of a self-managed GitLab);
past either limit GitLab rejects the whole report, and so do we.

Where GitLab is stricter we are lenient but say so: GitLab rejects a file
with blank lines, comments or a malformed line; here such lines are skipped
with a notice in the job log, so the job still runs and the user learns what
GitLab would refuse. Keys must be shell names, since jobs get them through
``export``.
"""

from __future__ import annotations

import errno
import os
import re
import stat
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

MAX_FILE_BYTES = 5 * 1024
MAX_VARIABLES = 20
_KEY = re.compile(r"[A-Za-z_][A-Za-z0-9_]{0,254}")


@dataclass(frozen=True)
class Report:
    """Variables read from a job's dotenv files, and what was wrong with them."""

    variables: tuple[tuple[str, str], ...]
    problems: tuple[str, ...]


def parse_dotenv(data: bytes, name: str) -> Report:
    """The variables in one dotenv file's bytes; ``name`` is for the problem messages.

    Problems name the file and line but never quote the line: a value may be
    something the user would rather not see repeated.
    """
    text = data.decode("utf-8", "replace").removeprefix("\ufeff")
    found: dict[str, str] = {}
    problems: list[str] = []
    skipped = 0
    for number, raw in enumerate(text.splitlines(), start=1):
        line = raw.strip()
        if not line or line.startswith("#"):
            skipped += 1
            continue
        key, sep, value = line.partition("=")
        key = key.strip()
        if not sep or not _KEY.fullmatch(key) or "\0" in value:
            problems.append(f"{name}:{number}: not KEY=VALUE with KEY a shell variable name; "
                            "line ignored (GitLab rejects the whole file)")
            continue
        found[key] = value.strip()  # the last value wins
    if skipped:
        problems.append(f"{name}: {skipped} blank or comment line(s) skipped "
                        "(GitLab rejects dotenv files that have any)")
    return Report(tuple(found.items()), tuple(problems))


def read_reports(folder: Path, files: Sequence[str]) -> Report:
    """Read the dotenv files collected into ``folder`` (paths as the job named them).

    A symlink is never followed (the job made it: it could point anywhere on
    the host) and at most ``MAX_FILE_BYTES + 1`` bytes of a file are read.
    """
    found: dict[str, str] = {}
    problems: list[str] = []
    for rel in files:
        data, problem = _read_bounded(folder, rel)
        if problem:
            problems.append(problem)
            continue
        report = parse_dotenv(data, rel)
        problems += report.problems
        found.update(report.variables)
    if len(found) > MAX_VARIABLES:
        problems.append(f"dotenv reports hold {len(found)} variables, more than the "
                        f"{MAX_VARIABLES} GitLab accepts; none of them are passed on")
        found = {}
    return Report(tuple(found.items()), tuple(problems))


def _open_beneath(folder: Path, rel: str) -> int:
    """Open ``folder/rel`` read-only without following a symlink at any step of ``rel``."""
    fd = os.open(folder, os.O_RDONLY | os.O_DIRECTORY)
    try:
        *parents, last = rel.split("/")
        for part in parents:
            if part in ("", "."):
                continue
            step = os.open(part, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW, dir_fd=fd)
            os.close(fd)
            fd = step
        return os.open(last, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK, dir_fd=fd)
    finally:
        os.close(fd)


class _Unusable(Exception):
    """A dotenv file that cannot be used; the message says why, for the job log."""


def _read_bounded(folder: Path, rel: str) -> tuple[bytes, str]:
    """A collected file's bytes, or a problem; only regular files, only a few KiB."""
    try:
        return _read_file(folder, rel), ""
    except _Unusable as exc:
        return b"", f"{rel}: {exc}"


def _read_file(folder: Path, rel: str) -> bytes:
    if rel.startswith("/") or ".." in rel.split("/"):
        raise _Unusable("dotenv path leaves the project dir; ignored")
    try:
        fd = _open_beneath(folder, rel)
    except FileNotFoundError:
        raise _Unusable("dotenv file not found; no variables from it") from None
    except OSError as exc:
        if exc.errno in (errno.ELOOP, errno.ENOTDIR):
            raise _Unusable("dotenv path goes through a symlink, never followed; ignored") from None
        raise _Unusable(f"dotenv file cannot be read ({exc.strerror}); ignored") from None
    try:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            raise _Unusable("dotenv report is not a regular file; ignored")
        data = b""
        while len(data) <= MAX_FILE_BYTES:
            chunk = os.read(fd, MAX_FILE_BYTES + 1 - len(data))
            if not chunk:
                break
            data += chunk
    finally:
        os.close(fd)
    if len(data) > MAX_FILE_BYTES:
        raise _Unusable(f"dotenv file is larger than {MAX_FILE_BYTES // 1024} KiB, the most "
                        "GitLab accepts; ignored")
    return data
