"""Where a run keeps things: ``.runner/`` in the project, caches under the user's cache dir."""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from runner.execute.runs import run_dir
from runner.pipeline.model import container_project_dir


def tenant_key(root: Path) -> str:
    """Caches are keyed per project so one project can never poison another's."""
    return hashlib.sha256(str(root.resolve()).encode()).hexdigest()[:16]


_SAFE = re.compile(r"[A-Za-z0-9_.-]{1,80}")
_HASHED = re.compile(r".*-[0-9a-f]{8}")
"""What a changed name ends with; a name that already looks like it must change too."""


def safe_name(name: str) -> str:
    """``name`` as one file-name (and container-name) component, never the same for two names.

    GitLab job names hold spaces, ``:``, ``/`` and brackets, and cache keys
    come from variables. A name that is already safe stays as it is, so logs
    keep their obvious names; any other name is cleaned up and gets ``-`` and
    8 hex digits of its sha256. Unchanged names never end that way (names
    that do are changed too), so an unchanged name never meets a changed one,
    and ``.``/``..`` can never become a path step.
    """
    if _SAFE.fullmatch(name) and name not in (".", "..") and not _HASHED.fullmatch(name):
        return name
    digest = hashlib.sha256(name.encode("utf-8", "surrogateescape")).hexdigest()[:8]
    return re.sub(r"[^A-Za-z0-9_.-]", "_", name)[:80] + "-" + digest


def clashing_names(names: Iterable[str]) -> list[tuple[str, str]]:
    """Pairs of distinct names that would share files (a sha256 prefix collision).

    Never expected in practice; the run checks it anyway, since sharing a log
    or an artifacts directory would mix two jobs' results silently.
    """
    seen: dict[str, str] = {}
    clashes: list[tuple[str, str]] = []
    for name in names:
        other = seen.setdefault(safe_name(name), name)
        if other != name:
            clashes.append((other, name))
    return clashes


@dataclass(frozen=True)
class RunLayout:
    """Paths of one run. Logs and artifacts of the latest run stay for the user."""

    root: Path
    run_id: str
    cache_root: Path
    state: Path
    """Runs' logs, artifacts, result.json and per-run scratch; ``ROOT/.runner`` by default."""
    tenant_id: str | None = None
    """Overrides the tenant derived from ``root`` (the agent's project id)."""
    project_path: str | None = None
    """Overrides the project dir derived from ``root``."""

    @property
    def work(self) -> Path:
        """Per-run scratch: job workspaces and control dirs; removed when the run ends."""
        return self.state / "work" / self.run_id

    @property
    def run_dir(self) -> Path:
        """This run's logs and result.json, kept after it (the last few runs' are)."""
        return run_dir(self.state, self.run_id)

    def log(self, job: str) -> Path:
        return self.run_dir / f"{safe_name(job)}.log"

    def artifacts(self, job: str) -> Path:
        return self.state / "artifacts" / safe_name(job)

    def dotenv(self, job: str) -> Path:
        """The job's dotenv reports, kept apart: GitLab does not put them in workspaces."""
        return self.state / "dotenv" / safe_name(job)

    def job_work(self, job: str, attempt: int) -> Path:
        return self.work / f"{safe_name(job)}.{attempt}"

    def cache(self, key: str) -> Path:
        """A cache's directory; whatever the key, it stays inside the project's cache dir."""
        return self.cache_root / self.tenant() / safe_name(key)

    def tenant(self) -> str:
        """This project's tenant key (caches and build stores are kept per tenant)."""
        if self.tenant_id is not None:
            return safe_name(self.tenant_id)
        return tenant_key(self.root)

    def container_name(self, job: str, attempt: int) -> str:
        return f"runner-{self.run_id}-{safe_name(job)}-{attempt}"

    def project_dir(self) -> str:
        """The job's project directory inside its container, as GitLab lays it out."""
        return self.project_path or container_project_dir(self.root)
