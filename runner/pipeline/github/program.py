"""A GitHub job's steps as the executor's ``StepProgram`` (``runner.pipeline.steps``)."""

from __future__ import annotations

from runner.pipeline.github.compiled import compile_job
from runner.pipeline.github.session import GithubSession
from runner.pipeline.github.stepspec import JobSpec
from runner.pipeline.steps import JobFacts, Messages, StepInfo


class GithubProgram:
    """A GitHub job's steps, templates parsed once at construction (``PipelineError`` if
    one does not parse: the loader reports syntax errors before this is built)."""

    def __init__(self, spec: JobSpec) -> None:
        self.job = compile_job(spec)

    @property
    def steps(self) -> tuple[StepInfo, ...]:
        """The main steps as written, for listings."""
        return tuple(
            StepInfo(id=s.spec.id, name=s.display, spot=s.spec.spot, uses=s.spec.uses)
            for s in self.job.steps
        )

    def session(self, facts: JobFacts, messages: Messages) -> GithubSession:
        """A fresh session for one attempt of the job."""
        return GithubSession(self.job, facts, messages)
