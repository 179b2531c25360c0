"""Expressions GitHub refuses: the message GitHub gives and the column it points at.

Parse messages are GitHub's own ("Unexpected symbol: 'b'. Located at position 3 within
expression: a b"); ``column`` is the 0-based offset of the culprit, which callers turn into
the file:line:column of a `PipelineError`.
"""

from __future__ import annotations

import pytest

from runner.pipeline.github.expr import EvalContext, ExprError, parse
from tests.unit.pipeline.github.exprcases import CONTEXTS, CTX, check

PARSE_ERRORS = [
    ("1 <", "Unexpected end of expression: '<'", 2),
    ("github.ref == 'main' &&", "Unexpected end of expression: '&&'", 21),
    ("!", "Unexpected end of expression: '!'", 0),
    ("success(", "Unexpected end of expression: '('", 7),
    ("github['a'", "Unexpected end of expression: ''a''", 7),
    ("(1", "Unexpected end of expression: '1'", 1),
    ("github.", "Unexpected end of expression: '.'", 6),
    ("1 < )", "Unexpected symbol: ')'", 4),
    ("> 1", "Unexpected symbol: '>'", 0),
    ("github.()", "Unexpected symbol: '('", 7),
    ("1 2", "Unexpected symbol: '2'", 2),
    ("(1)2", "Unexpected symbol: '2'", 3),
    ("(1,", "Unexpected symbol: ','", 2),
    ("'a' 'b'", "Unexpected symbol: ''b''", 4),
    ("'abc", "Unexpected symbol: ''abc'", 0),
    ("'it''s", "Unexpected symbol: ''it''s'", 0),
    ("1 = 1", "Unexpected symbol: '='", 2),
    ("1 & 1", "Unexpected symbol: '&'", 2),
    ("1 | 1", "Unexpected symbol: '|'", 2),
    ("1 === 1", "Unexpected symbol: '='", 4),
    ("github.ref ==== 'x'", "Unexpected symbol: '=='", 13),
    ("github..ref", "Unexpected symbol: '.'", 7),
    ("github.0", "Unexpected symbol: '0'", 7),
    ("*", "Unexpected symbol: '*'", 0),
    ("github.ref.*.*x", "Unexpected symbol: 'x'", 14),
    ("()", "Unexpected symbol: ')'", 1),
    ("github[]", "Unexpected symbol: ']'", 7),
    ("contains(,)", "Unexpected symbol: ','", 9),
    ("format('{0}' 'x')", "Unexpected symbol: ''x''", 13),
    ("'x'.length", "Unexpected symbol: '.'", 3),
    ("'x'[0]", "Unexpected symbol: '['", 3),
    ("1.2.3", "Unexpected symbol: '1.2.3'", 0),
    ("0x", "Unexpected symbol: '0x'", 0),
    ("0xfffffffff", "Unexpected symbol: '0xfffffffff'", 0),
    ("0o8", "Unexpected symbol: '0o8'", 0),
    ("1abc", "Unexpected symbol: '1abc'", 0),
    ("1_000", "Unexpected symbol: '1_000'", 0),
    ("-", "Unexpected symbol: '-'", 0),
    ("- 1", "Unexpected symbol: '-'", 0),
    ("$x", "Unexpected symbol: '$x'", 0),
    ("github.ref ? 1", "Unexpected symbol: '?'", 11),
    ("a.b", "Unrecognized named-value: 'a'", 0),
    ("True", "Unrecognized named-value: 'True'", 0),
    ("NULL == null", "Unrecognized named-value: 'NULL'", 0),
    ("infinity", "Unrecognized named-value: 'infinity'", 0),
    ("1 == foo.bar", "Unrecognized named-value: 'foo'", 5),
    ("foo()", "Unrecognized function: 'foo'", 0),
    ("github.ref && toLower(github.ref)", "Unrecognized function: 'toLower'", 14),
    ("contains('a')", "Too few parameters supplied: 'contains'", 0),
    ("contains('a', 'b', 'c')", "Too many parameters supplied: 'contains'", 0),
    ("startsWith('a')", "Too few parameters supplied: 'startsWith'", 0),
    ("join()", "Too few parameters supplied: 'join'", 0),
    ("join('a', 'b', 'c')", "Too many parameters supplied: 'join'", 0),
    ("toJSON()", "Too few parameters supplied: 'toJSON'", 0),
    ("fromJSON('1', '2')", "Too many parameters supplied: 'fromJSON'", 0),
    ("format()", "Too few parameters supplied: 'format'", 0),
    ("hashFiles()", "Too few parameters supplied: 'hashFiles'", 0),
    ("always(1)", "Too many parameters supplied: 'always'", 0),
    ("cancelled('x')", "Too many parameters supplied: 'cancelled'", 0),
    ("case(true, 'a')", "Too few parameters supplied: 'case'", 0),
    ("case(true, 'a', false, 'b')",
     "Even number of parameters supplied, requires an odd number of parameters: 'case'", 0),
]


@pytest.mark.parametrize(("text", "message", "column"), PARSE_ERRORS)
def test_parse_error(text: str, message: str, column: int) -> None:
    """Each malformed expression fails with GitHub's message, position and column."""
    with pytest.raises(ExprError) as caught:
        parse(text)
    assert caught.value.message == (
        f"{message}. Located at position {column + 1} within expression: {text}"
    )
    assert caught.value.column == column


def test_first_problem_is_the_one_reported() -> None:
    """Tokens are checked as they are read: an unknown name before a later syntax error."""
    with pytest.raises(ExprError, match="Unrecognized named-value: 'foo'"):
        parse("foo bar")


def test_max_depth() -> None:
    """A tree deeper than 50 nodes is refused, as GitHub refuses it; 50 is fine."""
    check("!" * 49 + "true", False)
    with pytest.raises(ExprError, match=r"^Exceeded max expression depth 50$"):
        parse("!" * 50 + "true")
    chain = "github" + ".a" * 49
    check(chain, None)
    with pytest.raises(ExprError, match="depth"):
        parse(chain + ".a")


def test_and_chains_are_flat_for_the_depth_limit() -> None:
    """``a && b && ...`` is one node however long, so 200 operands are within the limit."""
    check(" && ".join(["true"] * 200), True)
    check(" || ".join(["false"] * 200) + " || 'x'", "x")


def test_parentheses_make_no_depth_and_no_recursion() -> None:
    """Thousands of nested parentheses parse (no Python recursion) and add no depth."""
    check("(" * 5000 + "1" + ")" * 5000, 1.0)


def test_max_length() -> None:
    """An expression over 21,000 characters is refused; one at the limit parses."""
    check("'" + "a" * 20998 + "'", "a" * 20998)
    with pytest.raises(ExprError, match=r"^Exceeded max expression length 21000$"):
        parse("'" + "a" * 20999 + "'")


def test_names_may_hold_hyphens() -> None:
    """``-`` is part of a name (``strategy.job-index``), so ``github.ref-`` is a property."""
    check("github.ref-", None)
    check("strategy.job-index", 0)


def test_empty_expression_is_null() -> None:
    """An expression of only blanks is null, as in GitHub (templates refuse ``${{ }}``)."""
    check("", None)
    check("   ", None)


EVAL_ERRORS = [
    ("format('{0}')", "The following format string references more arguments than were "
                      "supplied: {0}"),
    ("format('{1}', 'a')", "The following format string references more arguments than were "
                           "supplied: {1}"),
    ("format('{')", "The following format string is invalid: {"),
    ("format('}')", "The following format string is invalid: }"),
    ("format('a}b', 1)", "The following format string is invalid: a}b"),
    ("format('{x}', 1)", "The following format string is invalid: {x}"),
    ("format('{}', 1)", "The following format string is invalid: {}"),
    ("format('{0', 1)", "The following format string is invalid: {0"),
    ("format('{ 0}', 1)", "The following format string is invalid: { 0}"),
    ("format('{-1}', 1)", "The following format string is invalid: {-1}"),
    ("format('{256}', 1)", "The following format string is invalid: {256}"),
    ("format('{0:x', 1)", "The following format string is invalid: {0:x"),
    ("format('{0:x}', 1)", "The format specifiers 'x' are not valid for objects of type 'Number'"),
    ("format('{0:yyyy}', 'a')",
     "The format specifiers 'yyyy' are not valid for objects of type 'String'"),
    ("fromJSON('')", "fromJSON: the text is not valid JSON"),
    ("fromJSON('{bad')", "fromJSON: the text is not valid JSON"),
    ("fromJSON(env.CI && 'nope')", "fromJSON: the text is not valid JSON"),
    ("case(1, 'a', 'b')", "case predicate must evaluate to a boolean value"),
    ("case('true', 'a', 'b')", "case predicate must evaluate to a boolean value"),
    ("case(false, 'a', null, 'b', 'c')", "case predicate must evaluate to a boolean value"),
    ("hashFiles('**/*.lock')", "hashFiles() is not available here"),
]


@pytest.mark.parametrize(("text", "message"), EVAL_ERRORS)
def test_evaluation_error(text: str, message: str) -> None:
    """What GitHub fails at run time fails here with an ExprError, never a traceback."""
    expr = parse(text)
    with pytest.raises(ExprError) as caught:
        expr.evaluate(CTX)
    assert caught.value.message.startswith(message)


def test_from_json_error_does_not_quote_the_text() -> None:
    """fromJSON's error leaves the text out: it may be a secret."""
    with pytest.raises(ExprError) as caught:
        parse("fromJSON(secrets.TOKEN)").evaluate(CTX)
    assert "s3cr3t" not in caught.value.message


def test_format_error_does_not_quote_a_computed_format_string() -> None:
    """A format string from a context may be a secret: errors do not show it."""
    ctx = EvalContext({"secrets": {"FMT": "s3cr3t {"}})
    with pytest.raises(ExprError) as caught:
        parse("format(secrets.FMT)").evaluate(ctx)
    assert "s3cr3t" not in caught.value.message
    assert caught.value.message.startswith("The following format string is invalid")


def test_function_not_allowed_here() -> None:
    """A function outside EvalContext.allowed_functions fails, naming it as written."""
    ctx = EvalContext(CONTEXTS, allowed_functions=frozenset({"format"}), hash_files=lambda p: "h")
    with pytest.raises(ExprError, match="Function 'hashFiles' is not available here") as caught:
        parse("format('{0}', hashFiles('*'))").evaluate(ctx)
    assert caught.value.column == len("format('{0}', ")


def test_memory_limit() -> None:
    """Results held at once above 1 MiB (UTF-16) fail as in GitHub; 0.9 MiB alone is fine."""
    big = "format('{0}{0}{0}{0}{0}{0}{0}{0}{0}', format('{0}{0}{0}', toJSON(github)))"
    ctx = EvalContext({"github": {"k": "x" * 15000}})
    assert len(str(parse(big).evaluate(ctx))) > 9 * 3 * 15000
    with pytest.raises(ExprError, match="maximum allowed memory size was exceeded"):
        parse(f"startsWith({big}, {big}) || {big}").evaluate(ctx)
