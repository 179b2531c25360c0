"""Job outcomes and the run's settings, shared by scheduler, job runner and CLI."""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from pathlib import Path

from runner.pipeline.model import Limits


class JobStatus(enum.Enum):
    """How a job ended."""

    SUCCESS = "success"
    FAILED = "failed"
    TIMED_OUT = "timed out"
    CANCELED = "canceled"
    SKIPPED = "skipped"


@dataclass(frozen=True)
class JobResult:
    """One job's outcome, after all its attempts."""

    name: str
    status: JobStatus
    duration_s: float | None = None
    exit_code: int | None = None
    allowed_failure: bool = False
    attempts: int = 0
    note: str = ""
    manual: bool = False
    """A ``when: manual`` job the user did not ask for (``--manual``), so skipped."""
    coverage: str | None = None
    """The figure the job's ``coverage`` regex found in its output, if any."""
    image: str | None = None
    """A build job's image: ``tag@digest`` once pushed, else its tag or id."""
    digest: str | None = None
    """A build job's manifest digest (pushed) or image id."""
    log: Path | None = None
    """The job's log file (None for a job that never ran)."""
    tail: tuple[str, ...] = ()
    """The log's last lines when the job ended, masked (for the summary of a failure)."""
    failed_at: str | None = None
    """Where the failing script line is written (``pipeline.yml:12``, or ``script line 3``)."""
    annotations: tuple[str, ...] = ()
    """A stepped job's ``::error``/``::warning``/``::notice`` lines, for the summary."""
    elsewhere: bool = False
    """Skipped because it runs elsewhere (a multi-project trigger): it holds nothing up."""

    @property
    def passed(self) -> bool:
        """Counts as success for the pipeline and for jobs downstream of it.

        A skipped manual job passes only if it may fail: as in GitLab, a
        blocking manual job (``allow_failure: false``) holds up what follows it.
        """
        if self.status is JobStatus.SUCCESS:
            return True
        if self.status is JobStatus.SKIPPED:
            return (self.manual and self.allowed_failure) or self.elsewhere
        return self.allowed_failure and self.status in (JobStatus.FAILED, JobStatus.TIMED_OUT)

    @property
    def failed(self) -> bool:
        """A failure that fails the pipeline (allowed failures do not)."""
        return self.status in (JobStatus.FAILED, JobStatus.TIMED_OUT) and not self.allowed_failure


@dataclass(frozen=True)
class Taken:
    """Results a need left in the state dir in an earlier run, taken by a job run alone.

    ``runner exec FILE JOB`` without ``--needs`` runs JOB without its needs and
    gives it what their last passing run kept, as gitlab-ci-local does
    (``runner.execute.reuse`` decides; the job runner only layers and exports).
    """

    job: str
    """The job that takes them."""
    need: str
    run_id: str
    """The run that kept them."""
    artifacts: bool
    """Whether that run kept artifacts (the need's artifacts dir is then layered)."""
    dotenv: tuple[tuple[str, str], ...] = ()


@dataclass(frozen=True)
class Settings:
    """How to run a pipeline on this host; the CLI builds it from flags."""

    concurrency: int
    color: bool
    cache_root: Path
    slot_dir: Path
    """Where UID-slice leases are kept; shared by all runner processes of the user."""
    subordinate_ids: int
    """How many subordinate uids (and gids) the user has: decides the number of slices."""
    state_dir: Path | None = None
    """Default: ``.runner`` in the project directory."""
    runtime: str | None = None
    network: str | None = None
    pull: tuple[str, ...] = ("if-not-present",)
    """The pull policy of images whose job names none (``model.PULL_POLICIES``; a list is
    tried in order). GitLab files get ``always`` from ``runner exec``, as gitlab-runner's
    docker executor does; see docs/images.md."""
    kill_grace_s: float = 5.0
    """After TERM, how long a script may take to stop before it is killed; after that KILL
    (which goes through the supervisor), how long before the container is killed from outside."""
    after_script_timeout_s: float = 300.0
    """GitLab gives after_script five minutes of its own."""
    max_result_bytes: int = 4 << 30
    """Data one job may keep as artifacts, and again as each cache: the host's disk is shared."""
    manual: frozenset[str] = frozenset()
    """Manual (``when: manual``) jobs to run; every other manual job is skipped."""
    build_stores: Path | None = None
    """Under it, one containers-storage store per tenant for build jobs; None: share the
    user's default store (layers of every project's builds feed each other)."""
    build_runroot: Path | None = None
    """Run-time state of those stores (a tmpfs under ``$XDG_RUNTIME_DIR``)."""
    limits: Limits = field(default_factory=Limits)
    """Runner-wide caps on every job's own ``limits``."""
    controllers: frozenset[str] = frozenset()
    """cgroup controllers rootless podman can use here (``memory``, ``pids``, ``cpu``)."""
    standard_authfile: Path | None = None
    """The user's own registry auth file, the base pipeline credentials are added to."""
    run_id: str | None = None
    """Default: a new time-based id. The agent names runs after its jobs, to find them after
    a crash (containers carry the run id as a label)."""
    tenant: str | None = None
    """Who owns caches and build stores; default: a hash of the project directory. The agent
    uses the coordinator's project id, since every job checks out into a new directory."""
    project_dir: str | None = None
    """Where jobs see the project inside their containers; default ``/builds/NAME``."""
    extra_layers: tuple[Path, ...] = ()
    """Trees restored into every job's workspace before its needs' artifacts: the agent's
    downloads of artifacts from jobs of earlier stages."""
    recheck_private_images: bool = False
    """Ask the registry again for private images at every job (the agent: a project's users
    differ in access), instead of running the copy the project's store already has."""
    whole_tree: bool = False
    """Copy every file of the project, ``.git`` and ignored files included (a fresh checkout)."""
    taken: tuple[Taken, ...] = ()
    """What jobs run without their needs take from those needs' earlier runs."""
    keep_after_cancel: bool = False
    """Keep a job stopped by a graceful cancel as a failed job keeps its results (``when:
    on_failure``/``always`` artifacts and caches), as gitlab-runner does for GitLab's
    *canceling*; ``runner exec`` keeps nothing of an interrupted job. Never after a kill."""
    keep_runs: int = 10
    """How many runs' logs and results stay under ``STATE/runs`` (this one included)."""
    engine: str = "podman"
    """What starts job containers: ``podman`` for every job, or ``runc`` (``runc``'s module
    says why) for the jobs it can take, podman for the rest."""
    runc_state: Path | None = None
    """runc's state directory (under ``$XDG_RUNTIME_DIR``); required with ``engine='runc'``."""
