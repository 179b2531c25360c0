"""What one evaluation sees: the contexts, the job's status and the hashFiles answerer."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass

from runner.pipeline.github.expr.values import Value

STATUSES = frozenset(("success", "failure", "cancelled"))


@dataclass(frozen=True)
class EvalContext:
    """The inputs of an evaluation; evaluation itself has no side effects.

    Args:
        contexts: ``github``, ``env``, ``matrix``, ``steps``, ``needs``, ... by lower-case
            name.  A context that is missing reads as null.
        status: the job's status so far, for ``success()``, ``failure()``, ``cancelled()``.
        hash_files: answers ``hashFiles(patterns)`` with the hash, or None when it is not
            known yet (then `NeedsHash` is raised; see there).  None: hashFiles is an error.
        allowed_functions: lower-case names of the functions allowed here; None: all.
    """

    contexts: Mapping[str, Value]
    status: str = "success"
    hash_files: Callable[[tuple[str, ...]], str | None] | None = None
    allowed_functions: frozenset[str] | None = None
