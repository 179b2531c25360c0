"""Expression text to tokens, with GitHub's rules for which token may follow which.

A port of the behaviour of actions/runner's ``LexicalAnalyzer``: one left-to-right pass, no
regular expressions over the whole text (so no backtracking surprises on long input).  A
token that may not follow the one before it (``a b``, ``'x'.y``, ``)`` with no ``(``) is
reported as "Unexpected symbol" with its position, exactly where GitHub reports it.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterator
from dataclasses import dataclass

from runner.pipeline.github.expr.errors import ExprError
from runner.pipeline.github.expr.values import Value, parse_number

MAX_LENGTH = 21000
"""GitHub's limit on one expression's length (``ExpressionConstants.MaxLength``)."""


class Kind:
    """What a token is; plain ints because the lexer compares kinds for every token."""

    START_GROUP = 0
    START_INDEX = 1
    START_PARAMETERS = 2
    END_GROUP = 3
    END_INDEX = 4
    END_PARAMETERS = 5
    SEPARATOR = 6
    DEREFERENCE = 7
    WILDCARD = 8
    OPERATOR = 9
    NULL = 10
    BOOLEAN = 11
    NUMBER = 12
    STRING = 13
    PROPERTY = 14
    FUNCTION = 15
    NAMED_VALUE = 16


@dataclass(frozen=True, slots=True)
class Token:
    """One token: its kind, its text as written, its 0-based offset and its value."""

    kind: int
    raw: str
    index: int
    value: Value = None


# One character class each, so matching is linear: no backtracking whatever the input.
_SPACES = re.compile(r"\s*")
_WORD_REST = re.compile(r"[^\s()\[\],.!><=&|]*")
_NUMBER_REST = re.compile(r"[^\s()\[\],!><=&|]*")
_KEYWORD = re.compile(r"[A-Za-z_][A-Za-z0-9_-]*")
_TWO_CHAR = frozenset(("!=", ">=", "<=", "==", "&&", "||"))
_ONE_CHAR = frozenset("!><")

_OPERAND_END = frozenset(
    (Kind.END_GROUP, Kind.END_PARAMETERS, Kind.END_INDEX, Kind.WILDCARD, Kind.PROPERTY,
     Kind.NAMED_VALUE)
)
_VALUE_END = _OPERAND_END | {Kind.NULL, Kind.BOOLEAN, Kind.NUMBER, Kind.STRING}
_OPERAND_START = frozenset(
    (None, Kind.SEPARATOR, Kind.START_GROUP, Kind.START_PARAMETERS, Kind.START_INDEX,
     Kind.OPERATOR)
)
_FOLLOWS: dict[int, frozenset[int | None]] = {
    Kind.START_GROUP: _OPERAND_START,
    Kind.START_INDEX: _OPERAND_END,
    Kind.START_PARAMETERS: frozenset((Kind.FUNCTION,)),
    Kind.END_GROUP: _VALUE_END,
    Kind.END_INDEX: _VALUE_END,
    Kind.END_PARAMETERS: _VALUE_END | {Kind.START_PARAMETERS},
    Kind.SEPARATOR: _VALUE_END,
    Kind.DEREFERENCE: _OPERAND_END,
    Kind.WILDCARD: frozenset((Kind.START_INDEX, Kind.DEREFERENCE)),
    Kind.NULL: _OPERAND_START,
    Kind.BOOLEAN: _OPERAND_START,
    Kind.NUMBER: _OPERAND_START,
    Kind.STRING: _OPERAND_START,
    Kind.PROPERTY: frozenset((Kind.DEREFERENCE,)),
    Kind.FUNCTION: _OPERAND_START,
    Kind.NAMED_VALUE: _OPERAND_START,
}
_CLOSES = {
    Kind.END_GROUP: Kind.START_GROUP,
    Kind.END_INDEX: Kind.START_INDEX,
    Kind.END_PARAMETERS: Kind.START_PARAMETERS,
}
OPERATOR_KINDS = frozenset(
    (Kind.START_GROUP, Kind.START_INDEX, Kind.START_PARAMETERS, Kind.END_GROUP,
     Kind.END_INDEX, Kind.END_PARAMETERS, Kind.SEPARATOR, Kind.DEREFERENCE, Kind.OPERATOR)
)


def _skip_spaces(text: str, pos: int) -> int:
    match = _SPACES.match(text, pos)
    assert match is not None  # a starred class always matches
    return match.end()


def unexpected(token_raw: str, index: int, text: str, what: str = "Unexpected symbol") -> ExprError:
    """GitHub's parse error for the token ``token_raw`` at ``index`` in ``text``."""
    return ExprError(
        f"{what}: '{token_raw}'. Located at position {index + 1} within expression: {text}",
        index,
    )


class _Lexer:
    """State of one pass over ``text``; `tokenize` is the way to use it."""

    def __init__(self, text: str) -> None:
        self.text = text
        self.pos = 0
        self.last: Token | None = None
        self.unclosed: list[Token] = []

    def run(self) -> Iterator[Token]:
        text, length = self.text, len(self.text)
        while True:
            self.pos = _skip_spaces(text, self.pos)
            if self.pos >= length:
                return
            yield self._add(self._next(text[self.pos]))

    def _next(self, c: str) -> Token:  # noqa: PLR0911 - one return per token shape
        start = self.pos
        last_kind = self.last.kind if self.last else None
        if c in "([)],*":
            self.pos += 1
            if c == "(":
                kind = Kind.START_PARAMETERS if last_kind == Kind.FUNCTION else Kind.START_GROUP
            elif c == ")":
                inside_call = self.unclosed and self.unclosed[-1].kind == Kind.START_PARAMETERS
                kind = Kind.END_PARAMETERS if inside_call else Kind.END_GROUP
            else:
                kind = {"[": Kind.START_INDEX, "]": Kind.END_INDEX, ",": Kind.SEPARATOR,
                        "*": Kind.WILDCARD}[c]
            return Token(kind, c, start)
        if c == "'":
            return self._string()
        if c in "!><=&|":
            return self._operator()
        if c == ".":
            if last_kind in _OPERAND_START:
                return self._number()
            self.pos += 1
            return Token(Kind.DEREFERENCE, c, start)
        if c in "+-" or "0" <= c <= "9":
            return self._number()
        return self._keyword()

    def _word_end(self, start: int, *, dots: bool) -> int:
        """Where a keyword (or, with ``dots``, a number) that starts at ``start`` ends."""
        rest = _NUMBER_REST if dots else _WORD_REST
        match = rest.match(self.text, start + 1)
        assert match is not None  # a starred class always matches
        return match.end()

    def _number(self) -> Token:
        start = self.pos
        self.pos = self._word_end(start, dots=True)
        raw = self.text[start : self.pos]
        number = parse_number(raw) if raw.strip() == raw else float("nan")
        if math.isnan(number):  # not a number GitHub reads
            raise unexpected(raw, start, self.text)
        return Token(Kind.NUMBER, raw, start, number)

    def _keyword(self) -> Token:
        start = self.pos
        self.pos = self._word_end(start, dots=False)
        raw = self.text[start : self.pos]
        if not _KEYWORD.fullmatch(raw):
            raise unexpected(raw, start, self.text)
        if self.last is not None and self.last.kind == Kind.DEREFERENCE:
            return Token(Kind.PROPERTY, raw, start, raw)
        literal = _LITERALS.get(raw)
        if literal is not None:
            return Token(literal[0], raw, start, literal[1])
        ahead = _skip_spaces(self.text, self.pos)
        if ahead < len(self.text) and self.text[ahead] == "(":
            return Token(Kind.FUNCTION, raw, start)
        return Token(Kind.NAMED_VALUE, raw, start)

    def _string(self) -> Token:
        text, start = self.text, self.pos
        parts: list[str] = []
        pos = start + 1
        while True:
            quote = text.find("'", pos)
            if quote < 0:
                raise unexpected(text[start:], start, text)
            parts.append(text[pos:quote])
            if quote + 1 < len(text) and text[quote + 1] == "'":
                parts.append("'")
                pos = quote + 2
                continue
            self.pos = quote + 1
            return Token(Kind.STRING, text[start : self.pos], start, "".join(parts))

    def _operator(self) -> Token:
        text, start = self.text, self.pos
        two = text[start : start + 2]
        if two in _TWO_CHAR:
            self.pos += 2
            return Token(Kind.OPERATOR, two, start)
        if text[start] in _ONE_CHAR:
            self.pos += 1
            return Token(Kind.OPERATOR, text[start], start)
        end = self._word_end(start, dots=False)
        raise unexpected(text[start:end], start, text)

    def _add(self, token: Token) -> Token:
        """Check that ``token`` may follow the previous one, then keep it."""
        last_kind = self.last.kind if self.last else None
        kind = token.kind
        if kind == Kind.OPERATOR:
            allowed = _OPERAND_START if token.raw == "!" else _VALUE_END
        else:
            allowed = _FOLLOWS[kind]
        if last_kind not in allowed:
            raise unexpected(token.raw, token.index, self.text)
        if kind in (Kind.START_GROUP, Kind.START_INDEX, Kind.START_PARAMETERS):
            self.unclosed.append(token)
        elif kind in _CLOSES:
            if not self.unclosed or self.unclosed[-1].kind != _CLOSES[kind]:
                raise unexpected(token.raw, token.index, self.text)
            self.unclosed.pop()
        elif kind == Kind.SEPARATOR and (
            not self.unclosed or self.unclosed[-1].kind != Kind.START_PARAMETERS
        ):
            raise unexpected(token.raw, token.index, self.text)
        self.last = token
        return token


_LITERALS: dict[str, tuple[int, Value]] = {
    "null": (Kind.NULL, None),
    "true": (Kind.BOOLEAN, True),
    "false": (Kind.BOOLEAN, False),
    "NaN": (Kind.NUMBER, float("nan")),
    "Infinity": (Kind.NUMBER, float("inf")),
}


def tokenize(text: str) -> Iterator[Token]:
    """The tokens of ``text``; raises `ExprError` at the first one GitHub would refuse.

    A generator, so that the parser sees each token before the next is read and reports
    the first problem GitHub reports (``foo bar``: the unknown ``foo``, not ``bar``).  An
    expression that ends too early (``a ==``, ``(a``) is reported as "Unexpected end of
    expression" naming its last token.
    """
    if len(text) > MAX_LENGTH:
        raise ExprError(f"Exceeded max expression length {MAX_LENGTH}", 0)
    lexer = _Lexer(text)
    yield from lexer.run()
    last = lexer.last
    if last is not None:
        dangling = last.kind == Kind.FUNCTION or (
            last.kind in OPERATOR_KINDS and last.kind not in _CLOSES
        )
        if dangling or lexer.unclosed:
            raise unexpected(last.raw, last.index, text, "Unexpected end of expression")
