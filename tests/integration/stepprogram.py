"""A tiny stepped-job dialect for executor tests: no expressions, fixed rules.

The executor's side of stepped jobs (one process per step, environment files
read back, built-in actions, masks added mid-stream, job outputs and
conditions) is tested here without the GitHub dialect, so a failure points at
the executor. Rules: a step runs while no earlier step failed, unless it is
``always``; ``KEY=VALUE`` lines of GITHUB_OUTPUT become step outputs, those of
GITHUB_ENV the next steps' environment; a line ``::add-mask::V`` masks V; a step
may name ``$needs.JOB.KEY`` in its script, replaced by that need's output.
Module-level classes: the pipeline is pickled for ``model_exec``.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass

from runner.pipeline.steps import (
    Action,
    JobEnd,
    JobFacts,
    Messages,
    NeedResult,
    RunScript,
    StepEnd,
    StepInfo,
    StepPlan,
    StepStatus,
)


@dataclass(frozen=True)
class TStep:
    name: str
    action: Action
    always: bool = False
    continue_on_error: bool = False
    timeout_s: float | None = None


def sh(name: str, script: str, **kw: object) -> TStep:
    return TStep(name, RunScript(script=script, shell=("sh", "-e", "{0}")), **kw)  # type: ignore[arg-type]


@dataclass(frozen=True)
class TProgram:
    items: tuple[TStep, ...]
    outputs: tuple[str, ...] = ()
    """Step output names that become the job's outputs."""

    @property
    def steps(self) -> tuple[StepInfo, ...]:
        return tuple(StepInfo(id=f"s{i}", name=s.name) for i, s in enumerate(self.items))

    def session(self, facts: JobFacts, messages: Messages) -> TSession:
        return TSession(self, facts, messages)


class TSession:
    def __init__(self, program: TProgram, facts: JobFacts, messages: Messages) -> None:
        self.program, self.facts, self.messages = program, facts, messages
        self.index = 0
        self.failed = False
        self.env: dict[str, str] = {}
        self.path: list[str] = []
        self.outputs: dict[str, str] = {}
        self.summaries: list[str] = []
        self.held = b""

    def setup_files(self) -> Mapping[str, bytes]:
        return {"event.json": b'{"ok": true}'}

    async def next(self) -> StepPlan | None:
        if self.index >= len(self.program.items):
            return None
        step = self.program.items[self.index]
        key = f"s{self.index}"
        self.index += 1
        if (self.failed or self.facts.cancelled()) and not step.always:
            return StepPlan(key=key, name=step.name, action=None, skipped="an earlier step failed")
        action = step.action
        if isinstance(action, RunScript):
            script = re.sub(r"\$needs\.([\w-]+)\.([\w-]+)",
                            lambda m: dict(self.facts.needs.get(
                                m.group(1), NeedResult(StepStatus.SKIPPED)).outputs).get(
                                m.group(2), ""), action.script)
            if "$hash" in script and self.facts.hash_files is not None:
                script = script.replace("$hash", await self.facts.hash_files(("**/*.txt",)))
            action = RunScript(script=script, shell=action.shell, fallback=action.fallback,
                               extension=action.extension)
        env = (*self.facts.env, *self.env.items(), ("RUNNER_TEMP", self.facts.temp),
               ("HOME", "/github/home"))
        return StepPlan(key=key, name=step.name, action=action, env=env,
                        path=tuple(self.path), timeout_s=step.timeout_s,
                        continue_on_error=step.continue_on_error)

    def output(self, data: bytes) -> None:
        data = self.held + data
        cut = data.rfind(b"\n") + 1
        self.held = data[cut:]
        for line in data[:cut].splitlines(keepends=True):
            text = line.decode(errors="replace").rstrip("\n")
            if text.startswith("::add-mask::"):
                self.messages.add_mask(text[len("::add-mask::"):])
                continue
            if text.startswith("::group::"):
                self.messages.group(text[len("::group::"):])
                continue
            if text == "::endgroup::":
                self.messages.end_group()
                continue
            if text.startswith("::error::"):
                self.messages.annotate("error", text[len("::error::"):], None)
                continue
            self.messages.write(line)

    def flush(self) -> None:
        if self.held:
            self.messages.write(self.held)
            self.held = b""

    def ended(self, plan: StepPlan, end: StepEnd) -> None:
        if end.status is StepStatus.FAILURE and not plan.continue_on_error:
            self.failed = True
        pairs = _pairs(end.files.get("GITHUB_OUTPUT", b""))
        self.outputs.update({f"{plan.key}.{k}": v for k, v in pairs})
        self.outputs.update({f"{plan.key}.{k}": v for k, v in end.outputs.items()})
        self.env.update(_pairs(end.files.get("GITHUB_ENV", b"")))
        self.path[:0] = [p for p in end.files.get("GITHUB_PATH", b"").decode().splitlines() if p]
        if summary := end.files.get("GITHUB_STEP_SUMMARY", b""):
            self.summaries.append(summary.decode())

    def job_end(self) -> JobEnd:
        outputs = tuple((name.split(".", 1)[1], self.outputs[name])
                        for name in self.program.outputs if name in self.outputs)
        if self.facts.cancelled():
            return JobEnd(StepStatus.CANCELLED, outputs)
        return JobEnd(StepStatus.FAILURE if self.failed else StepStatus.SUCCESS, outputs)

    def summary(self) -> str:
        return "".join(self.summaries)


def _pairs(data: bytes) -> list[tuple[str, str]]:
    return [tuple(line.split("=", 1)) for line in data.decode().splitlines()  # type: ignore[misc]
            if "=" in line]


@dataclass(frozen=True)
class OnlyIf:
    """A job condition: run only if need ``job`` ended with ``result``."""

    job: str
    result: StepStatus

    @property
    def text(self) -> str:
        return f"needs.{self.job}.result == '{self.result.value}'"

    def holds(self, needs: Mapping[str, NeedResult], cancelled: bool) -> bool:
        return not cancelled and self.job in needs and needs[self.job].result is self.result
