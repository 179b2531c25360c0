"""Text with ``${{ }}`` parts, split the way actions/runner's ``TemplateReader`` splits it.

Each ``${{`` is closed by the first ``}}`` that is not inside a single-quoted string
(``'a''b'`` is one string); an unclosed one or an empty one is an error.  There is no
escape for ``${{``, as in GitHub.  A text that is exactly one ``${{ expr }}`` (nothing
around it, not even a space) keeps its value's type; any other text is a string, made
as GitHub makes it with ``format()``: each value as text (``to_string``).
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

from runner.pipeline.github.expr.context import EvalContext
from runner.pipeline.github.expr.errors import ExprError
from runner.pipeline.github.expr.expression import Expr, parse
from runner.pipeline.github.expr.values import Value, to_string

OPEN = "${{"
CLOSE = "}}"


@dataclass(frozen=True)
class Template:
    """A text whose ``${{ }}`` parts are parsed expressions."""

    text: str
    parts: tuple[str | Expr, ...]
    """Literal text and expressions in order; no empty literal parts."""

    @property
    def expressions(self) -> tuple[Expr, ...]:
        """The expressions, in order."""
        return tuple(part for part in self.parts if isinstance(part, Expr))

    @property
    def is_literal(self) -> bool:
        """True when the text has no ``${{ }}`` at all."""
        return not any(isinstance(part, Expr) for part in self.parts)

    @property
    def is_single(self) -> bool:
        """True when the text is exactly one ``${{ expr }}`` (so it keeps its type)."""
        return len(self.parts) == 1 and isinstance(self.parts[0], Expr)

    def render(self, ctx: EvalContext) -> str:
        """The text with each expression's value as text."""
        return "".join(
            part if isinstance(part, str) else to_string(part.evaluate(ctx))
            for part in self.parts
        )

    def evaluate(self, ctx: EvalContext) -> Value:
        """The value of a single ``${{ expr }}`` as is; otherwise `render`."""
        if self.is_single:
            single = self.parts[0]
            assert isinstance(single, Expr)
            return single.evaluate(ctx)
        return self.render(ctx)


def _closing(text: str, start: int) -> int:
    """Offset of the ``}}`` closing an expression whose text starts at ``start``; -1: none."""
    in_string = False
    for pos in range(start, len(text)):
        c = text[pos]
        if c == "'":
            in_string = not in_string
        elif c == "}" and not in_string and pos > start and text[pos - 1] == "}":
            return pos - 1
    return -1


@functools.lru_cache(maxsize=4096)
def parse_template(text: str) -> Template:
    """``text`` split into literal parts and parsed ``${{ }}`` expressions.

    Raises `ExprError` with the column (0-based, in ``text``) of the problem.
    """
    parts: list[str | Expr] = []
    pos = 0
    while True:
        start = text.find(OPEN, pos)
        if start < 0:
            break
        inner = start + len(OPEN)
        end = _closing(text, inner)
        if end < 0:
            raise ExprError(
                "The expression is not closed. An unescaped ${{ sequence was found, but the "
                "closing }} sequence was not found.",
                start,
            )
        raw = text[inner:end]
        stripped = raw.strip()
        if not stripped:
            raise ExprError("An expression was expected", start)
        offset = inner + (len(raw) - len(raw.lstrip()))
        try:
            expr = parse(stripped)
        except ExprError as exc:
            raise exc.shifted(offset) from None
        if start > pos:
            parts.append(text[pos:start])
        parts.append(expr)
        pos = end + len(CLOSE)
    if pos < len(text):
        parts.append(text[pos:])
    return Template(text, tuple(parts))
