"""GitHub Actions' expression language (``${{ }}``), as actions/runner evaluates it.

The modules split the work: `values` (the value kinds and GitHub's coercions), `lexer` and
`parser` (text to tree, GitHub's error messages and limits), `nodes` (the tree and its
evaluation), `functions`, `formatting` and `jsonvalues` (the built-in functions),
`template` (text with ``${{ }}`` parts), `condition` (``if:`` rules) and `availability`
(which contexts each workflow key may use).  Callers use only what is re-exported here.
"""

from __future__ import annotations

from runner.pipeline.github.expr.availability import (
    AVAILABILITY,
    allowed_functions,
    check_availability,
)
from runner.pipeline.github.expr.condition import (
    calls_status_function,
    parse_condition,
    status_functions,
)
from runner.pipeline.github.expr.context import EvalContext
from runner.pipeline.github.expr.errors import ExprError, NeedsHash
from runner.pipeline.github.expr.expression import Expr, parse
from runner.pipeline.github.expr.jsonvalues import from_json, to_json
from runner.pipeline.github.expr.template import Template, parse_template
from runner.pipeline.github.expr.values import Value, loose_equal, to_number, to_string, truthy

__all__ = [
    "AVAILABILITY",
    "EvalContext",
    "Expr",
    "ExprError",
    "NeedsHash",
    "Template",
    "Value",
    "allowed_functions",
    "calls_status_function",
    "check_availability",
    "from_json",
    "loose_equal",
    "parse",
    "parse_condition",
    "parse_template",
    "status_functions",
    "to_json",
    "to_number",
    "to_string",
    "truthy",
]
