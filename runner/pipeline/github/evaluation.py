"""Evaluating a job's expressions, with ``hashFiles`` answered by the executor.

Expressions are pure, so an evaluation that needs a hash it does not have yet
raises ``NeedsHash``; the session awaits ``JobFacts.hash_files`` (the
workspace belongs to the job's uid slice), caches the answer and evaluates
again. The cache is cleared at each step, since steps change the workspace.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import TypeVar

from runner.pipeline.github.expr import EvalContext, ExprError, NeedsHash, Value
from runner.pipeline.steps import HashFiles

T = TypeVar("T")

_MAX_HASH_ROUNDS = 32
"""A bound on re-evaluations: each round answers one more ``hashFiles`` call."""


class EvaluationError(Exception):
    """An expression failed at run time; ``message`` in the expression language's words."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class Evaluator:
    """Makes ``EvalContext`` values and runs evaluations to the end, hashes included."""

    def __init__(self, hash_files: HashFiles | None) -> None:
        self._hash_files = hash_files
        self._hashes: dict[tuple[str, ...], str] = {}

    def new_step(self) -> None:
        """Forget cached hashes: the next step sees the workspace as it is then."""
        self._hashes.clear()

    def context(self, contexts: Mapping[str, Value], status: str) -> EvalContext:
        """An evaluation context whose ``hashFiles`` answers from the cache."""
        return EvalContext(contexts=contexts, status=status, hash_files=self._hashes.get)

    async def run(self, evaluate: Callable[[], T]) -> T:
        """``evaluate()``, computing each hash it asks for; ``EvaluationError`` on failure."""
        for _ in range(_MAX_HASH_ROUNDS):
            try:
                return evaluate()
            except NeedsHash as need:
                if self._hash_files is None:
                    raise EvaluationError("hashFiles() is not available in this run") from None
                self._hashes[tuple(need.patterns)] = await self._hash_files(
                    tuple(need.patterns)
                )
            except ExprError as error:
                raise EvaluationError(error.message) from None
        raise EvaluationError("too many hashFiles() calls in one expression")

    def run_now(self, evaluate: Callable[[], T]) -> T:
        """``evaluate()`` with only the hashes already known (for ``job_end``, which cannot
        wait)."""
        try:
            return evaluate()
        except NeedsHash as need:
            patterns = ", ".join(need.patterns)
            raise EvaluationError(
                f"hashFiles('{patterns}') cannot be computed after the last step"
            ) from None
        except ExprError as error:
            raise EvaluationError(error.message) from None
