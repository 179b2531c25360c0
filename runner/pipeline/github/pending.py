"""TEMPORARY stand-ins while the step session is being written (branch ``session``):
they list a job's steps (``--list``, ``--preview``) and refuse to run them."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from runner.errors import UsageError
from runner.pipeline.github.stepspec import JobSpec
from runner.pipeline.steps import JobFacts, Messages, NeedResult, StepInfo, StepSession


@dataclass(frozen=True)
class PendingProgram:
    """The steps of ``spec`` for listings; running them is refused."""

    spec: JobSpec

    @property
    def steps(self) -> tuple[StepInfo, ...]:
        """Each step's id, name as written (or ``Run ...``) and action."""
        return tuple(StepInfo(s.id, s.name or (f"Run {s.uses}" if s.uses else
                                                f"Run {(s.run or '').strip().splitlines()[0]}"
                                                if (s.run or "").strip() else "Run"),
                              s.spot, s.uses) for s in self.spec.steps)

    def session(self, facts: JobFacts, messages: Messages) -> StepSession:
        """Not available yet."""
        raise UsageError("GitHub workflow steps cannot run in this build yet")


@dataclass(frozen=True)
class PendingCondition:
    """A job's ``if:`` for listings; deciding it is refused."""

    text: str

    def holds(self, needs: Mapping[str, NeedResult], cancelled: bool) -> bool:
        """Not available yet."""
        raise UsageError("GitHub job conditions cannot be decided in this build yet")
