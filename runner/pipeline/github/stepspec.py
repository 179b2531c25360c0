"""A GitHub job's steps and settings as the workflow file writes them, before any evaluation.

The boundary between reading a workflow (``load``: YAML, keys, matrix, errors
with file and line) and running its steps (``session``: expressions evaluated
step by step against what earlier steps did). Values that GitHub evaluates at
run time stay raw text here (``${{ }}`` included, already checked for syntax
by the loader); values fixed when the file is read (the matrix, the
``github`` context) are plain data.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from runner.pipeline.spot import Spot

Json = None | bool | int | float | str | list["Json"] | dict[str, "Json"]
"""A value of an expression context (``matrix``, ``github``, ``inputs``, ``vars``)."""


@dataclass(frozen=True)
class StepSpec:
    """One entry of ``jobs.<id>.steps``; exactly one of ``run`` and ``uses`` is set."""

    index: int
    """0-based position in the job."""
    id: str
    """The ``id`` written, else GitHub's generated one (``__run``, ``__run_2``,
    ``__actions_checkout``)."""
    spot: Spot
    name: str | None = None
    condition: str | None = None
    """``if:`` as written (with or without ``${{ }}``); None: ``success()``."""
    run: str | None = None
    uses: str | None = None
    with_: tuple[tuple[str, str], ...] = ()
    """``with:`` inputs, values as text (GitHub turns YAML scalars into strings)."""
    env: tuple[tuple[str, str], ...] = ()
    shell: str | None = None
    working_directory: str | None = None
    continue_on_error: str = "false"
    """A literal ``true``/``false`` or an expression."""
    timeout_minutes: str | None = None
    """A number or an expression; None: the job's remaining time."""
    spots: tuple[tuple[str, Spot], ...] = ()
    """Where each key of the step is written (``run``, ``with.path``), for run-time errors."""


@dataclass(frozen=True)
class JobSpec:
    """What a job's steps need besides themselves, for its session."""

    workflow: str
    """The workflow's ``name`` (or its file path, as GitHub shows it)."""
    job_id: str
    """The key under ``jobs:`` (``github.job``)."""
    name: str
    """The job's display name, matrix values included (``test (3.11, ubuntu)``)."""
    spot: Spot
    steps: tuple[StepSpec, ...]
    env: tuple[tuple[str, str], ...] = ()
    """Workflow ``env`` then job ``env`` merged (job wins), values raw."""
    defaults_shell: str | None = None
    defaults_working_directory: str | None = None
    outputs: tuple[tuple[str, str], ...] = ()
    """``jobs.<id>.outputs``, values raw (evaluated when the job ends)."""
    github: dict[str, Json] = field(default_factory=dict)
    """The ``github`` context (event, sha, ref, repository, workspace ...)."""
    matrix: dict[str, Json] = field(default_factory=dict)
    strategy: dict[str, Json] = field(default_factory=dict)
    """``fail-fast``, ``job-index``, ``job-total``, ``max-parallel``."""
    inputs: dict[str, Json] = field(default_factory=dict)
    vars: dict[str, Json] = field(default_factory=dict)
    needs: tuple[str, ...] = ()
    """The model job names of the jobs this one needs directly, parallel to ``need_ids``."""
    need_ids: tuple[str, ...] = ()
    """Their ids under ``jobs:`` (``needs.<id>`` in expressions; matrix jobs share one)."""
    runner_os: str = "Linux"
    runner_arch: str = "X64"
    container: bool = True
    """Whether the job names a ``container:`` (``job.container``); runner always uses one."""
    timeout_minutes: float = 360.0
    continue_on_error: bool = False
