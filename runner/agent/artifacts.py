"""Artifacts between GitLab and a job: dependencies' archives in, this job's archives out.

In: each dependency that has artifacts is downloaded with *its own* token
and unpacked (safely: no path escapes, no symlink tricks, bounded size)
into a tree the executor lays into the workspace before the job starts.

Out: the executor has already copied every path any artifacts element
names out of the finished workspace. Each element (the archive, each
report) is then packed from that tree with its own paths, excludes and
format, and uploaded if its ``when`` matches how the job ended.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Sequence
from pathlib import Path

import structlog

from runner.agent import archives, unzip
from runner.coordinator.base import JobChannel, Upload
from runner.coordinator.gitlab.payload import ArtifactSpec, Dependency
from runner.errors import CoordinatorError, RunnerError
from runner.execute.layout import safe_name
from runner.execute.results import JobStatus

log = structlog.get_logger(__name__)

Say = Callable[[str], None]

_WHENS = {
    JobStatus.SUCCESS: {"on_success", "always"},
    JobStatus.FAILED: {"on_failure", "always"},
    JobStatus.TIMED_OUT: {"on_failure", "always"},
    JobStatus.CANCELED: {"on_failure", "always"},
}
"""Which ``when`` values are uploaded after each outcome. A canceled job's are a failed job's:
gitlab-runner stops only the script on a graceful cancel and then uploads as for a failure
(the caller uploads nothing after a kill)."""
_EXTENSIONS = {"zip": ".zip", "gzip": ".gz", "raw": ""}


async def download_dependencies(channel: JobChannel, dependencies: Sequence[Dependency],
                                dest: Path, say: Say, *, max_bytes: int) -> list[Path]:
    """Download and unpack each dependency's artifacts; the trees, in dependency order.

    A dependency GitLab lists without an artifacts file is skipped, as
    gitlab-runner does. A failed download fails the job (GitLab's
    ``missing_dependency_failure`` is the server's to decide; we report
    a system failure so the job can be retried).
    """
    trees: list[Path] = []
    for index, dep in enumerate(dependencies):
        if dep.artifacts_filename is None:
            continue
        archive = dest / f"{index}.zip"
        tree = dest / f"{index}-{safe_name(dep.name)}"
        say(f"Downloading artifacts for {dep.name} ({dep.id})...")
        if not await channel.download(dep.id, dep.token, archive):
            say(f"WARNING: {dep.name} ({dep.id}) has no artifacts any more; skipped")
            continue
        tree.mkdir(mode=0o700)
        for warning in unzip.extract_zip(archive, tree, max_bytes=max_bytes):
            say(f"WARNING: {warning}")
        archive.unlink()
        trees.append(tree)
    return trees


async def upload_artifacts(channel: JobChannel, elements: Sequence[ArtifactSpec], tree: Path,
                           status: JobStatus, *, scratch: Path, say: Say) -> None:
    """Pack and upload every element whose ``when`` matches ``status``."""
    wanted = _WHENS.get(status, set())
    for index, element in enumerate(elements):
        if element.when not in wanted:
            continue
        name = element.name or "artifacts"
        kind = f"{element.artifact_type} ({name})" if element.artifact_type != "archive" else name
        built = _pack(element, tree, scratch / str(index), say)
        if built is None:
            say(f"WARNING: {kind}: no matching files; nothing uploaded")
            continue
        path, filename = built
        say(f"Uploading {kind} as {element.artifact_format} ({path.stat().st_size} bytes)...")
        try:
            await channel.upload(Upload(path, filename, element.artifact_type,
                                        element.artifact_format, element.expire_in))
        except CoordinatorError as exc:
            say(f"ERROR: uploading {kind} failed: {exc}")
            raise
        finally:
            with contextlib.suppress(FileNotFoundError):
                path.unlink()
        say(f"Uploaded {kind}")


def _pack(element: ArtifactSpec, tree: Path, work: Path, say: Say) -> tuple[Path, str] | None:
    """The element's archive file and upload name, or None when it matched nothing."""
    work.mkdir(mode=0o700, parents=True, exist_ok=True)
    patterns = list(element.paths) + (["**"] if element.untracked else [])
    fmt = element.artifact_format
    base = element.name or ("artifacts" if element.artifact_type == "archive"
                            else element.artifact_type)
    filename = base + _EXTENSIONS.get(fmt, "")
    dest = work / (safe_name(filename) or "artifact")
    if not tree.is_dir():
        return None
    try:
        if fmt == "zip":
            unmatched = archives.build_zip(tree, patterns, element.exclude, dest)
        elif fmt == "gzip":
            unmatched = archives.build_gzip(tree, patterns, element.exclude, dest)
        elif fmt == "raw":
            unmatched = archives.build_raw(tree, patterns, element.exclude, dest)
            filename = Path(patterns[0]).name if patterns else filename
        else:
            say(f"WARNING: artifact format {fmt!r} is not supported; {base} not uploaded")
            return None
    except RunnerError as exc:
        say(f"WARNING: {base}: {exc}")
        return None
    for pattern in unmatched:
        if pattern != "**":
            say(f"WARNING: {pattern}: no matching files")
    if not dest.exists():
        return None
    return dest, filename
