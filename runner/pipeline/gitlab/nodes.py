"""The syntax tree of a GitLab variable expression, and the error for one GitLab rejects."""

# Kept apart from the lexer, parser and evaluator so that each of them can import the tree
# without importing the others.

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

__all__ = [
    "And",
    "Boolean",
    "Comparison",
    "Expression",
    "ExpressionError",
    "Null",
    "Operator",
    "Or",
    "Regex",
    "String",
    "Value",
    "Variable",
]

Operator = Literal["==", "!=", "=~", "!~"]


class ExpressionError(ValueError):
    """An expression GitLab would reject, with the column (1-based) where the problem is."""

    def __init__(self, message: str, expression: str, column: int) -> None:
        super().__init__(f"{message} at column {column} of expression {expression!r}")
        self.reason = message
        self.expression = expression
        self.column = column


@dataclass(frozen=True)
class Variable:
    """``$NAME``: the variable's value, or null when it is not defined."""

    name: str

    def __str__(self) -> str:
        return f"${self.name}"


@dataclass(frozen=True)
class String:
    """A quoted string; GitLab has no escapes, so it cannot hold its own quote character."""

    value: str

    def __str__(self) -> str:
        quote = "'" if '"' in self.value else '"'
        return f"{quote}{self.value}{quote}"


@dataclass(frozen=True)
class Null:
    """``null``: what an undefined variable evaluates to."""

    def __str__(self) -> str:
        return "null"


@dataclass(frozen=True)
class Boolean:
    """``true`` / ``false``, which GitLab's lexer has too (for interpolated boolean inputs)."""

    value: bool

    def __str__(self) -> str:
        return "true" if self.value else "false"


@dataclass(frozen=True)
class Regex:
    """``/source/flags``; ``source`` has ``\\/`` already turned into ``/``, as GitLab does."""

    source: str
    flags: str = ""

    def __str__(self) -> str:
        return "/" + self.source.replace("/", "\\/") + "/" + self.flags


Value = Variable | String | Null | Boolean


@dataclass(frozen=True)
class Comparison:
    """``left OP right``; ``right`` is a `Regex` only for ``=~`` and ``!~``."""

    operator: Operator
    left: Value
    right: Value | Regex
    column: int = field(default=0, compare=False)
    """Column of the operator, for errors found while evaluating (a bad regex in a variable)."""

    def __str__(self) -> str:
        return f"{self.left} {self.operator} {self.right}"


@dataclass(frozen=True)
class And:
    """``left && right``; binds tighter than ``||``."""

    left: Expression
    right: Expression

    def __str__(self) -> str:
        left = f"({self.left})" if isinstance(self.left, Or) else str(self.left)
        right = f"({self.right})" if isinstance(self.right, Or | And) else str(self.right)
        return f"{left} && {right}"


@dataclass(frozen=True)
class Or:
    """``left || right``."""

    left: Expression
    right: Expression

    def __str__(self) -> str:
        right = f"({self.right})" if isinstance(self.right, Or) else str(self.right)
        return f"{self.left} || {right}"


Expression = Value | Comparison | And | Or
