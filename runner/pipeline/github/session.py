"""The session of one GitHub job attempt: which step runs next, with what, and what it left.

The order of work per step follows actions/runner ``StepsRunner.cs``: the step's
``env`` is evaluated first (an error fails the step without looking at ``if``),
then ``if`` against the job status (an error fails the step), then the name,
then the step's own inputs (``run``, ``with``, ``shell``...; an error fails the
step, ``continue-on-error`` applies). A step that fails before it could run is
not handed to the executor: its error is reported here and the session moves
on. Post steps (``actions/cache``'s save) run after the main steps, the last
registered first, each under its own condition.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Mapping
from dataclasses import dataclass, field, replace

from runner.pipeline.github import contexts, envfiles
from runner.pipeline.github.builtins import action_name
from runner.pipeline.github.compiled import CompiledJob, CompiledStep
from runner.pipeline.github.evaluation import EvaluationError, Evaluator
from runner.pipeline.github.expr import Value, to_string
from runner.pipeline.github.jobstate import JobState
from runner.pipeline.github.planning import PlanFailure, Planned, StepPlanner
from runner.pipeline.github.stepoutput import OutputProcessor
from runner.pipeline.steps import (
    Action,
    JobEnd,
    JobFacts,
    Messages,
    SaveCache,
    StepEnd,
    StepPlan,
    StepStatus,
)


class _MaskRecorder:
    """``Messages`` that also remembers masked values (job outputs holding one are dropped)."""

    def __init__(self, messages: Messages, masks: list[str]) -> None:
        self._messages = messages
        self._masks = masks

    def write(self, data: bytes) -> None:
        self._messages.write(data)

    def group(self, title: str) -> None:
        self._messages.group(title)

    def end_group(self) -> None:
        self._messages.end_group()

    def notice(self, text: str) -> None:
        self._messages.notice(text)

    def add_mask(self, value: str) -> None:
        self._masks.append(value)
        self._messages.add_mask(value)

    def annotate(self, level: str, text: str, where: str | None) -> None:
        self._messages.annotate(level, text, where)

    def debug(self, text: str) -> None:
        self._messages.debug(text)


@dataclass
class _Post:
    """A post step waiting for the main steps to end."""

    main: CompiledStep
    key: str
    name: str
    action: Action


@dataclass
class _Running:
    """The step the executor is running now."""

    plan: StepPlan
    step_id: str
    timeout_minutes: float | None
    is_checkout: bool = False
    is_post: bool = False
    notes: list[str] = field(default_factory=list)
    """Notices to show once the executor has announced the step."""


class GithubSession:
    """One attempt of one GitHub job (``runner.pipeline.steps.StepSession``)."""

    def __init__(self, job: CompiledJob, facts: JobFacts, messages: Messages) -> None:
        self._job = job
        self._facts = facts
        self._state = JobState(masks=[value for value in facts.secrets.values() if value])
        self._messages: Messages = _MaskRecorder(messages, self._state.masks)
        self._evaluator = Evaluator(facts.hash_files)
        self._output = OutputProcessor(self._messages, facts.workspace)
        self._planner = StepPlanner(job, facts, self._state, self._evaluator, self._messages)
        self._debug = contexts.step_debug(job.spec, facts)
        self._warned: set[str] = set()
        for name, _ in job.env:
            self._warn_unexportable(name, "env")
        for compiled in job.steps:
            for name, _ in compiled.env:
                self._warn_unexportable(name, f"the env of step '{compiled.spec.id}'")
        self._next_main = 0
        self._posts: list[_Post] = []
        self._running: _Running | None = None
        self._setup_failed = False
        self._started = False

    def setup_files(self) -> Mapping[str, bytes]:
        """The event payload behind ``GITHUB_EVENT_PATH``."""
        event = self._job.spec.github.get("event", {})
        return {contexts.EVENT_FILE: json.dumps(event, indent=2).encode()}

    async def next(self) -> StepPlan | None:
        """The next step to run or report skipped; None when none is left."""
        if not self._started:
            self._started = True
            if not await self._planner.start():
                self._setup_failed = True
        if self._setup_failed:
            return None
        while self._next_main < len(self._job.steps):
            step = self._job.steps[self._next_main]
            self._next_main += 1
            planned = await self._planner.main(step)
            plan = self._accept(step, planned)
            if plan is not None:
                return plan
        while self._posts:
            post = self._posts.pop()
            plan = await self._post(post)
            if plan is not None:
                return plan
        return None

    def _accept(self, step: CompiledStep, planned: Planned | PlanFailure) -> StepPlan | None:
        """Turn the planner's answer into what the executor sees, noting failures and skips."""
        spec = step.spec
        if isinstance(planned, PlanFailure):
            self._fail_before_run(spec.id, planned)
            return None
        plan = planned.plan
        if plan.skipped is not None:
            self._state.record(spec.id, StepStatus.SKIPPED, False, {})
            return plan
        running = _Running(plan, spec.id, planned.timeout_minutes, notes=list(planned.notes))
        if spec.uses is not None:
            running.is_checkout = action_name(spec.uses) == "actions/checkout"
            if planned.post is not None:
                post = _Post(step, f"post-{spec.id}", f"Post {plan.name}", planned.post)
                self._posts.append(post)
        self._start(running, planned.env)
        return plan

    def _start(self, running: _Running, env: Mapping[str, str]) -> None:
        self._running = running
        self._output.start_step(env, echo=self._debug)

    def _fail_before_run(self, step_id: str, failure: PlanFailure, post: bool = False) -> None:
        self._messages.annotate("error", f"{failure.name}: {failure.message}", failure.where)
        self._state.record(
            step_id, StepStatus.FAILURE, failure.continue_on_error, {}, in_context=not post
        )

    async def _post(self, post: _Post) -> StepPlan | None:
        planned = await self._planner.post(post.main, post.key, post.name, post.action)
        if isinstance(planned, PlanFailure):
            self._fail_before_run(post.key, planned, post=True)
            return None
        plan = planned.plan
        if plan.skipped is None and isinstance(post.action, SaveCache):
            restored = self._state.records.get(post.main.spec.id)
            if restored is not None and restored.outputs.get("cache-hit") == "true":
                note = f"Cache hit occurred on the primary key {post.action.key}, not saving cache."
                return replace(plan, action=None, skipped=note)
        if plan.skipped is None:
            self._start(_Running(plan, post.key, None, is_post=True), planned.env)
        return plan

    def _notes(self) -> None:
        """Show the running step's pending notices (after the executor's step header)."""
        if self._running is not None and self._running.notes:
            for note in self._running.notes:
                self._messages.notice(note)
            self._running.notes.clear()

    def output(self, data: bytes) -> None:
        """A running step's output; commands in it act in order."""
        self._notes()
        self._output.feed(data)

    def flush(self) -> None:
        """The step's output ended."""
        self._notes()
        self._output.flush()

    def ended(self, plan: StepPlan, end: StepEnd) -> None:
        """The step of ``plan`` ended so; its files and outputs count from now."""
        running = self._running
        if plan.skipped is not None or running is None or running.plan.key != plan.key:
            return
        self._notes()
        self._running = None
        self._output.flush()
        commands = self._output.effects
        effects = envfiles.read_files(end.files)
        for error in effects.errors:
            self._messages.annotate("error", error, None)
        outcome = end.status
        if end.timed_out:
            # The step's own timeout fails it with GitHub's message; the job's running out
            # is the executor's to report (its note), the step then ends as it says.
            minutes = running.timeout_minutes
            if minutes is not None and (plan.timeout_s or 0) <= minutes * 60:
                text = f"The action '{plan.name}' has timed out after {minutes:g} minutes."
                self._messages.annotate("error", text, None)
                outcome = StepStatus.FAILURE
        if outcome is StepStatus.SUCCESS and (effects.failed or commands.failed):
            outcome = StepStatus.FAILURE
        outputs = {**commands.outputs, **dict(effects.outputs), **dict(end.outputs)}
        if running.is_checkout:
            outputs.setdefault("ref", to_string(self._planner.github.get("ref")))
            outputs.setdefault("commit", to_string(self._planner.github.get("sha")))
        for name in [*commands.env, *(name for name, _ in effects.env)]:
            self._warn_unexportable(name, "GITHUB_ENV")
        self._state.apply(effects, commands.env, commands.path)
        self._state.states[plan.key] = {**commands.state, **dict(effects.state)}
        visible = not running.is_post
        self._state.record(
            running.step_id, outcome, plan.continue_on_error, outputs, in_context=visible
        )
        if outcome is StepStatus.CANCELLED and not self._facts.cancelled():
            self._state.failed = True  # stopped by the job's deadline, not by a cancel

    def _warn_unexportable(self, name: str, source: str) -> None:
        """Names a shell cannot export (``A-B``) stay in the ``env`` context but reach no
        process here (GitHub passes any name); say so once per name."""
        if (name.isidentifier() and name.isascii()) or name in self._warned:
            return
        self._warned.add(name)
        self._messages.annotate(
            "warning",
            f"'{name}' from {source} is not a shell variable name: runner cannot pass it to "
            "the step processes (it stays in the env context)",
            None,
        )

    def job_end(self) -> JobEnd:
        """The job's conclusion and its outputs (``jobs.<id>.outputs`` evaluated now)."""
        outputs: list[tuple[str, str]] = []
        for key, template in self._job.outputs:
            ctx = self._evaluator.context(self._planner.job_end_context(), "success")
            try:
                value = self._evaluator.run_now(functools.partial(template.render, ctx))
            except EvaluationError as error:
                self._messages.annotate("error", f"outputs.{key}: {error.message}", None)
                self._state.failed = True
                continue
            if self._state.secret_in(value):
                self._messages.annotate(
                    "warning", f"Skip output '{key}' since it may contain secret.", None
                )
                continue
            outputs.append((key, value))
        if self._facts.cancelled():
            status = StepStatus.CANCELLED
        elif self._state.failed or self._setup_failed:
            status = StepStatus.FAILURE
        else:
            status = StepStatus.SUCCESS
        return JobEnd(status, tuple(outputs))

    def summary(self) -> str:
        """Everything the steps wrote to ``GITHUB_STEP_SUMMARY``, in order, with secrets and
        ``::add-mask::`` values masked (the runner scrubs the file before it is kept)."""
        return self._state.masked("".join(self._state.summaries))

    @property
    def steps_context(self) -> dict[str, Value]:
        """``steps`` as the next expression would see it (for tests and diagnostics)."""
        return self._state.steps_context()
