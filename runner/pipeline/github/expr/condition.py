"""``if:`` conditions, read with GitHub's rules.

* The ``${{ }}`` around the whole condition is optional: ``if: github.ref == 'x'`` and
  ``if: ${{ github.ref == 'x' }}`` mean the same.
* A condition with text around its ``${{ }}`` (``if: ${{ a }} && b``) is, as in GitHub, a
  string made with ``format()``, and so true whenever it is not empty: a known trap,
  reproduced rather than fixed, so that a workflow behaves here as it does on GitHub.
* An empty condition is ``success()``.
* Unless the condition calls a status function (``success``, ``failure``, ``cancelled``,
  ``always``), it is wrapped as ``success() && (...)``: a failed job skips it.
"""

from __future__ import annotations

import functools

from runner.pipeline.github.expr.errors import ExprError
from runner.pipeline.github.expr.expression import Expr, parse
from runner.pipeline.github.expr.functions import STATUS_FUNCTIONS
from runner.pipeline.github.expr.parser import wrap_in_success
from runner.pipeline.github.expr.template import OPEN, parse_template


def calls_status_function(expr: Expr) -> bool:
    """Whether ``expr`` calls ``success()``, ``failure()``, ``cancelled()`` or ``always()``."""
    return not expr.functions().isdisjoint(STATUS_FUNCTIONS)


def status_functions(expr: Expr) -> frozenset[str]:
    """The status functions ``expr`` calls, lower-case."""
    return expr.functions() & STATUS_FUNCTIONS


def _quoted(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def _condition_text(text: str) -> str:
    """The expression text GitHub evaluates for the ``if:`` value ``text``."""
    if OPEN not in text:
        return text.strip()
    template = parse_template(text)
    if template.is_single:
        return template.expressions[0].text
    literal: list[str] = []
    args: list[str] = []
    for part in template.parts:
        if isinstance(part, str):
            literal.append(part.replace("{", "{{").replace("}", "}}"))
        else:
            literal.append("{" + str(len(args)) + "}")
            args.append(part.text)
    return "format(" + ", ".join([_quoted("".join(literal)), *args]) + ")"


@functools.lru_cache(maxsize=4096)
def parse_condition(text: str) -> Expr:
    """The ``if:`` value ``text`` as the expression GitHub evaluates; raises `ExprError`.

    Columns in errors point into ``text`` when the problem is in a ``${{ }}``, else into
    the condition as written.
    """
    condition = _condition_text(text)
    if not condition:
        return parse("success()")
    if OPEN in text:
        expr = parse(condition)
    else:
        offset = len(text) - len(text.lstrip())
        try:
            expr = parse(condition)
        except ExprError as exc:
            raise exc.shifted(offset) from None
    if calls_status_function(expr):
        return expr
    # Columns of the wrapped tree's nodes still point into the condition as written.
    return Expr(f"success() && ({condition})", wrap_in_success(expr.root))
