"""Where a run keeps things: ``.runner/`` in the project, caches under the user's cache dir."""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from pathlib import Path

from runner.pipeline.model import container_project_dir


def tenant_key(root: Path) -> str:
    """Caches are keyed per project so one project can never poison another's."""
    return hashlib.sha256(str(root.resolve()).encode()).hexdigest()[:16]


def _safe(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]", "_", name)


@dataclass(frozen=True)
class RunLayout:
    """Paths of one run. Logs and artifacts of the latest run stay for the user."""

    root: Path
    run_id: str
    cache_root: Path
    state: Path
    """Logs, artifacts, result.json and per-run scratch; ``ROOT/.runner`` by default."""

    @property
    def work(self) -> Path:
        """Per-run scratch: job workspaces and control dirs; removed when the run ends."""
        return self.state / "work" / self.run_id

    def log(self, job: str) -> Path:
        return self.state / "logs" / f"{_safe(job)}.log"

    def artifacts(self, job: str) -> Path:
        return self.state / "artifacts" / _safe(job)

    def job_work(self, job: str, attempt: int) -> Path:
        return self.work / f"{_safe(job)}.{attempt}"

    def cache(self, key: str) -> Path:
        return self.cache_root / tenant_key(self.root) / key

    def container_name(self, job: str, attempt: int) -> str:
        return f"runner-{self.run_id}-{_safe(job)}-{attempt}"

    def project_dir(self) -> str:
        """The job's project directory inside its container, as GitLab lays it out."""
        return container_project_dir(self.root)
