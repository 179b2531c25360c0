"""``jobs.<id>.if``: whether a GitHub job runs, decided when every job it needs has ended.

GitHub's rules: the condition sees ``github``, ``needs`` (direct needs only; a
matrix need is its instances aggregated), ``vars`` and ``inputs``; a condition
that calls no status function means ``success() && (...)``; ``success()`` holds
only when every upstream job (directly or not) succeeded, so a failed or
skipped job anywhere upstream skips the job; ``failure()`` holds when one of
them failed; ``cancelled()`` when the run is being cancelled. A job without
``if:`` has the implicit ``success()``.
"""

from __future__ import annotations

from collections.abc import Mapping

from runner.errors import PipelineError, SourceSpot
from runner.pipeline.github import contexts
from runner.pipeline.github.expr import (
    EvalContext,
    Expr,
    ExprError,
    allowed_functions,
    parse_condition,
    truthy,
)
from runner.pipeline.github.stepspec import JobSpec
from runner.pipeline.steps import NeedResult, StepStatus

_JOB_IF_FUNCTIONS = allowed_functions("jobs.<job_id>.if")
"""Functions ``jobs.<id>.if`` may call: all but ``hashFiles`` (no workspace yet)."""


def upstream_status(needs: Mapping[str, NeedResult], cancelled: bool) -> str:
    """The status job-level status functions see.

    ``failure`` if any upstream job failed, else ``cancelled`` if the run is
    being cancelled, else ``skipped`` (neither ``success()`` nor ``failure()``)
    if one did not succeed, else ``success``.
    """
    results = {need.result for need in needs.values()}
    if StepStatus.FAILURE in results:
        return "failure"
    if cancelled:
        return "cancelled"
    if results - {StepStatus.SUCCESS}:
        return "skipped"
    return "success"


class GithubCondition:
    """A GitHub job's ``if:`` (``runner.pipeline.steps.JobCondition``)."""

    def __init__(self, spec: JobSpec, text: str | None) -> None:
        self._spec = spec
        self._text = text or "success()"
        try:
            self._expr: Expr = parse_condition(self._text)
        except ExprError as error:
            spot = SourceSpot(spec.spot.file, spec.spot.line, spec.spot.column, "if")
            raise PipelineError(spot, error.message) from None
        self._github = {key: contexts.to_value(value) for key, value in spec.github.items()}

    @property
    def text(self) -> str:
        """As written, for ``--list`` and the skip note."""
        return self._text

    def holds(self, needs: Mapping[str, NeedResult], cancelled: bool) -> bool:
        """Whether the job runs; an expression that fails to evaluate counts as false
        (GitHub fails the job instead; a skipped job is the nearest the model has)."""
        spec = self._spec
        ctx = EvalContext(
            contexts={
                "github": self._github,
                "needs": contexts.needs_context(spec.needs, spec.need_ids, needs),
                "vars": {k: contexts.to_value(v) for k, v in spec.vars.items()},
                "inputs": {k: contexts.to_value(v) for k, v in spec.inputs.items()},
            },
            status=upstream_status(needs, cancelled),
            allowed_functions=_JOB_IF_FUNCTIONS,
        )
        try:
            return truthy(self._expr.evaluate(ctx))
        except ExprError:
            return False
