"""The functions expressions may call, with GitHub's argument counts and semantics.

Each body gets its argument nodes unevaluated and evaluates what it needs: ``format``
evaluates only the arguments its format string uses, ``join`` reads its separator only when
there are two items or more, as in actions/runner.
"""

from __future__ import annotations

from dataclasses import dataclass

from runner.pipeline.github.expr.context import EvalContext
from runner.pipeline.github.expr.errors import ExprError, NeedsHash
from runner.pipeline.github.expr.formatting import format_string
from runner.pipeline.github.expr.jsonvalues import from_json, to_json
from runner.pipeline.github.expr.nodes import Implementation, Node
from runner.pipeline.github.expr.values import (
    Value,
    fold,
    is_primitive,
    lookup,
    loose_equal,
    to_string,
)

MAX_ARGS = 255


@dataclass(frozen=True)
class Function:
    """A function: its name as GitHub documents it, its argument counts and its body."""

    name: str
    min_args: int
    max_args: int
    body: Implementation


def _contains(ctx: EvalContext, args: tuple[Node, ...]) -> Value:
    haystack = args[0].evaluate(ctx)
    if is_primitive(haystack):
        needle = args[1].evaluate(ctx)
        return is_primitive(needle) and fold(to_string(needle)) in fold(to_string(haystack))
    if isinstance(haystack, list) and haystack:
        needle = args[1].evaluate(ctx)
        return any(loose_equal(item, needle) for item in haystack)
    return False


def _starts_with(ctx: EvalContext, args: tuple[Node, ...]) -> Value:
    text, prefix = args[0].evaluate(ctx), args[1].evaluate(ctx)
    if not (is_primitive(text) and is_primitive(prefix)):
        return False
    return fold(to_string(text)).startswith(fold(to_string(prefix)))


def _ends_with(ctx: EvalContext, args: tuple[Node, ...]) -> Value:
    text, suffix = args[0].evaluate(ctx), args[1].evaluate(ctx)
    if not (is_primitive(text) and is_primitive(suffix)):
        return False
    return fold(to_string(text)).endswith(fold(to_string(suffix)))


def _join(ctx: EvalContext, args: tuple[Node, ...]) -> Value:
    items = args[0].evaluate(ctx)
    if isinstance(items, list) and items:
        separator = ","
        if len(items) > 1 and len(args) > 1:
            given = args[1].evaluate(ctx)
            if is_primitive(given):
                separator = to_string(given)
        return separator.join(to_string(item) for item in items)
    if is_primitive(items):
        return to_string(items)
    return ""


def _to_json(ctx: EvalContext, args: tuple[Node, ...]) -> Value:
    return to_json(args[0].evaluate(ctx))


def _from_json(ctx: EvalContext, args: tuple[Node, ...]) -> Value:
    return from_json(to_string(args[0].evaluate(ctx)), args[0].column)


def _case(ctx: EvalContext, args: tuple[Node, ...]) -> Value:
    """``case(pred1, value1, pred2, value2, ..., default)``; each predicate a boolean."""
    for position in range(0, len(args) - 1, 2):
        predicate = args[position].evaluate(ctx)
        if not isinstance(predicate, bool):
            raise ExprError(
                "case predicate must evaluate to a boolean value", args[position].column
            )
        if predicate:
            return args[position + 1].evaluate(ctx)
    return args[-1].evaluate(ctx)


def _hash_files(ctx: EvalContext, args: tuple[Node, ...]) -> Value:
    patterns = tuple(to_string(arg.evaluate(ctx)) for arg in args)
    if ctx.hash_files is None:
        raise ExprError("hashFiles() is not available here", args[0].column)
    answer = ctx.hash_files(patterns)
    if answer is None:
        raise NeedsHash(patterns)
    return answer


def _needs_results(ctx: EvalContext, args: tuple[Node, ...]) -> list[str]:
    """The ``needs.<job>.result`` of each job named (``success('build')`` in a job's if)."""
    needs = ctx.contexts.get("needs")
    results = []
    for arg in args:
        job = lookup(needs, to_string(arg.evaluate(ctx)))[1] if isinstance(needs, dict) else None
        result = lookup(job, "result")[1] if isinstance(job, dict) else None
        results.append(to_string(result))
    return results


def _success(ctx: EvalContext, args: tuple[Node, ...]) -> Value:
    if args:
        return all(result == "success" for result in _needs_results(ctx, args))
    return ctx.status == "success"


def _failure(ctx: EvalContext, args: tuple[Node, ...]) -> Value:
    if args:
        return any(result == "failure" for result in _needs_results(ctx, args))
    return ctx.status == "failure"


def _cancelled(ctx: EvalContext, args: tuple[Node, ...]) -> Value:
    return ctx.status == "cancelled"


def _always(ctx: EvalContext, args: tuple[Node, ...]) -> Value:
    return True


FUNCTIONS: dict[str, Function] = {
    f.name.lower(): f
    for f in (
        Function("contains", 2, 2, _contains),
        Function("startsWith", 2, 2, _starts_with),
        Function("endsWith", 2, 2, _ends_with),
        Function("format", 1, MAX_ARGS, format_string),
        Function("join", 1, 2, _join),
        Function("toJSON", 1, 1, _to_json),
        Function("fromJSON", 1, 1, _from_json),
        Function("case", 3, 2**31, _case),
        Function("hashFiles", 1, MAX_ARGS, _hash_files),
        Function("success", 0, MAX_ARGS, _success),
        Function("failure", 0, MAX_ARGS, _failure),
        Function("cancelled", 0, 0, _cancelled),
        Function("always", 0, 0, _always),
    )
}
"""Every function, by lower-case name (GitHub's function names ignore case)."""

STATUS_FUNCTIONS = frozenset(("success", "failure", "cancelled", "always"))
