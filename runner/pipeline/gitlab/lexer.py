"""Splits a GitLab variable expression into tokens as GitLab's lexer does, with precise errors."""

# Regex literals are compiled while lexing, because GitLab reports a bad one as a syntax error
# when the file is loaded, not when the rule is evaluated.

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

from runner.pipeline.gitlab.nodes import (
    Boolean,
    ExpressionError,
    Null,
    Regex,
    String,
    Value,
    Variable,
)
from runner.pipeline.gitlab.re2 import RegexError, compile_re2

__all__ = ["MAX_TOKENS", "Token", "TokenKind", "tokenize"]

MAX_TOKENS = 100
"""GitLab's lexer gives up after this many tokens; an expression with more is invalid there."""

TokenKind = Literal["value", "regex", "cmp", "and", "or", "lparen", "rparen", "end"]


@dataclass(frozen=True)
class Token:
    """One token; ``column`` is 1-based, ``node`` is set for values and regex literals."""

    kind: TokenKind
    text: str
    column: int
    node: Value | Regex | None = None


def tokenize(expression: str) -> list[Token]:
    """The tokens of ``expression``, the last of them an ``end`` token.

    Raises `ExpressionError` at the first text that is no valid token (including a regex
    literal RE2 rejects or this runner cannot run), or at the token past `MAX_TOKENS`.
    """
    return _Lexer(expression).run()


_WHITESPACE = " \t\r\n\f\v"
_NAME = re.compile(r"\w+", re.ASCII)
_WORD = re.compile(r"[A-Za-z_]\w*", re.ASCII)
_BRACED = re.compile(r"\$\{(\w+)\}", re.ASCII)
_REGEX_FLAGS = "ismU"
_OPERATORS: dict[str, TokenKind] = {
    "==": "cmp",
    "!=": "cmp",
    "=~": "cmp",
    "!~": "cmp",
    "&&": "and",
    "||": "or",
}
_LONE_OPERATORS = {
    "=": "unknown operator '=': compare with == or match with =~",
    "!": "unknown operator '!': GitLab has no negation; use != or !~",
    "&": "unknown operator '&': 'and' is written &&",
    "|": "unknown operator '|': 'or' is written ||",
}
_KEYWORDS: dict[str, Value] = {"null": Null(), "true": Boolean(True), "false": Boolean(False)}


class _Lexer:
    """Splits an expression into tokens the way GitLab's lexer does, but with precise errors."""

    def __init__(self, expression: str) -> None:
        self.text = expression
        self.pos = 0
        self.tokens: list[Token] = []

    def error(self, message: str, pos: int | None = None) -> ExpressionError:
        return ExpressionError(message, self.text, (self.pos if pos is None else pos) + 1)

    def run(self) -> list[Token]:
        text = self.text
        while True:
            while self.pos < len(text) and text[self.pos] in _WHITESPACE:
                self.pos += 1
            if self.pos >= len(text):
                break
            if len(self.tokens) == MAX_TOKENS:
                raise self.error(f"more than {MAX_TOKENS} tokens, GitLab's limit for an expression")
            self.tokens.append(self.token())
        self.tokens.append(Token("end", "", len(text) + 1))
        return self.tokens

    def token(self) -> Token:
        start, char = self.pos, self.text[self.pos]
        two = self.text[start : start + 2]
        if char in "()":
            self.pos += 1
            return Token("lparen" if char == "(" else "rparen", char, start + 1)
        if two in _OPERATORS:
            self.pos += 2
            return Token(_OPERATORS[two], two, start + 1)
        scanner = _SCANNERS.get(char)
        if scanner is not None:
            node = scanner(self)
            kind: TokenKind = "regex" if isinstance(node, Regex) else "value"
            return Token(kind, self.text[start : self.pos], start + 1, node)
        if char in _LONE_OPERATORS:
            raise self.error(_LONE_OPERATORS[char])
        return Token("value", *self.keyword())

    def keyword(self) -> tuple[str, int, Value]:
        start = self.pos
        word = _WORD.match(self.text, start)
        if word is None:
            raise self.error(f"unexpected character {self.text[start]!r}")
        node = _KEYWORDS.get(word.group())
        if node is None:
            raise self.error(
                f"unknown word {word.group()!r}: quote strings ('{word.group()}') "
                "and write variables as $NAME"
            )
        self.pos = word.end()
        return word.group(), start + 1, node

    def variable(self) -> Value:
        start = self.pos
        if self.text.startswith("${", start):
            braced = _BRACED.match(self.text, start)
            if braced is None:
                raise self.error("'${' must be followed by a variable name and '}'")
            self.pos = braced.end()
            return Variable(braced.group(1))
        name = _NAME.match(self.text, start + 1)
        if name is None:
            raise self.error("'$' must be followed by a variable name")
        self.pos = name.end()
        return Variable(name.group())

    def string(self) -> Value:
        start, quote = self.pos, self.text[self.pos]
        end = self.text.find(quote, start + 1)
        newline = self.text.find("\n", start + 1)
        if end == -1 or -1 < newline < end:
            raise self.error(f"unterminated string: no closing {quote} on the same line")
        self.pos = end + 1
        return String(self.text[start + 1 : end])

    def regex(self) -> Regex:
        start, text = self.pos, self.text
        source: list[str] = []
        pos = start + 1
        while pos < len(text) and text[pos] != "/":
            pair = text[pos : pos + 2]
            if pair[0] == "\\" and len(pair) == 2:
                source.append("/" if pair == "\\/" else pair)
                pos += 2
            else:
                source.append(pair[0])
                pos += 1
        if pos >= len(text):
            raise self.error("unterminated regex: no closing '/'")
        if pos - start - 1 < 2:
            raise self.error(
                "GitLab needs at least two characters between a regex's slashes "
                "(write /a+/ or /[a]/, not /a/)"
            )
        pos += 1
        flags_start = pos
        while pos < len(text) and text[pos] in _REGEX_FLAGS:
            pos += 1
        if pos < len(text) and _NAME.match(text[pos]):
            raise self.error(f"unknown regex flag {text[pos]!r}: GitLab accepts i, m, s and U", pos)
        node = Regex("".join(source), text[flags_start:pos])
        try:
            compile_re2(node.source, node.flags)
        except RegexError as exc:
            raise self.error(f"{exc.kind} regex {node}: {exc}", start) from None
        self.pos = pos
        return node


_SCANNERS: dict[str, Callable[[_Lexer], Value | Regex]] = {
    "$": _Lexer.variable,
    '"': _Lexer.string,
    "'": _Lexer.string,
    "/": _Lexer.regex,
}
