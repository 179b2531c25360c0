"""actions/runner's dirs, shared with a job whose root is an id of its own slice.

Root of a hook job's containers is the first id of the job's uid slice: the
runner user is not mapped in at all, so to the job the user's files are
"other" ones. Each mount the runner asks for gets one of three treatments:

- **handed** (the workspace, ``HOME`` = ``_github_home``, the tool cache, any
  other writable mount): ``hookown`` re-owns the tree to the slice's root
  before the job starts, once per job. Only the job writes there while it runs.
- **shared** (``_temp``): actions/runner writes each step's script there and
  the hook's response files, while the job writes its own temp files. It stays
  the user's, mode 1777: the job may add entries but, with the sticky bit,
  not delete or rename the runner's (``_runner_hook_responses`` among them),
  and the kernel's protected_symlinks rule keeps the user from following a
  link the job planted there. Before each step the runner-owned files that
  step needs are opened to "other" by mode (``open_step_files``): the script
  readable, the ``GITHUB_ENV``/``GITHUB_OUTPUT``/... files read-write, so what
  the step writes into them stays the user's, for the runner to read.
- **read** (``_work`` itself, ``_actions``, ``_github_workflow``, read-only
  mounts): the runner's own, readable by mode as it wrote them; a file the
  user keeps 0600 there stays unreadable to the job.

Once the job's containers are gone, ``take_back`` re-owns every handed and
shared tree to the user, so actions/runner reads and deletes ``_work`` as
after a Docker job. What was handed is recorded in the job's private dir
first (``dirs.json``), so a hook killed half-way, a sweep by the next
``prepare_job`` or ``runner prune`` give back the same trees.
"""

from __future__ import annotations

import json
import os
import posixpath
import stat
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from runner.engine import hookrun
from runner.engine.hookargv import Bind

READ_TARGETS = frozenset({"/__w", "/__w/_actions", "/github/workflow"})
SHARED_TARGETS = frozenset({"/__w/_temp", "/github/runner_temp"})
RUNNER_WORK_DIRS = frozenset({"_PipelineMapping", "_actions", "_temp", "_tool", ".", ".."})
"""actions/runner's own dirs in ``_work``, beside the repositories' dirs."""
FILE_COMMANDS_TARGET = "/github/file_commands"
"""A container action's view of ``_temp/_runner_file_commands`` (its files are opened per
step, the dir stays the user's)."""
FILE_COMMANDS = ("GITHUB_ENV", "GITHUB_OUTPUT", "GITHUB_PATH", "GITHUB_STATE",
                 "GITHUB_STEP_SUMMARY")
SHARED_MODE = 0o1777
RECORD = "dirs.json"


@dataclass(frozen=True)
class JobDirs:
    """How one container's mounts are shared with the job's slice (host paths)."""

    mounts: tuple[tuple[str, str], ...]
    """(host source, container target) of every bind, to find a step's files."""
    handed: tuple[str, ...]
    shared: tuple[str, ...]


def plan(binds: Sequence[Bind], workdir: str | None = None) -> JobDirs:
    """Sort ``binds`` into handed, shared and read dirs.

    The job container's ``workdir`` is ``github.workspace``, ``/__w/REPO/REPO``:
    its ``/__w/REPO`` (``runner.workspace``, where CMake's starter workflow
    builds) is handed too, unless it is one of the runner's own dirs or below
    another mount.
    """
    mounts = tuple((b.source, posixpath.normpath(b.target)) for b in binds)
    handed: list[str] = []
    shared: list[str] = []
    for bind in binds:
        target = posixpath.normpath(bind.target)
        if bind.read_only or target in READ_TARGETS or target == FILE_COMMANDS_TARGET:
            continue
        (shared if target in SHARED_TARGETS else handed).append(bind.source)
    if workdir is not None and _mount_of(mounts, workdir) is not None:
        top = posixpath.normpath(workdir).split("/")[1:3]
        if top[:1] == ["__w"] and len(top) == 2 and top[1] not in RUNNER_WORK_DIRS:
            found = host_path(mounts, f"/__w/{top[1]}")
            inside = _mount_of(mounts, f"/__w/{top[1]}")
            if found is not None and inside is not None and inside[1] == "/__w":
                handed.append(str(found))
    return JobDirs(mounts=mounts, handed=tuple(dict.fromkeys(handed)),
                   shared=tuple(dict.fromkeys(shared)))


def _mount_of(mounts: Iterable[tuple[str, str]], path: str) -> tuple[str, str] | None:
    """The mount a container path is in: the one with the longest target (docker's rule)."""
    path = posixpath.normpath(path)
    best: tuple[str, str] | None = None
    for source, target in mounts:
        if (path == target or path.startswith(target.rstrip("/") + "/")) and \
                (best is None or len(target) > len(best[1])):
            best = (source, target)
    return best


def host_path(mounts: Iterable[tuple[str, str]], path: str) -> Path | None:
    """Where container path ``path`` is on the host; None outside every mount (or with ``..``)."""
    if not path.startswith("/") or ".." in path.split("/"):
        return None
    found = _mount_of(mounts, path)
    if found is None:
        return None
    rest = posixpath.relpath(posixpath.normpath(path), found[1])
    return Path(found[0]) if rest == "." else Path(found[0]) / rest


def load(job_path: Path) -> dict[str, object]:
    try:
        doc = json.loads((job_path / RECORD).read_text())
    except (OSError, ValueError):
        return {}
    return doc if isinstance(doc, dict) else {}


def _strings(doc: Mapping[str, object], key: str) -> list[str]:
    value = doc.get(key)
    return [v for v in value if isinstance(v, str)] if isinstance(value, list) else []


def _mounts(doc: Mapping[str, object]) -> list[tuple[str, str]]:
    value = doc.get("mounts")
    return [(str(m[0]), str(m[1])) for m in value if isinstance(m, list) and len(m) == 2] \
        if isinstance(value, list) else []


def _record(job_path: Path, dirs: JobDirs, uid: int) -> None:
    """Add ``dirs`` to the job's record (written whole, then renamed: never half a file)."""
    doc = load(job_path)
    modes = doc.get("modes") if isinstance(doc.get("modes"), dict) else {}
    assert isinstance(modes, dict)
    for path in dirs.shared:
        if path not in modes:
            try:
                modes[path] = stat.S_IMODE(os.lstat(path).st_mode)
            except OSError:
                continue
    mounts = dict.fromkeys([*_mounts(doc), *dirs.mounts])
    new = {"uid": uid, "mounts": [list(m) for m in mounts],
           "handed": list(dict.fromkeys([*_strings(doc, "handed"), *dirs.handed])),
           "shared": list(dict.fromkeys([*_strings(doc, "shared"), *dirs.shared])),
           "modes": modes}
    scratch = job_path / f"{RECORD}.new"
    scratch.unlink(missing_ok=True)
    fd = os.open(scratch, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as out:
        out.write(json.dumps(new) + "\n")
    scratch.replace(job_path / RECORD)


def record_slice(job_path: Path, uid: int) -> None:
    """Note the job's slice (a job of services only hands dirs at its container steps)."""
    _record(job_path, JobDirs((), (), ()), uid)


def slice_root(job_path: Path) -> int | None:
    uid = load(job_path).get("uid")
    return uid if isinstance(uid, int) and uid > 0 else None


async def hand_over(job_path: Path, dirs: JobDirs, uid: int) -> None:
    """Share ``dirs`` with the slice whose root is ``uid`` (podman's numbering): recorded
    first, then shared dirs made 1777 and handed trees re-owned."""
    already = set(_strings(load(job_path), "handed"))
    _record(job_path, dirs, uid)
    for path in dirs.shared:
        _chmod_own_dir(Path(path), SHARED_MODE)
    await hookrun.own_trees([(path, uid, uid) for path in dirs.handed if path not in already])


async def take_back(job_path: Path) -> None:
    """Give every tree the job was handed or shared back to the user; shared dirs get their
    mode back. The job's containers must be gone (nothing may write there meanwhile)."""
    doc = load(job_path)
    trees = [*_strings(doc, "handed"), *_strings(doc, "shared")]
    if not trees:
        return
    await hookrun.own_trees([(path, 0, 0) for path in trees])
    modes = doc.get("modes")
    for path in _strings(doc, "shared"):
        mode = modes.get(path) if isinstance(modes, dict) else None
        if isinstance(mode, int):
            _chmod_own_dir(Path(path), mode)
    (job_path / RECORD).unlink(missing_ok=True)


def _chmod_own_dir(path: Path, mode: int) -> None:
    """chmod a dir of the user's (never through a link, never someone else's)."""
    try:
        info = os.lstat(path)
    except FileNotFoundError:
        return
    if stat.S_ISDIR(info.st_mode) and info.st_uid == os.getuid() and \
            stat.S_IMODE(info.st_mode) != mode:
        path.chmod(mode, follow_symlinks=False)


def open_step_files(job_path: Path, env: Iterable[tuple[str, str]], args: Iterable[str],
                    mounts: Iterable[tuple[str, str]] | None = None) -> None:
    """Let the job's root use the runner's files of one step, by mode: the script (any
    argument naming a file in a shared dir) readable, file-command files read-write.

    Only regular files of the user's, opened without following a link, are touched.
    """
    doc = load(job_path)
    known = _mounts(doc) if mounts is None else list(mounts)
    shared = [Path(p) for p in _strings(doc, "shared")]
    commands = [(s, t) for s, t in known if t == FILE_COMMANDS_TARGET]
    for name, value in env:
        if name in FILE_COMMANDS:
            path = host_path(known, value)
            if path is not None and (_below(path, shared) or _below(path, [
                    Path(s) for s, _ in commands])):
                _add_mode(path, 0o666)
    for arg in args:
        path = host_path(known, arg.strip("\"'"))
        if path is not None and _below(path, shared):
            _add_mode(path, 0o444)


def _below(path: Path, tops: Iterable[Path]) -> bool:
    return any(top in path.parents for top in tops)


def _add_mode(path: Path, bits: int) -> None:
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC)
    except OSError:
        return  # gone, a link, or not ours to read: the step will say what it misses
    try:
        info = os.fstat(fd)
        if stat.S_ISREG(info.st_mode) and info.st_uid == os.getuid() and \
                stat.S_IMODE(info.st_mode) & bits != bits:
            os.fchmod(fd, stat.S_IMODE(info.st_mode) | bits)
    finally:
        os.close(fd)
