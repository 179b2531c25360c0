"""Where the loader meets the parts other modules own: the step program, job conditions,
built-in actions and ``container.options``. Each is one small function, so the loader
never depends on how those are built."""

from __future__ import annotations

from runner.pipeline.github.stepspec import JobSpec
from runner.pipeline.steps import JobCondition, StepProgram


def program(spec: JobSpec) -> StepProgram:
    """The step program the executor drives for the job ``spec`` describes."""
    from runner.pipeline.github.program import GithubProgram  # noqa: PLC0415

    return GithubProgram(spec)


def condition(text: str | None, job_id: str, need_ids: dict[str, str]) -> JobCondition:
    """The job's ``if:`` (None: GitHub's implicit ``success()``); ``need_ids`` maps the model
    names of the jobs it needs to their ids under ``jobs:``."""
    from runner.pipeline.github.condition import GithubCondition  # noqa: PLC0415

    return GithubCondition(text, job_id, need_ids)


def is_builtin(uses: str) -> bool:
    """Whether ``uses:`` names an action runner carries out itself (checkout, cache...)."""
    from runner.pipeline.github.builtins import is_builtin as known  # noqa: PLC0415

    return known(uses)
