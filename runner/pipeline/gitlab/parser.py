"""Parses a GitLab variable expression into its syntax tree, naming the column of any error."""

from __future__ import annotations

from typing import cast

from runner.pipeline.gitlab.lexer import Token, tokenize
from runner.pipeline.gitlab.nodes import (
    And,
    Boolean,
    Comparison,
    Expression,
    ExpressionError,
    Operator,
    Or,
    Regex,
    Value,
)

__all__ = ["parse"]


class _Parser:
    """Recursive descent over the tokens: ``or := and (|| and)*``, ``and := cmp (&& cmp)*``."""

    def __init__(self, expression: str, tokens: list[Token]) -> None:
        self.text = expression
        self.tokens = tokens
        self.pos = 0

    def error(self, message: str, token: Token) -> ExpressionError:
        return ExpressionError(message, self.text, token.column)

    def peek(self) -> Token:
        return self.tokens[self.pos]

    def advance(self) -> Token:
        token = self.tokens[self.pos]
        self.pos += 1
        return token

    def parse(self) -> Expression:
        if self.peek().kind == "end":
            raise self.error("empty expression", self.peek())
        tree = self.disjunction()
        token = self.peek()
        if token.kind == "rparen":
            raise self.error("')' without a matching '('", token)
        if token.kind != "end":
            raise self.error(f"unexpected {token.text!r} after a complete expression", token)
        return tree

    def disjunction(self) -> Expression:
        tree = self.conjunction()
        while self.peek().kind == "or":
            self.advance()
            tree = Or(tree, self.conjunction())
        return tree

    def conjunction(self) -> Expression:
        tree = self.comparison()
        while self.peek().kind == "and":
            self.advance()
            tree = And(tree, self.comparison())
        return tree

    def comparison(self) -> Expression:
        if self.peek().kind == "lparen":
            return self.group()
        left_token = self.peek()
        left = self.operand()
        if isinstance(left, Regex):
            raise self.error("a regex can only be the right side of =~ or !~", left_token)
        operator = self.peek()
        if operator.kind != "cmp":
            return left
        self.advance()
        right_token = self.peek()
        right = self.operand()
        self.check_right(operator, right, right_token)
        if self.peek().kind == "cmp":
            raise self.error("comparisons cannot be chained; join them with && or ||", self.peek())
        return Comparison(cast(Operator, operator.text), left, right, operator.column)

    def check_right(self, operator: Token, right: Value | Regex, token: Token) -> None:
        matching = operator.text in ("=~", "!~")
        if isinstance(right, Regex) and not matching:
            raise self.error("a regex can only be the right side of =~ or !~", token)
        if isinstance(right, Boolean) and matching:
            raise self.error(f"the right side of {operator.text} cannot be true or false", token)

    def group(self) -> Expression:
        opening = self.advance()
        tree = self.disjunction()
        closing = self.peek()
        if closing.kind == "end":
            raise self.error("'(' is never closed", opening)
        if closing.kind != "rparen":
            raise self.error(f"expected ')' to close the '(' at column {opening.column}", closing)
        self.advance()
        if self.peek().kind == "cmp":
            raise self.error("a parenthesized group cannot be compared", self.peek())
        return tree

    def operand(self) -> Value | Regex:
        token = self.advance()
        if token.node is not None:
            return token.node
        after = self.tokens[self.pos - 2].text if self.pos >= 2 else ""
        where = f"after {after!r}" if after else "at the start"
        found = "the expression ends" if token.kind == "end" else f"found {token.text!r}"
        raise self.error(f"expected a value {where}, but {found}", token)


def parse(expression: str) -> Expression:
    """The AST of ``expression``, or `ExpressionError` naming the column of the first problem.

    Parsing is where GitLab reports "invalid expression syntax", so a translator calls
    this when it loads the file; regex literals are compiled here for the same reason.
    Stricter than GitLab in a few places that GitLab accepts but evaluates to nonsense
    or crashes on: a regex anywhere but right of ``=~``/``!~``, ``true``/``false`` right
    of ``=~``, chained comparisons (``$A == $B == $C``) and comparing a parenthesized
    group.  More lenient in one: ``${NAME}`` is read as ``$NAME``.
    """
    return _Parser(expression, tokenize(expression)).parse()
