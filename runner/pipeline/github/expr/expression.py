"""A parsed expression: the public face of the tree, and the cached `parse`."""

from __future__ import annotations

import functools

from runner.pipeline.github.expr.context import EvalContext
from runner.pipeline.github.expr.nodes import (
    Call,
    ContextRef,
    Node,
    end_evaluation,
    start_evaluation,
)
from runner.pipeline.github.expr.parser import parse_tree
from runner.pipeline.github.expr.values import FilteredArray, Value


class Expr:
    """One parsed expression (the text inside ``${{ }}``), immutable and shareable."""

    __slots__ = ("_contexts", "_functions", "root", "text")

    def __init__(self, text: str, root: Node) -> None:
        self.text = text
        self.root = root
        self._contexts: frozenset[str] | None = None
        self._functions: frozenset[str] | None = None

    def evaluate(self, ctx: EvalContext) -> Value:
        """The value of this expression in ``ctx``.

        Raises `ExprError` for what GitHub fails at run time (a bad format string, bad JSON
        in ``fromJSON``, a function not allowed here) and `NeedsHash` (see there).
        """
        token = start_evaluation()
        try:
            value = self.root.evaluate(ctx)
        finally:
            end_evaluation(token)
        return list(value) if isinstance(value, FilteredArray) else value

    def contexts(self) -> frozenset[str]:
        """The top-level contexts this expression reads, lower-case (``{'github', 'env'}``)."""
        if self._contexts is None:
            self._contexts = frozenset(
                n.name for n in self.root.walk() if isinstance(n, ContextRef)
            )
        return self._contexts

    def functions(self) -> frozenset[str]:
        """The functions this expression calls, lower-case (``{'success', 'hashfiles'}``)."""
        if self._functions is None:
            self._functions = frozenset(n.name for n in self.root.walk() if isinstance(n, Call))
        return self._functions

    def __repr__(self) -> str:
        return f"Expr({self.text!r})"


@functools.lru_cache(maxsize=4096)
def parse(text: str) -> Expr:
    """``text`` (without ``${{ }}``) parsed; raises `ExprError`.

    Cached: a matrix repeats the same texts in every job it makes.
    """
    return Expr(text, parse_tree(text))
