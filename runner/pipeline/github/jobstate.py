"""What a GitHub job's steps have done so far: the ``steps`` context, the job's status, and
what they added to the environment, ``PATH``, state and summary.

Rules from actions/runner ``StepsRunner.cs`` and ``ExecutionContext.cs``: a step's
``outcome`` is how it ended, its ``conclusion`` the same unless ``continue-on-error``
turned a failure into success; only a failed *conclusion* makes the job's status
``failure``; steps whose id starts with ``__`` (generated) are not in ``steps``.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from runner.pipeline.github import envfiles
from runner.pipeline.github.expr import Value
from runner.pipeline.steps import StepStatus


@dataclass
class StepRecord:
    """How one step ended, as the ``steps`` context shows it."""

    outcome: StepStatus
    conclusion: StepStatus
    outputs: dict[str, str] = field(default_factory=dict)


@dataclass
class JobState:
    """The job's progress; the session updates it after each step."""

    failed: bool = False
    records: dict[str, StepRecord] = field(default_factory=dict)
    env: dict[str, str] = field(default_factory=dict)
    """``GITHUB_ENV`` additions, in the order first set."""
    path: tuple[str, ...] = ()
    """``GITHUB_PATH`` additions, first first."""
    states: dict[str, dict[str, str]] = field(default_factory=dict)
    """``GITHUB_STATE`` by step key, for that step's post step (``STATE_<name>``)."""
    summaries: list[str] = field(default_factory=list)
    masks: list[str] = field(default_factory=list)
    """Every value masked so far (secrets and ``::add-mask::``), for job outputs."""

    def status(self, cancelled: bool) -> str:
        """The job status expressions see: ``cancelled``, ``failure`` or ``success``."""
        if cancelled:
            return "cancelled"
        return "failure" if self.failed else "success"

    def record(
        self,
        step_id: str,
        outcome: StepStatus,
        continue_on_error: bool,
        outputs: dict[str, str],
        in_context: bool = True,
    ) -> StepStatus:
        """Note how a step ended; returns its conclusion. Post steps count for the job's
        status but are not in ``steps`` (``in_context`` false)."""
        conclusion = outcome
        if outcome is StepStatus.FAILURE and continue_on_error:
            conclusion = StepStatus.SUCCESS
        if conclusion is StepStatus.FAILURE:
            self.failed = True
        if in_context:
            self.records[step_id] = StepRecord(outcome, conclusion, outputs)
        return conclusion

    def steps_context(self) -> dict[str, Value]:
        """``steps.<id>.outputs/outcome/conclusion`` for the steps so far."""
        context: dict[str, Value] = {}
        for step_id, record in self.records.items():
            if step_id.startswith("__"):
                continue
            outputs: dict[str, Value] = dict(record.outputs)
            context[step_id] = {
                "outputs": outputs,
                "outcome": record.outcome.value,
                "conclusion": record.conclusion.value,
            }
        return context

    def apply(self, effects: envfiles.FileEffects, env: dict[str, str], path: list[str]) -> None:
        """A step's environment and ``PATH`` changes (files and commands) count from now."""
        self.env.update(env)
        self.env.update(effects.env)
        self.path = envfiles.prepend(self.path, [*path, *effects.path])
        if effects.summary:
            self.summaries.append(effects.summary)

    def masked(self, text: str) -> str:
        """``text`` with every masked value replaced by ``***``, longest first."""
        for mask in sorted(set(self.masks), key=len, reverse=True):
            if mask:
                text = text.replace(mask, "***")
        return text

    def secret_in(self, value: str) -> bool:
        """Whether ``value`` holds a masked value (GitHub drops such job outputs)."""
        return any(mask and mask in value for mask in self.masks)
