"""The expression package's public contract, as the workflow loader and the session use it."""

from __future__ import annotations

import pytest

from runner.pipeline.github import expr
from runner.pipeline.github.expr import (
    EvalContext,
    ExprError,
    NeedsHash,
    parse,
    parse_condition,
    parse_template,
)

CTX = EvalContext(
    {
        "github": {"ref": "refs/heads/main", "event_name": "push"},
        "matrix": {"python": "3.11", "n": 3},
        "steps": {"build": {"outputs": {"version": "1.2"}, "outcome": "success"}},
    }
)


def test_exports_are_exactly_the_contract() -> None:
    """``__all__`` names what other modules may import, and each name exists."""
    for name in expr.__all__:
        assert hasattr(expr, name)
    assert {"ExprError", "Value", "Expr", "Template", "EvalContext", "NeedsHash", "parse",
            "parse_template", "parse_condition", "to_string", "truthy", "to_json"} <= set(
        expr.__all__
    )


def test_expr_reports_contexts_functions_and_text() -> None:
    """An Expr tells which contexts and functions it uses, lower-cased, and keeps its text."""
    parsed = parse("Success() && contains(GitHub.ref, matrix.python)")
    assert parsed.contexts() == frozenset({"github", "matrix"})
    assert parsed.functions() == frozenset({"success", "contains"})
    assert parsed.text == "Success() && contains(GitHub.ref, matrix.python)"


def test_template_keeps_the_type_of_a_lone_expression() -> None:
    """``${{ x }}`` alone keeps x's type; any text around it makes a string."""
    assert parse_template("${{ matrix.n }}").evaluate(CTX) == 3
    assert parse_template(" ${{ matrix.n }}").evaluate(CTX) == " 3"
    assert parse_template("v${{ steps.build.outputs.version }}-py${{ matrix.python }}").render(
        CTX
    ) == "v1.2-py3.11"
    literal = parse_template("plain text")
    assert literal.is_literal
    assert literal.expressions == ()
    assert literal.render(CTX) == "plain text"


def test_condition_wraps_unless_a_status_function_is_called() -> None:
    """``if:`` gets ``success() &&`` in front unless it calls a status function itself."""
    assert parse_condition("github.ref == 'refs/heads/main'").text == (
        "success() && (github.ref == 'refs/heads/main')"
    )
    assert parse_condition("${{ always() }}").text == "always()"
    assert parse_condition("").text == "success()"
    failed = EvalContext(CTX.contexts, status="failure")
    assert parse_condition("${{ github.event_name == 'push' }}").evaluate(failed) is False
    assert parse_condition("failure() && github.event_name == 'push'").evaluate(failed) is True


def test_hash_files_asks_the_caller() -> None:
    """hashFiles raises NeedsHash with its patterns until the caller has the answer."""
    parsed = parse("format('deps-{0}', hashFiles('**/requirements*.txt', 'setup.py'))")
    with pytest.raises(NeedsHash) as caught:
        parsed.evaluate(EvalContext({}, hash_files=lambda patterns: None))
    assert caught.value.patterns == ("**/requirements*.txt", "setup.py")
    answered = EvalContext({}, hash_files=lambda patterns: "abc123")
    assert parsed.evaluate(answered) == "deps-abc123"


def test_errors_carry_message_and_column() -> None:
    """A template error's column points into the template text."""
    with pytest.raises(ExprError) as caught:
        parse_template("echo ${{ github.ref == }}")
    assert caught.value.column == len("echo ${{ github.ref ")
    assert caught.value.message.startswith("Unexpected end of expression: '=='")


def test_identical_texts_are_parsed_once() -> None:
    """Parses are cached by text: a matrix repeats the same values in every job."""
    text = "format('{0}-{1}', matrix.python, github.ref)"
    assert parse_template("${{ " + text + " }}") is parse_template("${{ " + text + " }}")
    assert parse("matrix.python == '3.12'") is parse("matrix.python == '3.12'")
    assert parse_condition("matrix.python == '3.12'") is parse_condition(
        "matrix.python == '3.12'"
    )
