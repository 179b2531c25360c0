"""The built-in actions of stepped jobs: artifacts by name, caches by key, checkout.

GitHub's ``actions/upload-artifact``, ``download-artifact`` and ``cache`` talk
to GitHub's services; here the stores are runner's own, on the host, so the
executor carries them out itself between two steps, while the job's container
runs: files move through the namespace helper beneath ``/proc/<pid>/root`` of
the container (``engine.nsfiles``), never through a path the job could bend.

Artifacts live with the run (``<run dir>/artifacts/<name>``) as v4 keeps them
per workflow run; caches live per project (tenant) under ``@github`` in the
cache root, one immutable entry per key, restore keys matched as prefixes,
newest first, as GitHub's cache service does.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import posixpath
import shlex
import shutil
import time
from dataclasses import dataclass
from pathlib import Path

from runner.engine.namespace import NamespaceHelper
from runner.execute.layout import RunLayout, safe_name
from runner.logs.joblog import JobLog
from runner.pipeline.steps import (
    Checkout,
    DownloadArtifact,
    RestoreCache,
    RunScript,
    SaveCache,
    StepEnd,
    StepStatus,
    UploadArtifact,
)

_GLOB = set("*?[{")
_BAD_NAME = set('":<>|*?\r\n\\/')


@dataclass(frozen=True)
class Where:
    """The running job as the built-ins reach it."""

    helper: NamespaceHelper
    pid: int
    uid: int
    gid: int
    workspace: str
    """The project dir inside the container."""
    home: str
    """``~`` in a path (the step's ``HOME``)."""
    layout: RunLayout
    joblog: JobLog
    budget: int
    """Bytes one upload or cache save may copy."""


def _absolute(where: Where, path: str) -> str:
    """A path as actions/toolkit resolves it: ``~`` is home, relative is in the workspace."""
    path = path.strip()
    if path == "~" or path.startswith("~/"):
        path = where.home + path[1:]
    elif not path.startswith("/"):
        path = posixpath.join(where.workspace, path)
    return posixpath.normpath(path)


def _search_root(pattern: str) -> str:
    """The directory part of an absolute pattern before its first glob component."""
    parts = pattern.split("/")
    for index, part in enumerate(parts):
        if _GLOB & set(part):
            return "/".join(parts[:index]) or "/"
    return pattern


def _common(paths: list[str]) -> str:
    return posixpath.commonpath(paths) if paths else "/"


def _relative(pattern: str, base: str) -> str | None:
    """``pattern`` as a glob below ``base`` (everything for ``base`` itself); None outside."""
    if pattern == base:
        return "**"
    prefix = base.rstrip("/") + "/"
    return pattern[len(prefix):] if pattern.startswith(prefix) else None


def _failed(note: str) -> StepEnd:
    return StepEnd(StepStatus.FAILURE, note=note)


async def upload(where: Where, action: UploadArtifact) -> StepEnd:
    """``actions/upload-artifact@v4``: the files under their least common ancestor dir."""
    if not action.name or _BAD_NAME & set(action.name):
        return _failed(f"The artifact name is not valid: {action.name!r}. It cannot contain "
                       "any of: \" : < > | * ? \\r \\n \\ /")
    target = where.layout.run_dir / "artifacts" / safe_name(action.name)
    if target.exists() and not action.overwrite:
        return _failed(f"an artifact named {action.name!r} already exists in this run "
                       "(set overwrite: true to replace it)")
    includes = [_absolute(where, p) for p in action.paths if p.strip() and not p.strip()
                .startswith("!")]
    excludes = [_absolute(where, p.strip()[1:]) for p in action.paths if p.strip()
                .startswith("!")]
    base = _common([_search_root(p) for p in includes])
    staging = target.with_name(f".{target.name}.partial-{os.getpid()}")
    shutil.rmtree(staging, ignore_errors=True)
    base, files = await where.helper.gather(
        where.pid, base, [r for p in includes if (r := _relative(p, base)) is not None],
        staging, exclude=[r for p in excludes if (r := _relative(p, base)) is not None],
        max_bytes=where.budget, hidden=action.include_hidden)
    if not files:
        shutil.rmtree(staging, ignore_errors=True)
        shown = ", ".join(p.strip() for p in action.paths)
        text = (f"No files were found with the provided path: {shown}. "
                "No artifacts will be uploaded.")
        if action.if_no_files_found == "error":
            return _failed(text)
        if action.if_no_files_found == "warn":
            where.joblog.notice(f"runner: warning: {text}")
        return StepEnd(StepStatus.SUCCESS)
    shutil.rmtree(target, ignore_errors=True)
    staging.rename(target)
    where.joblog.notice(f"runner: artifact {action.name!r}: {len(files)} file(s) from {base}")
    digest = hashlib.sha256("\n".join(files).encode()).hexdigest()
    return StepEnd(StepStatus.SUCCESS, outputs={
        "artifact-id": str(int(time.time() * 1000) % 10**9),
        "artifact-url": str(target),
        "artifact-digest": digest,
    })


def _artifact_names(layout: RunLayout) -> dict[str, Path]:
    top = layout.run_dir / "artifacts"
    if not top.is_dir():
        return {}
    return {entry.name: entry for entry in sorted(top.iterdir())
            if entry.is_dir() and not entry.name.startswith(".")}


async def download(where: Where, action: DownloadArtifact) -> StepEnd:
    """``actions/download-artifact@v4``: one by name, else all (or those matching a pattern)."""
    dest = _absolute(where, action.path or ".")
    stored = _artifact_names(where.layout)
    if action.name is not None:
        found = stored.get(safe_name(action.name))
        if found is None:
            return _failed(f"Unable to download artifact(s): Artifact not found for name: "
                           f"{action.name}")
        await where.helper.put(found, where.pid, dest, where.uid, where.gid)
        return StepEnd(StepStatus.SUCCESS, outputs={"download-path": dest})
    import fnmatch  # noqa: PLC0415 - only patterns need it

    chosen = [(name, path) for name, path in stored.items()
              if action.pattern is None or fnmatch.fnmatchcase(name, action.pattern)]
    for name, path in chosen:
        into = dest if action.merge_multiple else posixpath.join(dest, name)
        await where.helper.put(path, where.pid, into, where.uid, where.gid)
    where.joblog.notice(f"runner: downloaded {len(chosen)} artifact(s) to {dest}")
    return StepEnd(StepStatus.SUCCESS, outputs={"download-path": dest})


def _cache_top(layout: RunLayout) -> Path:
    return layout.cache_root / layout.tenant() / "@github"


def _entry(layout: RunLayout, key: str) -> Path:
    return _cache_top(layout) / hashlib.sha256(key.encode()).hexdigest()[:32]


def _lookup(layout: RunLayout, key: str, restore_keys: tuple[str, ...]) -> tuple[str, Path] | None:
    """The entry for ``key``, else the newest whose key starts with a restore key, in order."""
    exact = _entry(layout, key)
    if (exact / "key").is_file():
        return key, exact
    top = _cache_top(layout)
    entries: list[tuple[float, str, Path]] = []
    if top.is_dir():
        for entry in top.iterdir():
            with contextlib.suppress(OSError):
                entries.append((entry.stat().st_mtime, (entry / "key").read_text("utf-8"),
                                entry))
    entries.sort(reverse=True)
    for prefix in restore_keys:
        for _mtime, stored, entry in entries:
            if stored.startswith(prefix):
                return stored, entry
    return None


async def restore_cache(where: Where, action: RestoreCache) -> StepEnd:
    """``actions/cache`` (restore part): ``cache-hit`` is "true" for the exact key only."""
    found = _lookup(where.layout, action.key, action.restore_keys)
    outputs = {"cache-primary-key": action.key}
    if found is None:
        note = f"Cache not found for input keys: {', '.join((action.key, *action.restore_keys))}"
        if action.fail_on_cache_miss:
            return _failed(f"Failed to restore cache entry. Exiting as fail-on-cache-miss is "
                           f"set. Input key: {action.key}")
        where.joblog.notice(f"runner: {note}")
        return StepEnd(StepStatus.SUCCESS, outputs={**outputs, "cache-hit": "false"})
    stored, entry = found
    if not action.lookup_only:
        await where.helper.put(entry / "data", where.pid, "/", where.uid, where.gid)
    where.joblog.notice(f"runner: Cache restored from key: {stored}")
    return StepEnd(StepStatus.SUCCESS, outputs={
        **outputs, "cache-hit": "true" if stored == action.key else "false",
        "cache-matched-key": stored})


async def save_cache(where: Where, action: SaveCache) -> StepEnd:
    """``actions/cache``'s post step: a new immutable entry, unless the key has one."""
    entry = _entry(where.layout, action.key)
    if (entry / "key").is_file():
        where.joblog.notice(f"runner: Cache hit occurred on the primary key {action.key}, "
                            "not saving cache.")
        return StepEnd(StepStatus.SUCCESS)
    staging = entry.with_name(f".{entry.name}.partial-{os.getpid()}")
    shutil.rmtree(staging, ignore_errors=True)
    total = 0
    for path in action.paths:
        if not path.strip() or path.strip().startswith("!"):
            continue
        pattern = _absolute(where, path)
        base = _search_root(pattern)
        rel = _relative(pattern, base) or "**"
        used = staging / "used"
        shutil.rmtree(used, ignore_errors=True)
        found, files = await where.helper.gather(where.pid, base, [rel], used,
                                                 max_bytes=where.budget)
        if files:
            into = staging / "data" / found.lstrip("/")
            into.parent.mkdir(parents=True, exist_ok=True)
            _merge(used, into)
        total += len(files)
    if not total:
        shutil.rmtree(staging, ignore_errors=True)
        where.joblog.notice("runner: warning: Path Validation Error: Path(s) specified in the "
                            "action for caching do(es) not exist, hence no cache is being saved.")
        return StepEnd(StepStatus.SUCCESS)
    (staging / "key").write_text(action.key, encoding="utf-8")
    entry.parent.mkdir(parents=True, exist_ok=True)
    try:
        staging.rename(entry)
    except OSError:  # another run saved this key first: entries are immutable
        shutil.rmtree(staging, ignore_errors=True)
    where.joblog.notice(f"runner: Cache saved with key: {action.key}")
    return StepEnd(StepStatus.SUCCESS)


def _merge(src: Path, dest: Path) -> None:
    """Move the tree ``src`` (ours) into ``dest``, merging with what is there."""
    if not dest.exists():
        src.rename(dest)
        return
    for entry in src.iterdir():
        target = dest / entry.name
        if entry.is_dir() and not entry.is_symlink() and target.is_dir():
            _merge(entry, target)
        else:
            entry.replace(target)
    shutil.rmtree(src, ignore_errors=True)


async def checkout(where: Where, action: Checkout) -> StepEnd:
    """``actions/checkout`` without ``path``: the workspace already is the project."""
    del action
    where.joblog.notice(f"runner: the project is already in {where.workspace} (checkout)")
    return StepEnd(StepStatus.SUCCESS)


def checkout_into(path: str) -> RunScript:
    """``actions/checkout`` with ``path``: the project moves there, as a clone would put it
    (GitHub's workspace then holds only ``path``). A step of the job's own, in its shell:
    the files are the job's."""
    rel = posixpath.normpath(path.strip("/"))
    if rel.startswith(".."):
        rel = posixpath.basename(rel)
    top = rel.split("/")[0]
    script = (
        f"set -e\nrel={shlex.quote(rel)}; top={shlex.quote(top)}\n"
        "tmp=.runner-checkout-$$; mkdir \"$tmp\"\n"
        "for f in * .[!.]* ..?*; do\n"
        "  [ -e \"$f\" ] || [ -L \"$f\" ] || continue\n"
        "  [ \"$f\" = \"$tmp\" ] || [ \"$f\" = \"$top\" ] || mv -- \"$f\" \"$tmp\"/\n"
        "done\n"
        "mkdir -p -- \"$(dirname -- \"$rel\")\"\n"
        "if [ -e \"$rel\" ]; then cp -a \"$tmp\"/. \"$rel\"/; rm -rf \"$tmp\"; "
        "else mv -- \"$tmp\" \"$rel\"; fi\n"
        "echo \"runner: the project is now in $PWD/$rel (checkout path)\"\n"
    )
    return RunScript(script=script, shell=("sh", "-e", "{0}"))  # noqa: S604 (an argv, no shell)
