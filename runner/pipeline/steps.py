"""Jobs that run as separate steps, each decided at run time by its dialect (GitHub's).

A GitLab or native job is one shell session (``Job.script``). A GitHub job is
a list of steps, each its own process, each with a condition, environment,
shell and working directory that may depend on what the steps before it did
(``${{ steps.build.outputs.version }}``, ``failure()``). The executor must not
learn YAML or an expression language, so the dialect hands it a ``StepProgram``:
a factory for a ``StepSession`` that, asked for the next step, answers with a
``StepPlan`` in which every expression is already evaluated, and that is told
how each step ended and what it wrote to its environment files.

The executor's side is small and fixed: run a ``RunScript`` through the
container's supervisor (one script file per step, written when the step
starts), or carry out one of the built-in actions below on the host (artifact
and cache stores are the runner's, not the job's), read the step's files back,
show its output through ``StepSession.output``, and report.
"""

from __future__ import annotations

import enum
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import Protocol

from runner.pipeline.spot import Spot


class StepStatus(enum.Enum):
    """How a step or a job ended, in GitHub's words (``steps.X.conclusion``, ``needs.X.result``)."""

    SUCCESS = "success"
    FAILURE = "failure"
    CANCELLED = "cancelled"
    SKIPPED = "skipped"


@dataclass(frozen=True)
class StepInfo:
    """What is known of a step before the run: for ``--list``, ``--preview`` and log headers."""

    id: str
    """The step's ``id``, or the generated one (``__run``, ``__run_2``) GitHub gives."""
    name: str
    """Its name as written (expressions not evaluated), or what GitHub shows (``Run make``)."""
    spot: Spot | None = None
    uses: str | None = None
    """The action, for a ``uses:`` step (``actions/checkout@v4``)."""


@dataclass(frozen=True)
class RunScript:
    """Run ``script`` (a file's content) with ``shell``, where ``{0}`` is that file's path.

    ``fallback`` is tried when ``shell[0]`` is not in the container (GitHub's
    default shell: ``bash -e {0}``, else ``sh -e {0}``). ``extension`` is the
    script file's (``.py`` for python: some interpreters insist).
    """

    script: str
    shell: tuple[str, ...]
    fallback: tuple[str, ...] | None = None
    extension: str = ".sh"


@dataclass(frozen=True)
class UploadArtifact:
    """``actions/upload-artifact``: copy ``paths`` (globs, ``!`` excludes) of the workspace
    into the run's artifact store under ``name`` (v4: a name is written once unless
    ``overwrite``)."""

    name: str
    paths: tuple[str, ...]
    if_no_files_found: str = "warn"
    """``warn``, ``error`` or ``ignore``."""
    overwrite: bool = False
    include_hidden: bool = False
    retention_days: int | None = None


@dataclass(frozen=True)
class DownloadArtifact:
    """``actions/download-artifact``: ``name`` (one), else every artifact whose name matches
    ``pattern`` (all if None), into ``path`` (relative to the workspace). Several
    artifacts go to ``path/<name>/`` unless ``merge_multiple``."""

    path: str
    name: str | None = None
    pattern: str | None = None
    merge_multiple: bool = False


@dataclass(frozen=True)
class RestoreCache:
    """``actions/cache`` (and ``cache/restore``): restore ``key``, else the newest entry whose
    key starts with one of ``restore_keys`` (in order), into ``paths``. Sets the
    ``cache-hit`` output ("true" only for an exact key match); a later ``SaveCache``
    post step of the same action saves when there was no exact hit."""

    key: str
    paths: tuple[str, ...]
    restore_keys: tuple[str, ...] = ()
    fail_on_cache_miss: bool = False
    lookup_only: bool = False


@dataclass(frozen=True)
class SaveCache:
    """``actions/cache``'s post step or ``actions/cache/save``: save ``paths`` under ``key``
    unless that key already exists (cache entries are immutable, as GitHub's are)."""

    key: str
    paths: tuple[str, ...]


@dataclass(frozen=True)
class Checkout:
    """``actions/checkout``: the workspace already holds the project; ``path`` (relative)
    moves it there, as checkout's ``path`` input does."""

    path: str = ""


Action = RunScript | UploadArtifact | DownloadArtifact | RestoreCache | SaveCache | Checkout
"""Everything a step can ask the executor to do. ``uses:`` actions of other kinds (issue 18)
become ``RunScript`` steps or join this list."""


@dataclass(frozen=True)
class StepPlan:
    """One step to run now, or to report as skipped; every expression already evaluated."""

    key: str
    """Unique in the job: the step's id, or ``post-<id>`` for a post step."""
    name: str
    """Display name (``Run make test``, ``Post Run actions/cache@v4``)."""
    action: Action | None
    """None only when ``skipped``."""
    env: tuple[tuple[str, str], ...] = ()
    """The whole environment of the step's process, in order (job, step, ``GITHUB_*``);
    the executor adds only what it owns (the env-file paths below)."""
    workdir: str = ""
    """Absolute, inside the container; empty: the job's workspace."""
    path: tuple[str, ...] = ()
    """Directories put before the container's own ``PATH`` (``GITHUB_PATH``), first first;
    the session cannot know the image's ``PATH``, the step's shell can."""
    timeout_s: float | None = None
    continue_on_error: bool = False
    skipped: str | None = None
    """Why the step does not run (its ``if:`` was false, as written), or None."""
    spot: Spot | None = None


ENV_FILES = ("GITHUB_ENV", "GITHUB_OUTPUT", "GITHUB_PATH", "GITHUB_STATE", "GITHUB_STEP_SUMMARY")
"""Variables each step gets, each the path of an empty file created for that step alone;
what the step wrote there comes back in ``StepEnd.files`` under the same name."""


@dataclass(frozen=True)
class StepEnd:
    """How one step ended, and everything it left for the steps after it."""

    status: StepStatus
    exit_code: int | None = None
    files: Mapping[str, bytes] = field(default_factory=dict)
    """Contents of the ``ENV_FILES`` the step wrote (missing: empty)."""
    outputs: Mapping[str, str] = field(default_factory=dict)
    """Outputs a built-in action sets (``cache-hit``, ``download-path``, ``artifact-id``)."""
    timed_out: bool = False
    note: str = ""
    """Why the executor failed a built-in step (``no files found for artifact 'dist'``)."""


@dataclass(frozen=True)
class JobEnd:
    """How the job as a whole ended, by the dialect's rules (``continue-on-error`` steps
    do not fail it), with its outputs for the jobs that need it."""

    status: StepStatus
    outputs: tuple[tuple[str, str], ...] = ()


@dataclass(frozen=True)
class NeedResult:
    """What a job that needs another knows of it: ``needs.<id>.result`` and ``.outputs``."""

    result: StepStatus
    outputs: tuple[tuple[str, str], ...] = ()


HashFiles = Callable[[tuple[str, ...]], Awaitable[str]]
"""``hashFiles(patterns)`` over the job's workspace as it is now: the executor computes it
(the workspace belongs to the job's uid slice)."""


@dataclass(frozen=True)
class JobFacts:
    """What the executor knows when a job starts, for its session's contexts."""

    needs: Mapping[str, NeedResult]
    """Every job this one needs (directly), by the name the dialect gave the executor."""
    secrets: Mapping[str, str]
    """The secrets this job may see (``secrets`` context); masked in every log already."""
    workspace: str
    """The project inside the container (``github.workspace``)."""
    temp: str
    """A directory inside the container for the job's own scratch (``runner.temp``)."""
    attempt: int
    run_id: str
    env: tuple[tuple[str, str], ...] = ()
    """Variables the executor gives every job (``CI=true`` and the like)."""
    container_id: str = ""
    service_ports: Mapping[str, Mapping[str, str]] = field(default_factory=dict)
    """``job.services.<id>.ports``: container port -> where the job reaches it."""
    cancelled: Callable[[], bool] = lambda: False
    """Whether the run is being cancelled (``cancelled()``), asked when a condition is."""
    hash_files: HashFiles | None = None


class Messages(Protocol):
    """How a session speaks to the job's log while the job runs; calls keep their order."""

    def write(self, data: bytes) -> None:
        """Step output to show (masked by the log, as all output is)."""

    def group(self, title: str) -> None:
        """``::group::title``: what follows up to ``end_group`` folds on a terminal."""

    def end_group(self) -> None:
        """``::endgroup::``."""

    def notice(self, text: str) -> None:
        """A line of runner's own in the job log (masked)."""

    def add_mask(self, value: str) -> None:
        """Mask ``value`` in every log from now on (``::add-mask::``)."""

    def annotate(self, level: str, text: str, where: str | None) -> None:
        """An ``::error``/``::warning``/``::notice`` annotation, for the run's summary."""

    def debug(self, text: str) -> None:
        """A ``::debug::`` line: shown only with ``-v``."""


class StepSession(Protocol):
    """One attempt of one stepped job, from the dialect; the executor drives it."""

    async def next(self) -> StepPlan | None:
        """The next step to run or report skipped; None when the job has no step left.

        Post steps (``actions/cache``'s save) come here too, in the order the
        dialect's rules give them, after the last main step.
        """

    def setup_files(self) -> Mapping[str, bytes]:
        """Files to write before the first step, by path relative to ``JobFacts.temp``
        (the event payload behind ``GITHUB_EVENT_PATH``)."""

    def output(self, data: bytes) -> None:
        """A running step's output as it arrives.

        The session passes it on through ``Messages.write`` and acts on workflow
        commands (``::add-mask::`` and the rest) through the other ``Messages``
        calls, in order; it may hold back a partial line until its end arrives.
        """

    def flush(self) -> None:
        """The step's output ended: pass on what ``output`` still holds."""

    def ended(self, plan: StepPlan, end: StepEnd) -> None:
        """The step of ``plan`` ended so; its files and outputs now count."""

    def job_end(self) -> JobEnd:
        """The job's conclusion and outputs, once ``next`` has returned None."""

    def summary(self) -> str:
        """Everything the steps wrote to ``GITHUB_STEP_SUMMARY`` (markdown), in order."""


class StepProgram(Protocol):
    """A job's steps as the dialect parsed them; the model keeps one per stepped job."""

    @property
    def steps(self) -> tuple[StepInfo, ...]:
        """The main steps as written, for listings."""

    def session(self, facts: JobFacts, messages: Messages) -> StepSession:
        """A fresh session for one attempt of the job."""


@dataclass(frozen=True)
class MatrixGroup:
    """The instances of one matrix job (GitHub's ``strategy``): with ``fail_fast`` the first
    failure cancels the others still queued or running; at most ``max_parallel`` run at once."""

    name: str
    """Unique in the pipeline (the job's id under ``jobs:``)."""
    fail_fast: bool = True
    max_parallel: int | None = None


class JobCondition(Protocol):
    """A job-level condition decided when the job's needs are done (GitHub's ``jobs.X.if``)."""

    @property
    def text(self) -> str:
        """As written, for ``--list`` and the skip note."""

    def holds(self, needs: Mapping[str, NeedResult], cancelled: bool) -> bool:
        """Whether the job runs, given how every job it needs (directly or not) ended.

        ``needs`` holds every upstream job, by the dialect's job name."""
