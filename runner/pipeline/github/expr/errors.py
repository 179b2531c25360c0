"""What parsing or evaluating an expression can raise."""

from __future__ import annotations


class ExprError(Exception):
    """An expression that does not parse or cannot be evaluated.

    ``message`` reads as GitHub's own (``Unexpected symbol: 'b'. Located at position 3
    within expression: a b``); ``column`` is the 0-based offset of the culprit in the text
    given to the parser, so that callers can turn it into a file:line:column spot.
    Deliberately not a `runner.errors.RunnerError`: the caller knows the file, line and key
    and raises the `PipelineError`.
    """

    def __init__(self, message: str, column: int = 0) -> None:
        super().__init__(message)
        self.message = message
        self.column = column

    def shifted(self, offset: int) -> ExprError:
        """The same error with its column moved by ``offset`` (an expression inside a text)."""
        return ExprError(self.message, self.column + offset)


class NeedsHash(Exception):
    """``hashFiles(...)`` was called and its answer is not known yet.

    The caller hashes ``patterns`` (asynchronously, in the job's workspace), makes the answer
    available through ``EvalContext.hash_files`` and evaluates again: evaluation has no side
    effects, so doing it twice is safe.
    """

    def __init__(self, patterns: tuple[str, ...]) -> None:
        super().__init__(f"hashFiles{patterns!r} needs the files hashed")
        self.patterns = patterns
