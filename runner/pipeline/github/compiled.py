"""A GitHub job's templates parsed once, for every session of the job to evaluate.

The loader has reported syntax errors already, with file and line; parsing
again here only turns text into ``Expr``/``Template`` objects the sessions
evaluate. Should a template fail to parse anyway, the error still names the
step's spot and key (``PipelineError``), never a traceback.
"""

from __future__ import annotations

from dataclasses import dataclass

from runner.errors import PipelineError, SourceSpot
from runner.pipeline.github.builtins import CACHE_POST_IF
from runner.pipeline.github.expr import (
    Expr,
    ExprError,
    Template,
    parse_condition,
    parse_template,
)
from runner.pipeline.github.stepspec import JobSpec, StepSpec
from runner.pipeline.spot import Spot


@dataclass(frozen=True)
class CompiledStep:
    """One step with its ``${{ }}`` parts parsed."""

    spec: StepSpec
    condition: Expr
    name: Template | None
    env: tuple[tuple[str, Template], ...]
    run: Template | None
    inputs: tuple[tuple[str, Template], ...]
    working_directory: Template | None
    continue_on_error: Template
    timeout_minutes: Template | None

    @property
    def display(self) -> str:
        """The name GitHub shows before evaluation (``Run make test``, ``Run actions/cache@v4``)."""
        if self.spec.name:
            return format_step_name("", self.spec.name)
        if self.spec.run is not None:
            return format_step_name("Run ", self.spec.run)
        return f"Run {self.spec.uses}"


def format_step_name(prefix: str, text: str) -> str:
    """``prefix`` and the first line of ``text`` after leading blanks (actions/runner
    ``ActionRunner.FormatStepName``): ``Run make`` for ``run: |\n  make\n  make test``."""
    rest = text.lstrip(" \t\r\n")
    for end, char in enumerate(rest):
        if char in "\r\n":
            rest = rest[:end]
            break
    return f"{prefix}{rest}" if rest else ""


def _spot(spec_spot: Spot, spots: tuple[tuple[str, Spot], ...], key: str) -> SourceSpot:
    where = dict(spots).get(key, spec_spot)
    return SourceSpot(where.file, where.line, where.column, key)


def _template(text: str, step: StepSpec, key: str) -> Template:
    try:
        return parse_template(text)
    except ExprError as error:
        raise PipelineError(_spot(step.spot, step.spots, key), error.message) from None


def compile_step(step: StepSpec, defaults_working_directory: str | None) -> CompiledStep:
    """``step`` with every template parsed; raises ``PipelineError`` on bad syntax."""
    try:
        condition = parse_condition(step.condition or "success()")
    except ExprError as error:
        raise PipelineError(_spot(step.spot, step.spots, "if"), error.message) from None
    workdir = step.working_directory
    if workdir is None and step.run is not None:
        workdir = defaults_working_directory
    return CompiledStep(
        spec=step,
        condition=condition,
        name=_template(step.name, step, "name") if step.name else None,
        env=tuple((k, _template(v, step, f"env.{k}")) for k, v in step.env),
        run=_template(step.run, step, "run") if step.run is not None else None,
        inputs=tuple((k, _template(v, step, f"with.{k}")) for k, v in step.with_),
        working_directory=_template(workdir, step, "working-directory") if workdir else None,
        continue_on_error=_template(step.continue_on_error, step, "continue-on-error"),
        timeout_minutes=(
            _template(step.timeout_minutes, step, "timeout-minutes")
            if step.timeout_minutes
            else None
        ),
    )


@dataclass(frozen=True)
class CompiledJob:
    """The job-level templates: ``env`` (workflow then job) and ``outputs``."""

    spec: JobSpec
    steps: tuple[CompiledStep, ...]
    env: tuple[tuple[str, Template], ...]
    outputs: tuple[tuple[str, Template], ...]
    cache_post_if: Expr


def _job_template(spec: JobSpec, text: str, key: str) -> Template:
    try:
        return parse_template(text)
    except ExprError as error:
        raise PipelineError(
            SourceSpot(spec.spot.file, spec.spot.line, spec.spot.column, key), error.message
        ) from None


def compile_job(spec: JobSpec) -> CompiledJob:
    """Every template of ``spec`` parsed; raises ``PipelineError`` on bad syntax."""
    return CompiledJob(
        spec=spec,
        steps=tuple(compile_step(s, spec.defaults_working_directory) for s in spec.steps),
        env=tuple((k, _job_template(spec, v, f"env.{k}")) for k, v in spec.env),
        outputs=tuple((k, _job_template(spec, v, f"outputs.{k}")) for k, v in spec.outputs),
        cache_post_if=parse_condition(CACHE_POST_IF),
    )
