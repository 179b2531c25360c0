"""A GitLab job payload as frozen data: what ``payload.parse_payload`` makes of the JSON.

Kept apart from the parser so that the agent and the translation into the
pipeline model (``tomodel``) import the shapes without the JSON reading.
Secrets never reach a ``repr``: the job token, variable values, registry
passwords, dependency tokens and the clone URL (which embeds the job token)
are ``field(repr=False)``.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from runner.errors import Fault, RunnerError


class PayloadError(RunnerError):
    """GitLab sent a job payload of a shape we cannot read; ``path`` is the JSON key path."""

    fault = Fault.COORDINATOR

    def __init__(self, path: str, problem: str) -> None:
        self.path = path
        self.problem = problem
        where = f"'{path}' " if path else ""
        super().__init__(f"job payload: {where}{problem}")


@dataclass(frozen=True)
class GitInfo:
    """Where the job's source comes from (``git_info``)."""

    repo_url: str = field(default="", repr=False)
    """An https URL with ``gitlab-ci-token:<job token>@`` in it: never printed."""
    ref: str = ""
    sha: str = ""
    before_sha: str = ""
    ref_type: str = ""
    """``branch`` or ``tag``."""
    refspecs: tuple[str, ...] = ()
    depth: int = 0
    """Shallow clone depth; 0 is a full clone."""


@dataclass(frozen=True)
class Variable:
    """One entry of ``variables`` (or of a service's); keys may repeat, the last one wins.

    ``raw`` values are not expanded by the runner; ``file`` ones are given to the
    job as a path to a file holding the value; ``masked`` ones are hidden in the log.
    """

    key: str
    value: str = field(default="", repr=False)
    public: bool = False
    masked: bool = False
    file: bool = False
    raw: bool = False


@dataclass(frozen=True)
class ImageSpec:
    """The job's image; ``entrypoint`` None keeps the image's own."""

    name: str
    entrypoint: tuple[str, ...] | None = None


@dataclass(frozen=True)
class ServiceSpec:
    """One of ``services``; ``alias`` is the raw string (several names, comma-separated)."""

    name: str
    alias: str = ""
    entrypoint: tuple[str, ...] | None = None
    command: tuple[str, ...] | None = None
    variables: tuple[Variable, ...] = ()
    ports: tuple[int, ...] = ()


@dataclass(frozen=True)
class ArtifactSpec:
    """One element of ``artifacts``: the archive, or one report; each is uploaded on its own.

    ``paths``, ``exclude`` and ``name`` are as GitLab sent them: the runner
    expands them (see ``tomodel.artifact_elements``).
    """

    name: str = ""
    untracked: bool = False
    paths: tuple[str, ...] = ()
    exclude: tuple[str, ...] = ()
    when: str = "on_success"
    expire_in: str = ""
    artifact_type: str = "archive"
    artifact_format: str = "zip"


@dataclass(frozen=True)
class CacheSpec:
    """One element of ``cache``; key, paths and fallback keys are expanded by the runner."""

    key: str = ""
    untracked: bool = False
    paths: tuple[str, ...] = ()
    policy: str = "pull-push"
    when: str = "on_success"
    fallback_keys: tuple[str, ...] = ()


@dataclass(frozen=True)
class Dependency:
    """A job whose artifacts this one downloads (only when ``artifacts_filename`` is set)."""

    id: int
    name: str = ""
    token: str = field(default="", repr=False)
    """The token to download with (that job's, or this job's own on newer GitLab)."""
    artifacts_filename: str | None = None
    artifacts_size: int | None = None


@dataclass(frozen=True)
class Credential:
    """Registry credentials GitLab hands the runner for pulling images."""

    type: str = ""
    url: str = ""
    username: str = ""
    password: str = field(default="", repr=False)


@dataclass(frozen=True)
class JobPayload:
    """A job as GitLab handed it over; see the module docstring for how nulls read."""

    id: int
    token: str = field(repr=False)
    name: str = ""
    stage: str = ""
    project_id: int | None = None
    project_path: str = ""
    """``job_info.project_full_path``, like ``group/sub/project``."""
    pipeline_id: int | None = None
    git: GitInfo = field(default_factory=GitInfo)
    timeout_s: float | None = None
    """``runner_info.timeout``; None when GitLab gave none."""
    variables: tuple[Variable, ...] = ()
    script: tuple[str, ...] = ()
    """The ``script`` step: ``before_script`` and ``script`` together, as GitLab joins them."""
    after_script: tuple[str, ...] = ()
    image: ImageSpec | None = None
    services: tuple[ServiceSpec, ...] = ()
    artifacts: tuple[ArtifactSpec, ...] = ()
    cache: tuple[CacheSpec, ...] = ()
    dependencies: tuple[Dependency, ...] = ()
    credentials: tuple[Credential, ...] = ()
    failure_reasons: tuple[str, ...] = ()
    """``features.failure_reasons``: what this GitLab accepts in a job update."""
    token_mask_prefixes: tuple[str, ...] = ()
    unsupported: tuple[str, ...] = ()
    """Sentences for the job log, one per part of the job this runner cannot run."""
