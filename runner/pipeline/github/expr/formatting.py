"""``format('{0} and {1}', a, b)``: GitHub's format strings, errors included.

``{N}`` inserts argument N as text (N at most 255), ``{{`` and ``}}`` are literal braces,
anything else with a brace is "The following format string is invalid".  A format specifier
(``{0:x}``) parses but is refused when used, as the runner refuses it for every kind of
value it can meet here.  Arguments are evaluated only when the format string uses them, and
each only once.  Errors quote the format string only when the workflow writes it (a
literal), never one computed at run time, which may hold a secret.
"""

from __future__ import annotations

from runner.pipeline.github.expr.context import EvalContext
from runner.pipeline.github.expr.errors import ExprError
from runner.pipeline.github.expr.nodes import Literal, Node
from runner.pipeline.github.expr.values import Value, to_string


def _kind_name(value: Value) -> str:
    if value is None:
        return "Null"
    if isinstance(value, bool):
        return "Boolean"
    if isinstance(value, int | float):
        return "Number"
    if isinstance(value, str):
        return "String"
    return "Array" if isinstance(value, list) else "Object"


def _arg_index(text: str, start: int) -> tuple[int, int] | None:
    """The argument number written at ``start`` and the offset after it; None if none."""
    end = start
    while end < len(text) and "0" <= text[end] <= "9":
        end += 1
    if end == start or int(text[start:end]) > 255:
        return None
    return int(text[start:end]), end


def _specifiers(text: str, start: int) -> tuple[str, int] | None:
    """The ``:spec`` written at ``start`` (maybe none) and the offset of its ``}``."""
    if start < len(text) and text[start] == "}":
        return "", start
    if start >= len(text) or text[start] != ":":
        return None
    spec: list[str] = []
    pos = start + 1
    while pos < len(text):
        if text[pos] != "}":
            spec.append(text[pos])
            pos += 1
        elif text[pos + 1 : pos + 2] == "}":
            spec.append("}")
            pos += 2
        else:
            return "".join(spec), pos
    return None


class _Args:
    """The format arguments, each evaluated on first use."""

    def __init__(self, ctx: EvalContext, nodes: tuple[Node, ...]) -> None:
        self.ctx = ctx
        self.nodes = nodes
        self.values: dict[int, Value] = {}

    def get(self, index: int) -> Value:
        if index not in self.values:
            self.values[index] = self.nodes[index].evaluate(self.ctx)
        return self.values[index]


def format_string(ctx: EvalContext, args: tuple[Node, ...]) -> Value:
    """The body of ``format``."""
    text = to_string(args[0].evaluate(ctx))
    column = args[0].column
    values = _Args(ctx, args[1:])
    # GitHub quotes the format string in its errors; here only one written in the workflow,
    # as a computed one may hold a secret.
    shown = text if isinstance(args[0], Literal) else "(computed, not shown)"
    invalid = ExprError(f"The following format string is invalid: {shown}", column)
    pieces: list[str | int] = []
    specs: list[tuple[int, str]] = []
    pos = 0
    while pos < len(text):
        left, right = text.find("{", pos), text.find("}", pos)
        if left >= 0 and (right < 0 or right > left):
            if text[left + 1 : left + 2] == "{":
                pieces.append(text[pos : left + 1])
                pos = left + 2
                continue
            index = _arg_index(text, left + 1) if right > left + 1 else None
            spec = _specifiers(text, index[1]) if index else None
            if index is None or spec is None:
                raise invalid
            if index[0] >= len(args) - 1:
                raise ExprError(
                    "The following format string references more arguments than were "
                    f"supplied: {shown}",
                    column,
                )
            pieces.append(text[pos:left])
            pieces.append(index[0])
            if spec[0]:
                specs.append((index[0], spec[0]))
            pos = spec[1] + 1
        elif right >= 0:
            if text[right + 1 : right + 2] != "}":
                raise invalid
            pieces.append(text[pos : right + 1])
            pos = right + 2
        else:
            pieces.append(text[pos:])
            break
    # Arguments are evaluated after the whole format string is checked, as in the runner.
    if specs:
        used, spec_text = specs[0]
        kind = _kind_name(values.get(used))
        raise ExprError(
            f"The format specifiers '{spec_text}' are not valid for objects of type '{kind}'",
            column,
        )
    return "".join(p if isinstance(p, str) else to_string(values.get(p)) for p in pieces)
