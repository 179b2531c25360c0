"""Tokens to a tree, by operator precedence, as actions/runner's ``ExpressionParser`` does.

A shunting-yard parser with no recursion, so a long or deeply parenthesised text cannot
exhaust Python's stack; the tree's depth is then checked against GitHub's limit of 50.
Precedence, tightest first: ``.`` and ``[]``; ``!``; ``< <= > >=``; ``== !=``; ``&&``;
``||``; all binary operators associate to the left.  Nested ``&&`` (and ``||``) are
flattened into one node, as GitHub does, which matters for the depth limit.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

from runner.pipeline.github.expr.errors import ExprError
from runner.pipeline.github.expr.functions import FUNCTIONS
from runner.pipeline.github.expr.lexer import Kind, Token, tokenize, unexpected
from runner.pipeline.github.expr.nodes import (
    And,
    Call,
    Comparison,
    ContextRef,
    Index,
    Literal,
    Node,
    Not,
    Or,
    Wildcard,
)

MAX_DEPTH = 50
"""GitHub's limit on the depth of an expression's tree (``ExpressionConstants.MaxDepth``)."""

CONTEXT_NAMES = frozenset(
    ("github", "env", "vars", "secrets", "inputs", "matrix", "strategy", "needs", "steps",
     "job", "jobs", "runner")
)
"""Every context a workflow expression may name; where each is available is `availability`'s."""

_PRECEDENCE = {
    ".": 19, "[": 19, "!": 16, "<": 11, "<=": 11, ">": 11, ">=": 11, "==": 10, "!=": 10,
    "&&": 6, "||": 5,
}
_BARRIERS = frozenset((Kind.START_GROUP, Kind.START_INDEX, Kind.START_PARAMETERS, Kind.SEPARATOR))


@dataclass(frozen=True, eq=False)
class _PendingCall(Node):
    """A function whose arguments are still being read."""

    token: Token


def _precedence(token: Token) -> int:
    if token.kind == Kind.DEREFERENCE:
        return _PRECEDENCE["."]
    if token.kind == Kind.START_INDEX:
        return _PRECEDENCE["["]
    if token.kind == Kind.OPERATOR:
        return _PRECEDENCE[token.raw]
    return 0  # closing tokens and separators flush everything down to their opener


class _Parser:
    def __init__(self, text: str) -> None:
        self.text = text
        self.operators: list[Token] = []
        self.operands: list[Node] = []
        self.last: Token | None = None
        self.count = 0

    def run(self, tokens: Iterator[Token]) -> Node:
        for token in tokens:
            self.count += 1
            if token.kind in (Kind.START_GROUP, Kind.START_INDEX, Kind.START_PARAMETERS,
                              Kind.END_GROUP, Kind.END_INDEX, Kind.END_PARAMETERS,
                              Kind.SEPARATOR, Kind.DEREFERENCE, Kind.OPERATOR):
                self._push_operator(token)
            else:
                self.operands.append(self._operand(token))
            self.last = token
        while self.operators:
            self._flush()
        (root,) = self.operands
        return root

    def _operand(self, token: Token) -> Node:
        if token.kind == Kind.NAMED_VALUE:
            name = token.raw.lower()
            if name not in CONTEXT_NAMES:
                raise unexpected(token.raw, token.index, self.text, "Unrecognized named-value")
            return ContextRef(name, token.index)
        if token.kind == Kind.FUNCTION:
            if token.raw.lower() not in FUNCTIONS:
                raise unexpected(token.raw, token.index, self.text, "Unrecognized function")
            return _PendingCall(token)
        if token.kind == Kind.WILDCARD:
            return Wildcard(token.index)
        return Literal(token.value, token.index)

    def _push_operator(self, token: Token) -> None:
        left_to_right = token.kind not in (Kind.START_GROUP, Kind.START_PARAMETERS) and not (
            token.kind == Kind.OPERATOR and token.raw == "!"
        )
        if left_to_right:
            precedence = _precedence(token)
            while (
                self.operators
                and self.operators[-1].kind not in _BARRIERS
                and precedence <= _precedence(self.operators[-1])
            ):
                self._flush()
        if token.kind == Kind.END_GROUP:
            self.operators.pop()  # the "(": grouping makes no node
        elif token.kind == Kind.END_INDEX:
            self.operators.pop()
            key = self.operands.pop()
            target = self.operands.pop()
            self.operands.append(Index(target, key, token.index))
        elif token.kind == Kind.END_PARAMETERS:
            self._close_call()
        else:
            self.operators.append(token)

    def _close_call(self) -> None:
        count = 0
        if self.last is None or self.last.kind != Kind.START_PARAMETERS:
            count = 1
            while self.operators[-1].kind == Kind.SEPARATOR:
                self.operators.pop()
                count += 1
        args = tuple(self.operands[len(self.operands) - count :])
        del self.operands[len(self.operands) - count :]
        self.operators.pop()  # the "(" of the call
        pending = self.operands.pop()
        assert isinstance(pending, _PendingCall)
        token = pending.token
        function = FUNCTIONS[token.raw.lower()]
        if len(args) < function.min_args:
            raise unexpected(token.raw, token.index, self.text, "Too few parameters supplied")
        if len(args) > function.max_args:
            raise unexpected(token.raw, token.index, self.text, "Too many parameters supplied")
        if function.name == "case" and len(args) % 2 == 0:
            raise unexpected(
                token.raw, token.index, self.text,
                "Even number of parameters supplied, requires an odd number of parameters",
            )
        self.operands.append(
            Call(token.raw.lower(), token.raw, args, function.body, token.index)
        )

    def _flush(self) -> None:
        token = self.operators.pop()
        if token.raw == "!":
            self.operands.append(Not(self.operands.pop(), token.index))
            return
        right = self.operands.pop()
        left = self.operands.pop()
        if token.kind == Kind.DEREFERENCE:
            self.operands.append(Index(left, right, token.index))
        elif token.raw in ("&&", "||"):
            kind = And if token.raw == "&&" else Or
            parts: list[Node] = []
            for side in (left, right):
                parts.extend(side.operands if isinstance(side, kind) else (side,))
            self.operands.append(kind(tuple(parts), token.index))
        else:
            self.operands.append(Comparison(token.raw, left, right, token.index))


def _check_depth(root: Node) -> None:
    stack = [(root, 1)]
    while stack:
        node, depth = stack.pop()
        if depth > MAX_DEPTH:
            raise ExprError(f"Exceeded max expression depth {MAX_DEPTH}", 0)
        stack.extend((child, depth + 1) for child in node.children())


def wrap_in_success(root: Node) -> Node:
    """``success() && (root)`` built directly (no second parse), flattened as GitHub's is."""
    success = Call("success", "success", (), FUNCTIONS["success"].body, 0)
    operands = root.operands if isinstance(root, And) else (root,)
    wrapped = And((success, *operands), 0)
    _check_depth(wrapped)
    return wrapped


def parse_tree(text: str) -> Node:
    """The tree of ``text``; `ExprError` (GitHub's message, 0-based column) if it has none."""
    if not text.strip():
        return Literal(None)  # GitHub: an empty expression is null (templates refuse it)
    parser = _Parser(text)
    root = parser.run(tokenize(text))
    if parser.count > MAX_DEPTH:  # fewer tokens make fewer nodes: too few to be too deep
        _check_depth(root)
    return root
