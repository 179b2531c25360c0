"""Where the loader meets the parts other modules own: the step program, job conditions
and built-in actions. Each is one small function, so the loader never depends on how
those are built."""

from __future__ import annotations

from runner.pipeline.github.stepspec import JobSpec
from runner.pipeline.steps import JobCondition, StepProgram


def program(spec: JobSpec) -> StepProgram:
    """The step program the executor drives for the job ``spec`` describes."""
    try:
        from runner.pipeline.github.program import (  # type: ignore[import-not-found]  # noqa: PLC0415
            GithubProgram,
        )
    except ImportError:  # TEMPORARY until branch `session` lands its program
        from runner.pipeline.github.pending import PendingProgram  # noqa: PLC0415

        return PendingProgram(spec)
    return GithubProgram(spec)  # type: ignore[no-any-return]


def condition(text: str | None, job_id: str, need_ids: dict[str, str]) -> JobCondition:
    """The job's ``if:`` (None: GitHub's implicit ``success()``); ``need_ids`` maps the model
    names of the jobs it needs to their ids under ``jobs:``."""
    try:
        from runner.pipeline.github.condition import (  # type: ignore[import-not-found]  # noqa: PLC0415
            GithubCondition,
        )
    except ImportError:  # TEMPORARY until branch `session` lands its condition
        from runner.pipeline.github.pending import PendingCondition  # noqa: PLC0415

        return PendingCondition(text or "success()")
    return GithubCondition(text, job_id, need_ids)  # type: ignore[no-any-return]


def is_builtin(uses: str) -> bool:
    """Whether ``uses:`` names an action runner carries out itself (checkout, cache...)."""
    from runner.pipeline.github.builtins import is_builtin as known  # noqa: PLC0415

    return known(uses)
