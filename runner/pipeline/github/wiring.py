"""Where the loader meets the parts the step session owns: the step program, job conditions
and built-in actions. Each is one small function, so the loader never depends on how those
are built."""

from __future__ import annotations

from runner.pipeline.github.builtins import is_builtin as _is_builtin
from runner.pipeline.github.condition import GithubCondition
from runner.pipeline.github.program import GithubProgram
from runner.pipeline.github.stepspec import JobSpec
from runner.pipeline.steps import JobCondition, StepProgram


def program(spec: JobSpec) -> StepProgram:
    """The step program the executor drives for the job ``spec`` describes."""
    return GithubProgram(spec)


def condition(spec: JobSpec, text: str | None) -> JobCondition:
    """The job's ``if:`` (None: GitHub's implicit ``success()``)."""
    return GithubCondition(spec, text)


def is_builtin(uses: str) -> bool:
    """Whether ``uses:`` names an action runner carries out itself (checkout, cache...)."""
    return _is_builtin(uses)
