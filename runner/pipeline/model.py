"""The pipeline model every dialect translates into; the executor sees nothing else.

Values are frozen dataclasses so a parsed pipeline can be shared between
concurrent jobs without anyone changing it under another's feet. Mappings are
stored as tuples of pairs for the same reason (and so models hash and compare).
"""

from __future__ import annotations

import enum
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

from runner.pipeline.images import Build as Build  # noqa: PLC0414 (re-exported)
from runner.pipeline.images import Registry as Registry  # noqa: PLC0414 (re-exported)
from runner.pipeline.spot import Spot as Spot  # noqa: PLC0414 (re-exported: dialects import it from here)
from runner.pipeline.steps import JobCondition, MatrixGroup, StepProgram

DEFAULT_TIMEOUT_S = 3600.0
"""GitLab's default project timeout, one hour; a job without ``timeout`` gets it."""
PULL_POLICIES = ("always", "if-not-present", "never")
"""GitLab's image pull policies, the words of every ``pull_policy`` (job, service, config)."""


def container_project_dir(root: Path) -> str:
    """Where a job sees the project inside its container, as GitLab lays it out (``/builds/NAME``).

    Dialects need it for ``CI_PROJECT_DIR`` and the executor mounts the workspace there.
    """
    name = re.sub(r"[^A-Za-z0-9_.-]", "_", root.resolve().name)
    return f"/builds/{name or 'project'}"


def builds_dir(full_path: str, fallback: str) -> str:
    """``/builds/<group>/<project>`` for a project path a coordinator sent (``fallback`` if none).

    The result is a mount target in podman's ``--volume SRC:DST`` and a
    variable's value; a ``:`` or ``,`` in it would add mount options, a
    ``..`` would climb. GitLab's own paths hold none of these, but the text is
    a coordinator's: each component keeps letters, digits, '_', '.' and '-'
    (others become '_'), and empty, '.' and '..' components are dropped.
    """
    parts = (re.sub(r"[^A-Za-z0-9_.-]", "_", part) for part in full_path.split("/"))
    kept = [part for part in parts if part not in ("", ".", "..")]
    return "/builds/" + ("/".join(kept) or fallback)


class When(enum.Enum):
    """When a job runs, judged on the outcome of the jobs upstream of it.

    ``MANUAL`` jobs run only when the user names them (``--manual JOB``);
    ``DELAYED`` jobs run like ``ON_SUCCESS`` (a local run does not wait).
    """

    ON_SUCCESS = "on_success"
    ON_FAILURE = "on_failure"
    ALWAYS = "always"
    MANUAL = "manual"
    DELAYED = "delayed"


class CachePolicy(enum.Enum):
    """Whether a job restores a cache before it runs, saves it after, or both."""

    PULL = "pull"
    PUSH = "push"
    PULL_PUSH = "pull-push"


class RetryOn(enum.Enum):
    """Kinds of failure a retry can be limited to (GitLab's ``retry:when``, those that apply)."""

    SCRIPT_FAILURE = "script_failure"
    TIMEOUT = "job_execution_timeout"
    SYSTEM_FAILURE = "runner_system_failure"


@dataclass(frozen=True)
class Need:
    """An edge of the DAG: wait for ``job``; take its artifacts if ``artifacts``."""

    job: str
    artifacts: bool = True


@dataclass(frozen=True)
class Artifacts:
    """Paths (globs, ``**`` allowed, relative to the project dir) kept after a job.

    ``exclude`` globs drop matches of ``paths``; ``untracked`` adds every file
    in the workspace that is not in the project's source snapshot. ``dotenv``
    files (GitLab's ``reports:dotenv``) hold ``KEY=VALUE`` lines that become
    variables of the jobs that take this job's artifacts.
    """

    paths: tuple[str, ...]
    when: When = When.ON_SUCCESS
    exclude: tuple[str, ...] = ()
    untracked: bool = False
    dotenv: tuple[str, ...] = ()
    skipped: tuple[str, ...] = ()
    """Paths the job named outside the project (``/var/cache/x``, ``../x``): gitlab-runner's
    archiver skips each with a warning when it saves, and so does the executor."""


@dataclass(frozen=True)
class Cache:
    """Paths kept on the host between runs under ``key``, per project (tenant).

    ``fallback_keys`` are tried in order when ``key`` has no saved copy yet;
    ``when`` says after which job outcomes the cache is saved.
    """

    key: str
    paths: tuple[str, ...]
    policy: CachePolicy = CachePolicy.PULL_PUSH
    when: When = When.ON_SUCCESS
    fallback_keys: tuple[str, ...] = ()
    skipped: tuple[str, ...] = ()
    """Paths outside the project, warned about and skipped when the cache is saved."""


@dataclass(frozen=True)
class SecretSource:
    """Where a secret's value comes from: an environment variable or a file.

    Exactly one of ``env``, ``file`` and ``value`` is set. Env and file values
    are read when the pipeline starts, never at parse time; every value is
    masked in every output.
    """

    name: str
    env: str | None = None
    file: Path | None = None
    spot: Spot | None = None
    as_file: bool = False
    """Give jobs a path to a file holding the value instead of the value (GitLab "file" type)."""
    value: str | None = field(default=None, repr=False)
    """The value itself, when the user gave it directly (a variables file); never printed."""


@dataclass(frozen=True)
class Limits:
    """What one job may use; None is no limit. Runner-wide limits cap a job's own.

    ``memory``, ``pids`` and ``cpus`` need cgroup v2 with delegated
    controllers to be enforced rootless; ``disk`` (everything the job can
    write on disk, see ``execute.diskwatch``) is watched by the runner on any host.
    """

    memory: int | None = None
    """Bytes of RAM (swap included)."""
    pids: int | None = None
    cpus: float | None = None
    disk: int | None = None
    """Bytes the job may write to its workspace and its container's file system."""

    def capped(self, cap: Limits) -> Limits:
        """The tighter of this and ``cap``, field by field."""

        def low(mine: float | None, theirs: float | None) -> float | None:
            values = [v for v in (mine, theirs) if v is not None]
            return min(values) if values else None

        memory, pids, disk = low(self.memory, cap.memory), low(self.pids, cap.pids), low(
            self.disk, cap.disk)
        return Limits(None if memory is None else int(memory), None if pids is None else int(pids),
                      low(self.cpus, cap.cpus), None if disk is None else int(disk))


@dataclass(frozen=True)
class Service:
    """A container beside the job's, in the job's pod: reachable on localhost and by alias.

    ``aliases`` are host names for it (resolved to 127.0.0.1 in the pod);
    ``ports`` are what readiness waits for (empty: the image's exposed ports).
    ``entrypoint``/``command`` replace the image's when set.
    """

    image: str
    aliases: tuple[str, ...] = ()
    entrypoint: tuple[str, ...] | None = None
    command: tuple[str, ...] | None = None
    variables: tuple[tuple[str, str], ...] = ()
    ports: tuple[int, ...] = ()
    ready_on_any: bool = False
    """Ready once any one of the ports accepts (gitlab-runner's health check, so an image
    that exposes a port it does not always open is not waited on in vain); else all."""
    pull_policy: tuple[str, ...] = ()
    """As the job's ``pull_policy``."""
    health: Health | None = None
    """A command run in the service until it succeeds, instead of waiting for ports
    (GitHub's ``options: --health-cmd``, docker's HEALTHCHECK)."""


@dataclass(frozen=True)
class Health:
    """docker's health check: ``command`` (through ``sh -c``) every ``interval_s`` until it exits 0;
    unhealthy after ``retries`` failures in a row (each limited to ``timeout_s``)."""

    command: str
    interval_s: float = 30.0
    timeout_s: float = 30.0
    retries: int = 3
    start_period_s: float = 0.0


ChildLoader = Callable[[tuple[Path, ...]], "Pipeline"]
"""Translates a dynamic child pipeline: given the artifacts directory of each job it reads
files from (``Trigger.artifact_jobs``, in that order), the child as a model. Dialects
provide it; the executor calls it once those jobs are done, and never sees the YAML.
Raises ``PipelineError`` for a bad file."""


@dataclass(frozen=True)
class Trigger:
    """What a trigger job (GitLab's bridge) starts instead of running a container.

    Exactly one of ``child`` (a child pipeline known when the file is read),
    ``load`` (one generated by upstream jobs: ``artifact_jobs``), ``project``
    (a multi-project pipeline, which cannot run locally) and ``failure`` (why the
    child cannot be created, as the depth limit) is set. Child job names
    already carry the trigger job's prefix (``trigger > job``). With ``depend``
    the trigger job's status mirrors the child pipeline's; without it the job
    succeeds as soon as the child is created.
    """

    depend: bool = False
    child: Pipeline | None = None
    load: ChildLoader | None = field(default=None, compare=False)
    artifact_jobs: tuple[str, ...] = ()
    project: str | None = None
    failure: str | None = None


OUTPUT_REF = re.compile(
    r"\$\{\{\s*jobs\.([A-Za-z0-9][A-Za-z0-9_.-]*)\.(image|digest|tag)\s*\}\}"
)
"""``${{ jobs.NAME.image }}`` (or ``.digest``/``.tag``): an output of build job NAME."""


@dataclass(frozen=True)
class Job:
    """One job: a container from ``image`` running ``script`` in one shell session.

    A job with ``build`` has no container: the runner builds an image on the
    host instead, and ``image``/``script`` are empty.
    """

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
    stage: str = ""
    allow_failure_codes: tuple[int, ...] = ()
    """With ``allow_failure``: only these exit codes are allowed (empty: any failure)."""
    retry_on: tuple[RetryOn, ...] = ()
    """Failures a retry is made for; empty means every kind, unless ``retry_exit_codes``
    are given (then empty means none: only those codes are retried, as in GitLab)."""
    retry_exit_codes: tuple[int, ...] = ()
    """Script exit codes that are retried whatever ``retry_on`` says (GitLab's
    ``retry:exit_codes``, which widens ``retry:when`` rather than narrowing it)."""
    file_variables: tuple[tuple[str, str], ...] = ()
    """(name, content): the job sees ``name`` set to the path of a file holding ``content``."""
    pipeline_variables: tuple[str, ...] = ()
    """Names in ``variables`` set by the project's or pipeline's settings (variables files,
    ``--variable``) rather than the file. As in GitLab, they outrank dotenv variables of
    upstream jobs, and services never get them (gitlab-runner gives services public ones)."""
    coverage: str | None = None
    """A Python regex; its last match in the job log is the job's coverage figure."""
    build: Build | None = None
    services: tuple[Service, ...] = ()
    """Containers started beside this one in its own pod (GitLab's ``services``)."""
    limits: Limits = field(default_factory=Limits)
    pull_policy: tuple[str, ...] = ()
    """``always``, ``if-not-present`` or ``never``, tried in order until one gets the image
    (gitlab-runner's lists); empty: the run's default (``Settings.pull``)."""
    image_from: str | None = None
    """Set when ``image`` is the runner's default image, not the file's: where it was
    configured (``--image`` or a config file's path), for the job log."""
    script_spots: tuple[Spot, ...] = field(default=(), compare=False)
    """Where each line of ``script`` is written, parallel to it, so a failing line can be
    named (``pipeline.yml:12``); empty without a file (the agent's jobs). Not part of what
    the job is: two jobs that run the same lines are equal wherever the lines are written."""
    after_script_spots: tuple[Spot, ...] = field(default=(), compare=False)
    """The same for ``after_script``."""
    trigger: Trigger | None = None
    """A trigger job: no container; it starts a downstream pipeline (``image``/``script`` empty)."""
    steps: StepProgram | None = field(default=None, compare=False)
    """A job run as separate steps decided at run time (GitHub's): ``script`` is empty and
    the dialect's program drives it (``runner.pipeline.steps``)."""
    group: MatrixGroup | None = None
    """The matrix this job is one instance of (GitHub's ``strategy``), if any."""
    condition: JobCondition | None = field(default=None, compare=False)
    """Decides at run time, from how its needs ended, whether the job runs (GitHub's
    ``if:``); replaces ``when``'s rules for the job."""

    def output_refs(self) -> frozenset[str]:
        """Other build jobs whose outputs (``${{ jobs.X.image }}``) this job uses.

        A job's references to its own output are left out: a build job
        inherits top-level variables written for the jobs that use its image.
        """
        texts = [self.image, *(value for _, value in self.variables)]
        if self.build is not None:
            b = self.build
            texts += [*b.tags, *(v for _, v in b.args), *(v for _, v in b.labels),
                      *b.cache_from, b.cache_to or "", b.target or ""]
        found = {m.group(1) for text in texts for m in OUTPUT_REF.finditer(text)}
        return frozenset(found - {self.name})


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
    stages: tuple[str, ...] = ()
    """Stage names in order, for listings (the DAG is already in ``needs``)."""
    registries: tuple[Registry, ...] = ()
    mask: str = "[MASKED]"
    """What a secret's value is replaced by in logs: GitLab's ``[MASKED]``, GitHub's ``***``."""

    def job(self, name: str) -> Job:
        """The job called ``name``; KeyError if there is none."""
        for job in self.jobs:
            if job.name == name:
                return job
        raise KeyError(name)

    def every_job(self) -> Iterator[Job]:
        """Every job, each static child pipeline's jobs right after its trigger job."""
        for job in self.jobs:
            yield job
            if job.trigger is not None and job.trigger.child is not None:
                yield from job.trigger.child.every_job()
