"""GitLab's CI/CD variable expressions (`rules:if`, `only:variables`): parse and evaluate."""

# What is checked against GitLab (lib/gitlab/ci/pipeline/expression/, docs "CI/CD variable
# expressions") and what deliberately differs is spelled out in the docstrings of
# `parser.parse`, `evaluate` and the `re2` module; the short version:
#
# * operands: `$NAME` (NAME is `\w+`, ASCII), '…' / "…" strings with no escapes, `null`,
#   `true`/`false` (GitLab's lexer has them for boolean inputs), `/re/flags` with flags from
#   [ismU]; operators `==` `!=` `=~` `!~` (tightest), `&&`, then `||`; parentheses; at most
#   100 tokens.  `${NAME}` is accepted here although GitLab's lexer rejects it.
# * values are a string, a boolean or null; a bare operand is true when it is "present" in
#   Ruby's sense: not null, not false, and not an empty or whitespace-only string.
# * `=~` / `!~`: the left side is matched as a string (null is ""), so `$UNDEFINED =~ /^$/`
#   is true as in GitLab.  A right side that is a variable or string holding `/re/flags` is
#   used as a regex; any other string makes `=~` a substring test, right side containing the
#   left, exactly GitLab's documented oddity.  A null right side never matches.
#
# The work is split by job: `nodes` (the tree and `ExpressionError`), `lexer` and `parser`
# (text to tree), `re2` (GitLab's regex dialect in Python) and, here, evaluation.  This module
# is the public face and re-exports what callers need from the others.

from __future__ import annotations

import re
from collections.abc import Mapping

from runner.pipeline.gitlab.lexer import MAX_TOKENS
from runner.pipeline.gitlab.nodes import (
    And,
    Boolean,
    Comparison,
    Expression,
    ExpressionError,
    Null,
    Or,
    Regex,
    String,
    Value,
    Variable,
)
from runner.pipeline.gitlab.parser import parse
from runner.pipeline.gitlab.re2 import RegexError, compile_re2

__all__ = [
    "MAX_TOKENS",
    "And",
    "Boolean",
    "Comparison",
    "Expression",
    "ExpressionError",
    "Null",
    "Or",
    "Regex",
    "String",
    "Value",
    "Variable",
    "evaluate",
    "parse",
]


def evaluate(expression: str | Expression, variables: Mapping[str, str]) -> bool:
    """Whether ``expression`` holds, with undefined variables as null.

    ``variables`` should be the job's variables *unexpanded*: GitLab evaluates rules
    against the raw values (``Context#variables_hash``), so ``A: $UNDEFINED`` makes
    ``$A`` the non-empty string ``"$UNDEFINED"``.  ``&&`` and ``||`` treat each side as
    true or false as a bare operand would be (present: not null, not false, not blank),
    which is the documented meaning; GitLab's Ruby code lets a defined but empty
    variable count as true on the left of ``&&``/``||`` (gitlab-org/gitlab#358775), a
    bug not reproduced here.  Raises `ExpressionError` for a text that does not parse,
    and for a regex held in a variable that GitLab's RE2 accepts but Python cannot run.
    """
    tree = parse(expression) if isinstance(expression, str) else expression
    try:
        return _truth(tree, variables)
    except _EvaluationError as exc:
        text = expression if isinstance(expression, str) else str(tree)
        raise ExpressionError(str(exc), text, exc.column) from None


class _EvaluationError(Exception):
    """A regex held by a variable that cannot be run; `evaluate` adds the expression's text."""

    def __init__(self, message: str, column: int) -> None:
        super().__init__(message)
        self.column = column


def _truth(tree: Expression, variables: Mapping[str, str]) -> bool:
    if isinstance(tree, Or):
        return _truth(tree.left, variables) or _truth(tree.right, variables)
    if isinstance(tree, And):
        return _truth(tree.left, variables) and _truth(tree.right, variables)
    if isinstance(tree, Comparison):
        return _compare(tree, variables)
    return _present(_value(tree, variables))


def _value(node: Value, variables: Mapping[str, str]) -> str | bool | None:
    if isinstance(node, Variable):
        return variables.get(node.name)
    if isinstance(node, String | Boolean):
        return node.value
    return None


def _present(value: str | bool | None) -> bool:
    """Ruby's ``present?``, which GitLab applies to the expression's result."""
    if isinstance(value, str):
        return value.strip() != ""
    return bool(value)


def _compare(node: Comparison, variables: Mapping[str, str]) -> bool:
    left = _value(node.left, variables)
    if node.operator in ("==", "!="):
        right = _value(node.right, variables) if not isinstance(node.right, Regex) else None
        return (left == right) == (node.operator == "==")
    return _matches(node, left, variables) == (node.operator == "=~")


def _matches(node: Comparison, left: str | bool | None, variables: Mapping[str, str]) -> bool:
    """GitLab's ``=~``: regex search, or "right contains left" when the right is no regex."""
    text = "" if left is None else left if isinstance(left, str) else str(left).lower()
    try:
        if isinstance(node.right, Regex):
            return compile_re2(node.right.source, node.right.flags).search(text) is not None
        right = _value(node.right, variables)
        if not isinstance(right, str):
            return False
        pattern = _regex_in_value(right)
    except RegexError as exc:
        raise _EvaluationError(f"{exc.kind} regex in {node.right}: {exc}", node.column) from None
    if pattern is None:
        return text in right
    return pattern.search(text) is not None


_RUBY_REGEX_SYNTAX = re.compile(r"^/(.*)/([ismU]*)$", re.MULTILINE)


def _regex_in_value(value: str) -> re.Pattern[str] | None:
    """The regex a ``/re/flags`` string stands for; None (substring test) if it is not one.

    GitLab unescapes ``\\/`` first and tries Ruby's ``^/(.*)/([ismU]*)$`` (line anchors);
    a text that is not valid RE2 falls back to the substring test, silently, as there.
    """
    found = _RUBY_REGEX_SYNTAX.search(value.replace("\\/", "/"))
    if found is None:
        return None
    try:
        return compile_re2(found.group(1), found.group(2))
    except RegexError as exc:
        if exc.kind == "invalid":
            return None
        raise
