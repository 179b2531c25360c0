"""The one exception tree, and whose fault each branch is.

::

    RunnerError                      exit code decided by ``Fault``
    ├── UserInputError               the user's pipeline file or command line  -> 2
    │   ├── PipelineError            carries file, line, column and key path
    │   └── UsageError               bad CLI arguments or combinations
    ├── HostSetupError               the machine is not set up for rootless containers -> 3
    ├── EngineError                  podman/buildah misbehaved while we drove it -> 3
    ├── CoordinatorError             the coordinator (GitLab) refused us or sent nonsense -> 4
    └── JobError                     a job's own doing (never raised past the executor) -> 1

The CLI maps ``RunnerError.fault`` to an exit code in exactly one place
(``runner.cli.exit_code_for``). Messages are written for the person at the
terminal: one paragraph, what is wrong, where, and what to do about it.
"""

from __future__ import annotations

import contextlib
import enum
from collections.abc import Iterator, Sequence
from dataclasses import dataclass


class Fault(enum.Enum):
    """Whose fault an error is; decides the exit code."""

    USER_INPUT = "user input"
    HOST_SETUP = "host setup"
    COORDINATOR = "coordinator"
    JOB = "job"


class RunnerError(Exception):
    """Base of every error runner explains to its user (no traceback is shown)."""

    fault: Fault = Fault.HOST_SETUP
    hint: str | None = None
    """What to do about it, when the message itself does not say (``runner: hint: ...``)."""

    def with_hint(self, hint: str) -> RunnerError:
        """This error with ``hint`` set (for ``raise X(...).with_hint(...)``)."""
        self.hint = hint
        return self


class UserInputError(RunnerError):
    """The user gave us something we cannot act on."""

    fault = Fault.USER_INPUT


class UsageError(UserInputError):
    """Bad command-line arguments."""


@dataclass(frozen=True)
class SourceSpot:
    """Where in a pipeline file something is; every field is optional but the file."""

    file: str
    line: int | None = None
    column: int | None = None
    key: str | None = None

    def __str__(self) -> str:
        where = self.file
        if self.line is not None:
            where += f":{self.line}"
            if self.column is not None:
                where += f":{self.column}"
        if self.key:
            where += f" (key '{self.key}')"
        return where


class PipelineError(UserInputError):
    """The pipeline file is malformed; carries the spot it was found at."""

    def __init__(self, spot: SourceSpot, message: str) -> None:
        self.spot = spot
        self.message = message
        super().__init__(f"{spot}: {message}")


class PipelineErrors(PipelineError):
    """Several problems in one file, each with its spot: fixed in one go, not one run each.

    ``spot`` and ``message`` are the first problem's, for callers that show one.
    """

    def __init__(self, errors: Sequence[PipelineError]) -> None:
        flat: list[PipelineError] = []
        for error in errors:
            flat += error.errors if isinstance(error, PipelineErrors) else (error,)
        self.errors: tuple[PipelineError, ...] = tuple(flat)
        self.spot, self.message = flat[0].spot, flat[0].message
        UserInputError.__init__(self, f"{len(flat)} problems in {flat[0].spot.file}:\n"
                                + "\n".join(f"  {error}" for error in flat))


def combined(errors: Sequence[PipelineError]) -> PipelineError:
    """One error for ``errors`` (at least one): the error itself, or ``PipelineErrors``."""
    return errors[0] if len(errors) == 1 else PipelineErrors(errors)


def raise_all(errors: Sequence[PipelineError]) -> None:
    """Raise ``combined(errors)`` if there are any."""
    if errors:
        raise combined(errors)


@contextlib.contextmanager
def collecting(errors: list[PipelineError]) -> Iterator[None]:
    """Run the block; a ``PipelineError`` it raises is added to ``errors`` instead."""
    try:
        yield
    except PipelineError as error:
        errors.append(error)


class HostSetupError(RunnerError):
    """The host cannot run rootless containers as configured; carries the fix."""

    fault = Fault.HOST_SETUP


class EngineError(RunnerError):
    """podman or buildah failed in a way that is not the job's doing."""

    fault = Fault.HOST_SETUP


class CoordinatorError(RunnerError):
    """The coordinator (GitLab's runner API) refused a request or answered something unusable."""

    fault = Fault.COORDINATOR

    def __init__(self, message: str, status: int | None = None) -> None:
        self.status = status
        super().__init__(message)


class JobError(RunnerError):
    """A job failed; used inside the executor only, the CLI sees job results."""

    fault = Fault.JOB
