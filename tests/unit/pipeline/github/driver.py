"""A stand-in for the executor's loop over a GitHub session: it calls ``next()``,
``output()``, ``flush()`` and ``ended()`` in the order the executor does, with
results a test chooses per step key. Not a mock of podman: nothing runs."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

from runner.pipeline.github.program import GithubProgram
from runner.pipeline.github.stepspec import JobSpec, StepSpec
from runner.pipeline.spot import Spot
from runner.pipeline.steps import JobEnd, JobFacts, NeedResult, StepEnd, StepPlan, StepStatus

from .recorder import Recorder

OK = StepEnd(StepStatus.SUCCESS, 0)
FAIL = StepEnd(StepStatus.FAILURE, 1)

GITHUB = {
    "sha": "abc123",
    "ref": "refs/heads/main",
    "ref_name": "main",
    "ref_type": "branch",
    "repository": "acme/app",
    "repository_owner": "acme",
    "actor": "dev",
    "event_name": "push",
    "run_number": 7,
    "server_url": "https://github.com",
    "api_url": "https://api.github.com",
    "workflow": "CI",
    "event": {"head_commit": {"message": "hi"}},
}


def step(index: int, step_id: str | None = None, **fields: object) -> StepSpec:
    """A step at line ``10 + index``; ``run`` defaults to ``true`` unless ``uses`` is given."""
    if "run" not in fields and "uses" not in fields:
        fields["run"] = "true"
    return StepSpec(  # type: ignore[arg-type]
        index=index,
        id=step_id or (f"__run_{index + 1}" if index else "__run"),
        spot=Spot("ci.yml", 10 + index, 7),
        **fields,
    )


def job(*steps: StepSpec, **fields: object) -> JobSpec:
    fields.setdefault("github", dict(GITHUB))
    return JobSpec(  # type: ignore[arg-type]
        workflow="CI",
        job_id="build",
        name="build",
        spot=Spot("ci.yml", 5, 3),
        steps=steps,
        **fields,
    )


def facts(**fields: object) -> JobFacts:
    base: dict[str, object] = {
        "needs": {},
        "secrets": {},
        "workspace": "/w/app",
        "temp": "/w/_temp",
        "attempt": 1,
        "run_id": "42",
    }
    base.update(fields)
    return JobFacts(**base)  # type: ignore[arg-type]


Result = tuple[bytes, StepEnd]


@dataclass
class Run:
    """What a driven session did."""

    plans: list[StepPlan]
    end: JobEnd
    messages: Recorder
    summary: str
    setup: Mapping[str, bytes] = field(default_factory=dict)

    def plan(self, key: str) -> StepPlan:
        return next(plan for plan in self.plans if plan.key == key)

    def keys(self) -> list[str]:
        return [plan.key for plan in self.plans if plan.skipped is None]

    def skipped(self) -> list[str]:
        return [plan.key for plan in self.plans if plan.skipped is not None]

    def env(self, key: str) -> dict[str, str]:
        return dict(self.plan(key).env)


def drive(
    spec: JobSpec,
    results: Mapping[str, Result | StepEnd] | Callable[[StepPlan], Result] | None = None,
    job_facts: JobFacts | None = None,
) -> Run:
    """Run ``spec``'s session to the end; each step ends as ``results`` says (default OK)."""
    messages = Recorder()
    session = GithubProgram(spec).session(job_facts or facts(), messages)
    plans: list[StepPlan] = []

    def result_for(plan: StepPlan) -> Result:
        if callable(results):
            return results(plan)
        found = (results or {}).get(plan.key, OK)
        return found if isinstance(found, tuple) else (b"", found)

    async def loop() -> None:
        while (plan := await session.next()) is not None:
            plans.append(plan)
            if plan.skipped is not None:
                session.ended(plan, StepEnd(StepStatus.SKIPPED))
                continue
            messages.calls.append(("start", plan.key))  # the executor's step header
            output, end = result_for(plan)
            session.output(output)
            session.flush()
            session.ended(plan, end)

    setup = session.setup_files()
    asyncio.run(loop())
    return Run(plans, session.job_end(), messages, session.summary(), setup)


def need(result: StepStatus, **outputs: str) -> NeedResult:
    return NeedResult(result, tuple(outputs.items()))
