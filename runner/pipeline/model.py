"""The pipeline model every dialect translates into; the executor sees nothing else.

Values are frozen dataclasses so a parsed pipeline can be shared between
concurrent jobs without anyone changing it under another's feet. Mappings are
stored as tuples of pairs for the same reason (and so models hash and compare).
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from pathlib import Path

DEFAULT_TIMEOUT_S = 3600.0
"""GitLab's default project timeout, one hour; a job without ``timeout`` gets it."""


class When(enum.Enum):
    """When a job runs, judged on the outcome of the jobs upstream of it."""

    ON_SUCCESS = "on_success"
    ON_FAILURE = "on_failure"
    ALWAYS = "always"


@dataclass(frozen=True)
class Spot:
    """Where a definition came from, for messages that point the user at it."""

    file: str
    line: int
    column: int

    def __str__(self) -> str:
        return f"{self.file}:{self.line}:{self.column}"


@dataclass(frozen=True)
class Need:
    """An edge of the DAG: wait for ``job``; take its artifacts if ``artifacts``."""

    job: str
    artifacts: bool = True


@dataclass(frozen=True)
class Artifacts:
    """Paths (globs, ``**`` allowed, relative to the project dir) kept after a job."""

    paths: tuple[str, ...]
    when: When = When.ON_SUCCESS


@dataclass(frozen=True)
class Cache:
    """Paths kept on the host between runs under ``key``, per project (tenant)."""

    key: str
    paths: tuple[str, ...]


@dataclass(frozen=True)
class SecretSource:
    """Where a secret's value comes from: an environment variable or a file.

    Exactly one of ``env`` and ``file`` is set. The value is read when the
    pipeline starts, never at parse time, and is masked in every output.
    """

    name: str
    env: str | None = None
    file: Path | None = None
    spot: Spot | None = None


@dataclass(frozen=True)
class Job:
    """One job: a container from ``image`` running ``script`` in one shell session."""

    name: str
    image: str
    script: tuple[str, ...]
    after_script: tuple[str, ...] = ()
    variables: tuple[tuple[str, str], ...] = ()
    needs: tuple[Need, ...] = ()
    artifacts: Artifacts | None = None
    cache: tuple[Cache, ...] = ()
    timeout_s: float = DEFAULT_TIMEOUT_S
    retry: int = 0
    allow_failure: bool = False
    when: When = When.ON_SUCCESS
    secrets: tuple[str, ...] = ()
    """Names of pipeline secrets this job may see; others never enter its container."""
    spot: Spot | None = None


@dataclass(frozen=True)
class Pipeline:
    """A whole pipeline: jobs in file order, their DAG already resolved into ``needs``.

    ``root`` is the project directory whose snapshot becomes each job's workspace.
    """

    source: Path
    root: Path
    jobs: tuple[Job, ...]
    secrets: tuple[SecretSource, ...] = ()
    dialect: str = "native"
    notes: tuple[str, ...] = field(default=())
    """Things the user should know that are not errors (ignored keys and the like)."""

    def job(self, name: str) -> Job:
        """The job called ``name``; KeyError if there is none."""
        for job in self.jobs:
            if job.name == name:
                return job
        raise KeyError(name)
