"""Turning one compiled GitHub step into a ``StepPlan``: every expression evaluated against
the job's contexts as they are when the step starts (actions/runner ``StepsRunner.cs``
and ``ActionRunner.cs`` for the order, ``Handlers/ScriptHandler.cs`` for the
environment and working directory)."""

from __future__ import annotations

import contextlib
import functools
import posixpath
from collections.abc import Mapping
from dataclasses import dataclass, field

from runner.pipeline.github import contexts
from runner.pipeline.github.builtins import BuiltinError, builtin_for
from runner.pipeline.github.compiled import CompiledJob, CompiledStep, format_step_name
from runner.pipeline.github.evaluation import EvaluationError, Evaluator
from runner.pipeline.github.expr import Template, Value, truthy
from runner.pipeline.github.jobstate import JobState
from runner.pipeline.github.shells import ShellError, script_for
from runner.pipeline.steps import Action, JobFacts, Messages, StepPlan


@dataclass(frozen=True)
class Planned:
    """A step to hand to the executor (or to report skipped)."""

    plan: StepPlan
    env: Mapping[str, str] = field(default_factory=dict)
    """The step's ``env`` context, for workflow commands that read it."""
    timeout_minutes: float | None = None
    post: Action | None = None
    """The action's post step, registered because the main step runs."""
    notes: tuple[str, ...] = ()
    """Notices for the step's log (inputs a built-in ignores), shown once it has started."""


@dataclass(frozen=True)
class PlanFailure:
    """A step that fails before it runs (a bad expression or input), with GitHub's message."""

    name: str
    """The step's display name, as far as it could be evaluated."""
    message: str
    where: str | None
    continue_on_error: bool = False


class StepPlanner:
    """Evaluates steps for one job attempt; shares the job's state with its session."""

    def __init__(
        self,
        job: CompiledJob,
        facts: JobFacts,
        state: JobState,
        evaluator: Evaluator,
        messages: Messages,
    ) -> None:
        self._job = job
        self._facts = facts
        self._state = state
        self._evaluator = evaluator
        self._messages = messages
        spec = job.spec
        self.github = contexts.github_context(spec, facts)
        self._runner = contexts.runner_context(spec, facts)
        self._needs = contexts.needs_context(spec.needs, spec.need_ids, facts.needs)
        self._job_env: dict[str, str] = {}

    def _status(self) -> str:
        return self._state.status(self._facts.cancelled())

    def _contexts(self, env: Mapping[str, str], action: str) -> dict[str, Value]:
        spec = self._job.spec
        github = dict(self.github)
        github["action"] = action
        return {
            "github": github,
            "env": dict(env),
            "vars": {k: contexts.to_value(v) for k, v in spec.vars.items()},
            "secrets": dict(self._facts.secrets),
            "inputs": {k: contexts.to_value(v) for k, v in spec.inputs.items()},
            "matrix": {k: contexts.to_value(v) for k, v in spec.matrix.items()},
            "strategy": {k: contexts.to_value(v) for k, v in spec.strategy.items()},
            "needs": self._needs,
            "steps": self._state.steps_context(),
            "job": contexts.job_context(self._facts, self._status()),
            "runner": self._runner,
        }

    def job_end_context(self) -> dict[str, Value]:
        """Contexts for ``jobs.<id>.outputs``, evaluated when the job ends."""
        return self._contexts({**self._job_env, **self._state.env}, "")

    async def start(self) -> bool:
        """Evaluate the workflow's and job's ``env`` once; False (error logged) if one fails."""
        for key, template in self._job.env:
            try:
                ctx = self._evaluator.context(self._contexts({}, ""), self._status())
                value = await self._evaluator.run(functools.partial(template.render, ctx))
            except EvaluationError as error:
                where = str(self._job.spec.spot)
                self._messages.annotate("error", f"env.{key}: {error.message}", where)
                return False
            self._job_env[key] = value
        return True

    async def _render(self, template: Template, env: Mapping[str, str], action: str) -> str:
        ctx = self._evaluator.context(self._contexts(env, action), self._status())
        return await self._evaluator.run(lambda: template.render(ctx))

    async def _value(self, template: Template, env: Mapping[str, str], action: str) -> Value:
        ctx = self._evaluator.context(self._contexts(env, action), self._status())
        return await self._evaluator.run(lambda: template.evaluate(ctx))

    async def _step_env(self, step: CompiledStep) -> dict[str, str]:
        """``env`` context: workflow and job env, then ``GITHUB_ENV``, then the step's."""
        env = {**self._job_env, **self._state.env}
        step_env: dict[str, str] = {}
        for key, template in step.env:
            step_env[key] = await self._render(template, env, step.spec.id)
        return {**env, **step_env}

    def _where(self, step: CompiledStep, key: str) -> str:
        """``file:line`` of ``key`` in the step (``env`` finds ``env.NAME``), else the step's."""
        spots = step.spec.spots
        found = dict(spots).get(key) or next(
            (spot for name, spot in spots if name.startswith(f"{key}.")), step.spec.spot
        )
        return f"{found.file}:{found.line}"

    async def main(self, step: CompiledStep) -> Planned | PlanFailure:
        """The plan of main step ``step``, or why it failed before it could run."""
        self._evaluator.new_step()
        spec = step.spec
        try:
            env = await self._step_env(step)
        except EvaluationError as error:
            return PlanFailure(step.display, error.message, self._where(step, "env"))
        try:
            ctx = self._evaluator.context(self._contexts(env, spec.id), self._status())
            runs = truthy(await self._evaluator.run(lambda: step.condition.evaluate(ctx)))
        except EvaluationError as error:
            return PlanFailure(step.display, error.message, self._where(step, "if"))
        name = await self._display_name(step, env)
        if not runs:
            reason = f"if: {spec.condition or 'success()'}"
            return Planned(StepPlan(spec.id, name, None, skipped=reason, spot=spec.spot))
        continue_on_error = await self._continue_on_error(step, env)
        try:
            timeout = await self._timeout(step, env)
            action, post, notes = await self._action(step, env)
            workdir = await self._workdir(step, env)
        except EvaluationError as error:
            key = "run" if step.run is not None else "with"
            return PlanFailure(name, error.message, self._where(step, key), continue_on_error)
        except (ShellError, BuiltinError) as error:
            where = self._where(step, "shell" if step.run is not None else "uses")
            return PlanFailure(name, str(error), where, continue_on_error)
        plan = StepPlan(
            key=spec.id,
            name=name,
            action=action,
            env=self._process_env(env, spec.id),
            workdir=workdir,
            path=self._state.path,
            timeout_s=timeout * 60 if timeout else None,
            continue_on_error=continue_on_error,
            spot=spec.spot,
        )
        return Planned(plan, env, timeout, post, notes)

    async def _display_name(self, step: CompiledStep, env: Mapping[str, str]) -> str:
        """The name evaluated, or for a ``run`` step ``Run`` and its script's first line
        evaluated; on an error the unevaluated one (GitHub: a "best effort")."""
        source = step.name if step.name is not None else step.run
        if source is None:
            return step.display
        with contextlib.suppress(EvaluationError):
            rendered = await self._render(source, env, step.spec.id)
            named = format_step_name("" if step.name is not None else "Run ", rendered)
            return named or step.display
        return step.display

    async def post(
        self, main: CompiledStep, key: str, name: str, action: Action
    ) -> Planned | PlanFailure:
        """The plan of a post step (``post-if`` of the action, default ``always()``)."""
        self._evaluator.new_step()
        try:
            env = await self._step_env(main)
            condition = self._job.cache_post_if
            ctx = self._evaluator.context(self._contexts(env, main.spec.id), self._status())
            runs = truthy(await self._evaluator.run(lambda: condition.evaluate(ctx)))
        except EvaluationError as error:
            return PlanFailure(name, error.message, self._where(main, "uses"))
        if not runs:
            reason = f"if: {condition.text}"
            return Planned(StepPlan(key, name, None, skipped=reason, spot=main.spec.spot))
        state = self._state.states.get(main.spec.id, {})
        process_env = self._process_env(
            {**env, **{f"STATE_{k}": v for k, v in state.items()}}, main.spec.id
        )
        plan = StepPlan(
            key=key,
            name=name,
            action=action,
            env=process_env,
            path=self._state.path,
            spot=main.spec.spot,
        )
        return Planned(plan, env)

    def _process_env(self, env: Mapping[str, str], action: str) -> tuple[tuple[str, str], ...]:
        """The process environment: the executor's, the step's, then ``GITHUB_*``/``RUNNER_*``
        (set last, as actions/runner does, so a workflow cannot override them)."""
        github = dict(self.github)
        github["action"] = action
        merged: dict[str, str] = dict(self._facts.env)
        merged.update(env)
        merged.update(contexts.default_env(github, self._runner))
        return tuple(merged.items())

    async def _continue_on_error(self, step: CompiledStep, env: Mapping[str, str]) -> bool:
        try:
            return as_bool(await self._value(step.continue_on_error, env, step.spec.id))
        except EvaluationError as error:
            where = self._where(step, "continue-on-error")
            self._messages.annotate("error", f"continue-on-error: {error.message}", where)
            return False

    async def _timeout(self, step: CompiledStep, env: Mapping[str, str]) -> float | None:
        """``timeout-minutes``; an error is logged and the step runs without one (GitHub)."""
        if step.timeout_minutes is None:
            return None
        try:
            value = await self._value(step.timeout_minutes, env, step.spec.id)
            minutes = float(value) if isinstance(value, float | str) else 0.0
        except (EvaluationError, ValueError) as error:
            self._messages.annotate(
                "error",
                "An error occurred when attempting to determine the step timeout."
                f" {getattr(error, 'message', error)}",
                self._where(step, "timeout-minutes"),
            )
            return None
        return minutes if minutes > 0 else None

    async def _action(
        self, step: CompiledStep, env: Mapping[str, str]
    ) -> tuple[Action, Action | None, tuple[str, ...]]:
        spec = step.spec
        if step.run is not None:
            script = await self._render(step.run, env, spec.id)
            shell = spec.shell or self._job.spec.defaults_shell
            return script_for(shell, script), None, ()
        inputs = {}
        for key, template in step.inputs:
            inputs[key] = await self._render(template, env, spec.id)
        built = builtin_for(spec.uses or "", inputs, self._facts.workspace)
        return built.action, built.post, built.notes

    async def _workdir(self, step: CompiledStep, env: Mapping[str, str]) -> str:
        if step.working_directory is None:
            return ""
        rendered = await self._render(step.working_directory, env, step.spec.id)
        return posixpath.join(self._facts.workspace, rendered) if rendered else ""


def as_bool(value: Value) -> bool:
    """A boolean setting (``continue-on-error``) from a literal or an expression's value:
    the text ``false`` is false, unlike an expression's truthiness of a string."""
    if isinstance(value, str):
        return value.strip().lower() == "true"
    return truthy(value)
