"""Where a hook job keeps what outlives one call: its private dir, state and response.

Each job gets ``$XDG_RUNTIME_DIR/runner/github-hook/<job>/`` (0700; on a
tmpfs, so step scripts holding secret values never reach a disk). Its
``ctl`` subdir is the job container's ``/.runner``. The ``state`` object of
the response carries the job's name back to every later call; nothing in it
is trusted beyond naming a job dir of ours that exists.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from pathlib import Path

from runner.ghhook.hookinput import HookInputError

_JOB = re.compile(r"gh[0-9a-f]{12}")


def hook_root(environ: Mapping[str, str]) -> Path:
    """The user's hook job dirs (per user, gone at reboot with the containers' leases)."""
    runtime = environ.get("XDG_RUNTIME_DIR")
    base = Path(runtime) if runtime else Path.home() / ".cache"
    return base / "runner" / "github-hook"


def runner_label(environ: Mapping[str, str]) -> str:
    """Which runner install a job is of: its name and its temp dir, hashed.

    The docker hook labels by hex(RUNNER_NAME) alone, but two runners of one
    name (registered with two repositories) may share a VM and its user; a
    ``prepare_job`` of one would then sweep the other's running job.
    """
    install = f"{environ.get('RUNNER_NAME') or 'runner'}\0{environ.get('RUNNER_TEMP') or ''}"
    return hashlib.sha256(install.encode()).hexdigest()[:24]


@dataclass
class JobState:
    """What every later call of one job needs (the response's ``state``)."""

    job: str
    runner: str
    pod: str | None = None
    container: str | None = None
    slot: int | None = None
    volumes: list[str] = field(default_factory=list)
    services: list[str] = field(default_factory=list)

    def to_json(self) -> dict[str, object]:
        return asdict(self)

    @classmethod
    def from_state(cls, state: Mapping[str, object] | None) -> JobState | None:
        """The job a call belongs to; None when the runner sent no state of ours."""
        if not state or not isinstance(state.get("job"), str):
            return None
        job = str(state["job"])
        if not _JOB.fullmatch(job):
            raise HookInputError(f"hook input key 'state.job': {job!r} is no job of this hook")
        volumes = state.get("volumes")
        slot = state.get("slot")
        services = state.get("services")
        return cls(job=job, runner=str(state.get("runner") or ""),
                   pod=f"{job}-pod" if state.get("pod") else None,
                   container=f"{job}-job" if state.get("container") else None,
                   slot=slot if isinstance(slot, int) else None,
                   volumes=[v for v in volumes if isinstance(v, str) and v.startswith(job)]
                   if isinstance(volumes, list) else [],
                   services=[s for s in services if isinstance(s, str) and s.startswith(job)]
                   if isinstance(services, list) else [])


def new_job_name(token: str) -> str:
    """``gh`` and 12 hex digits: a name no tenant string can shape."""
    name = f"gh{token}"
    if not _JOB.fullmatch(name):
        raise ValueError(token)
    return name


def job_dir(root: Path, job: str) -> Path:
    return root / job


def make_job_dir(root: Path, job: str) -> Path:
    """The job's dir (0700) and its ``ctl``, the container's ``/.runner`` (0711).

    Root in the job container is an id of the job's slice, "other" to the
    user: it may pass ``ctl`` and open the FIFOs and step scripts the hook
    makes there for it by name (their modes say which), never list or add
    to it. Nothing else reaches ``ctl``: on the host it lies in the user's
    0700 runtime dir, and only this job's container has it mounted.
    """
    root.mkdir(mode=0o700, parents=True, exist_ok=True)
    path = root / job
    path.mkdir(mode=0o700)
    (path / "ctl").mkdir()
    (path / "ctl").chmod(0o711)
    return path


def remove_job_dir(root: Path, job: str) -> None:
    shutil.rmtree(root / job, ignore_errors=True)


def write_private(path: Path, text: str, mode: int = 0o600) -> None:
    """A new 0600 file (env files, step scripts: they may hold secret values); a step script
    in ``ctl`` is 0604, for the job's root to read."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    if mode != 0o600:
        os.fchmod(fd, mode)
    with os.fdopen(fd, "w") as out:
        out.write(text)


def write_response(path: Path | None, doc: Mapping[str, object]) -> None:
    """Append the response as one JSON line, as hooklib does (the runner made the file)."""
    if path is None:
        return
    with path.open("a") as out:
        out.write(json.dumps(doc) + "\n")
