"""The tree a parsed expression is, and how each node evaluates.

Nodes are immutable and hold no evaluation state, so one parsed tree is shared by every
evaluation of the same text (`parse` caches them).  ``&&`` and ``||`` return one of their
operands, not a boolean, exactly as GitHub's do (``a || 'default'``).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator
from contextvars import ContextVar, Token
from dataclasses import dataclass

from runner.pipeline.github.expr.context import EvalContext
from runner.pipeline.github.expr.errors import ExprError
from runner.pipeline.github.expr.values import (
    FilteredArray,
    Value,
    compare,
    is_primitive,
    lookup,
    loose_equal,
    to_number,
    to_string,
    truthy,
)

MAX_MEMORY = 1024 * 1024
"""GitHub's limit, in bytes of UTF-16 text, on what one evaluation may hold at once."""

_MEMORY: ContextVar[int] = ContextVar("expr_memory", default=0)


def start_evaluation() -> Token[int]:
    """Reset the memory count for a new evaluation; pass the result to `end_evaluation`."""
    return _MEMORY.set(0)


def end_evaluation(token: Token[int]) -> None:
    """Restore the memory count of the evaluation that was running before, if any."""
    _MEMORY.reset(token)


class Node:
    """Base of every node."""

    column: int = 0

    def evaluate(self, ctx: EvalContext) -> Value:
        """This node's value in ``ctx``."""
        raise NotImplementedError

    def children(self) -> tuple[Node, ...]:
        """The nodes directly below this one."""
        return ()

    def walk(self) -> Iterator[Node]:
        """This node and every node below it."""
        stack: list[Node] = [self]
        while stack:
            node = stack.pop()
            yield node
            stack.extend(node.children())


@dataclass(frozen=True, eq=False)
class Literal(Node):
    """``null``, ``true``, ``1.5``, ``'text'`` (and a property name after ``.``)."""

    value: Value
    column: int = 0

    def evaluate(self, ctx: EvalContext) -> Value:
        return self.value


@dataclass(frozen=True, eq=False)
class Wildcard(Node):
    """The ``*`` of ``a.*`` and ``a[*]``; only meaningful as an index."""

    column: int = 0

    def evaluate(self, ctx: EvalContext) -> Value:
        return "*"


@dataclass(frozen=True, eq=False)
class ContextRef(Node):
    """A top-level name: ``github``, ``env``, ``matrix``, ...; stored lower-case."""

    name: str
    column: int = 0

    def evaluate(self, ctx: EvalContext) -> Value:
        return ctx.contexts.get(self.name)


def _integer_index(key: Value) -> int | None:
    number = to_number(key)
    if math.isnan(number) or number < 0 or number >= 2**31:
        return None
    return int(number)


def _index_one(item: Value, key: Value, wildcard: bool, out: list[Value]) -> None:
    """Apply one index to one item of a filtered array, collecting what it yields."""
    if isinstance(item, dict):
        if wildcard:
            out.extend(item.values())
        elif is_primitive(key):
            found, value = lookup(item, to_string(key))
            if found:
                out.append(value)
    elif isinstance(item, list):
        if wildcard:
            out.extend(item)
        else:
            position = _integer_index(key)
            if position is not None and position < len(item):
                out.append(item[position])


@dataclass(frozen=True, eq=False)
class Index(Node):
    """``target[key]`` and ``target.key``; null when absent, never an error."""

    target: Node
    key: Node
    column: int = 0

    def children(self) -> tuple[Node, ...]:
        return (self.target, self.key)

    def evaluate(self, ctx: EvalContext) -> Value:  # noqa: PLR0911 - GitHub's Index.cs cases
        target = self.target.evaluate(ctx)
        wildcard = isinstance(self.key, Wildcard)
        key = None if wildcard else self.key.evaluate(ctx)
        if isinstance(target, FilteredArray):
            result = FilteredArray()
            for item in target:
                _index_one(item, key, wildcard, result)
            return result
        if isinstance(target, dict):
            if wildcard:
                return FilteredArray(target.values())
            if is_primitive(key):
                return lookup(target, to_string(key))[1]
            return None
        if isinstance(target, list):
            if wildcard:
                return FilteredArray(target)
            position = _integer_index(key)
            return target[position] if position is not None and position < len(target) else None
        return FilteredArray() if wildcard else None


@dataclass(frozen=True, eq=False)
class Not(Node):
    """``!operand``."""

    operand: Node
    column: int = 0

    def children(self) -> tuple[Node, ...]:
        return (self.operand,)

    def evaluate(self, ctx: EvalContext) -> Value:
        return not truthy(self.operand.evaluate(ctx))


@dataclass(frozen=True, eq=False)
class And(Node):
    """``a && b && ...``: the first falsy operand, else the last one."""

    operands: tuple[Node, ...]
    column: int = 0

    def children(self) -> tuple[Node, ...]:
        return self.operands

    def evaluate(self, ctx: EvalContext) -> Value:
        value: Value = None
        for operand in self.operands:
            value = operand.evaluate(ctx)
            if not truthy(value):
                return value
        return value


@dataclass(frozen=True, eq=False)
class Or(Node):
    """``a || b || ...``: the first truthy operand, else the last one."""

    operands: tuple[Node, ...]
    column: int = 0

    def children(self) -> tuple[Node, ...]:
        return self.operands

    def evaluate(self, ctx: EvalContext) -> Value:
        value: Value = None
        for operand in self.operands:
            value = operand.evaluate(ctx)
            if truthy(value):
                return value
        return value


_COMPARISONS: dict[str, Callable[[Value, Value], bool]] = {
    "==": loose_equal,
    "!=": lambda a, b: not loose_equal(a, b),
    "<": lambda a, b: compare(a, b) == -1,
    ">": lambda a, b: compare(a, b) == 1,
    "<=": lambda a, b: loose_equal(a, b) or compare(a, b) == -1,
    ">=": lambda a, b: loose_equal(a, b) or compare(a, b) == 1,
}


@dataclass(frozen=True, eq=False)
class Comparison(Node):
    """``left OP right`` for ``== != < <= > >=``; always a boolean."""

    operator: str
    left: Node
    right: Node
    column: int = 0

    def children(self) -> tuple[Node, ...]:
        return (self.left, self.right)

    def evaluate(self, ctx: EvalContext) -> Value:
        return _COMPARISONS[self.operator](self.left.evaluate(ctx), self.right.evaluate(ctx))


Implementation = Callable[[EvalContext, tuple[Node, ...]], Value]
"""A function's body: it gets the argument nodes unevaluated (``format`` is lazy)."""


@dataclass(frozen=True, eq=False)
class Call(Node):
    """``name(args...)``; ``name`` is lower-case, ``written`` as in the text."""

    name: str
    written: str
    args: tuple[Node, ...]
    implementation: Implementation
    column: int = 0

    def children(self) -> tuple[Node, ...]:
        return self.args

    def evaluate(self, ctx: EvalContext) -> Value:
        if ctx.allowed_functions is not None and self.name not in ctx.allowed_functions:
            raise ExprError(f"Function '{self.written}' is not available here", self.column)
        # Memory as the runner counts it: the results of a call's arguments are released
        # when the call returns; its own result is held until its caller returns.
        before = _MEMORY.get()
        result = self.implementation(ctx, self.args)
        held = before + (2 * len(result) if isinstance(result, str) else 0)
        if held > MAX_MEMORY:
            raise ExprError(
                "The maximum allowed memory size was exceeded while evaluating the following "
                f"expression: {self.written}(...)",
                self.column,
            )
        _MEMORY.set(held)
        return result
