"""Literals, coercions and operators of ``${{ }}``, case by case, as GitHub evaluates them.

Expected values follow actions/runner (``EvaluationResult.cs``: abstract equality with
strings compared ignoring case, ``ParseNumber``, ``G15`` number text) and GitHub's docs
("Expressions": literals, operators, "GitHub performs loose equality comparisons").
"""

from __future__ import annotations

import math

import pytest

from tests.unit.pipeline.github.exprcases import NAN, check

LITERALS = [
    ("null", None),
    ("true", True),
    ("false", False),
    ("1", 1.0),
    ("-1", -1.0),
    ("+1", 1.0),
    ("1.5", 1.5),
    (".5", 0.5),
    ("5.", 5.0),
    ("-.5", -0.5),
    ("1e3", 1000.0),
    ("1E3", 1000.0),
    ("1e+3", 1000.0),
    ("2.5e-1", 0.25),
    ("0xff", 255.0),
    ("0xFF", 255.0),
    ("0x0", 0.0),
    ("0xffffffff", -1.0),
    ("0x7fffffff", 2147483647.0),
    ("0o17", 15.0),
    ("0o0", 0.0),
    ("Infinity", math.inf),
    ("-Infinity", -math.inf),
    ("NaN", NAN),
    ("1e400", math.inf),
    ("''", ""),
    ("'abc'", "abc"),
    ("'it''s'", "it's"),
    ("''''", "'"),
    ("'a''''b'", "a''b"),
    ("'  spaced  '", "  spaced  "),
    ("'${{ not parsed }}'", "${{ not parsed }}"),
    ("'tab\there'", "tab\there"),
    ("'ünïcødé'", "ünïcødé"),
    ("(1)", 1.0),
    ("((('x')))", "x"),
    ("  true  ", True),
    ("\ttrue\n", True),
]

EQUALITY = [
    ("1 == 1", True),
    ("1 == 2", False),
    ("0 == -0", True),
    ("1 == 1.0", True),
    ("120 == 1.2e2", True),
    ("NaN == NaN", False),
    ("NaN != NaN", True),
    ("Infinity == Infinity", True),
    ("'a' == 'A'", True),
    ("'abc' == 'ABC'", True),
    ("'a' == 'b'", False),
    ("'a' != 'A'", False),
    ("'ß' == 'SS'", False),
    ("'é' == 'É'", True),
    ("'\u0131' == 'I'", False),  # dotless i
    ("1 == '1'", True),
    ("'1' == 1", True),
    ("1 == '1.0'", True),
    ("1 == ' 1 '", True),
    ("0 == ''", True),
    ("0 == ' '", True),
    ("255 == '0xff'", True),
    ("1 == 'one'", False),
    ("'abc' == 0", False),
    ("true == 1", True),
    ("true == 2", False),
    ("false == 0", True),
    ("true == '1'", True),
    ("true == 'true'", False),
    ("false == ''", True),
    ("false == 'false'", False),
    ("null == 0", True),
    ("null == ''", True),
    ("null == false", True),
    ("null == null", True),
    ("null == 'null'", False),
    ("true == true", True),
    ("false == true", False),
    ("github == github", True),
    ("github == toJSON(github)", False),
    ("fromJSON('{}') == fromJSON('{}')", False),
    ("fromJSON('[]') == 0", False),
    ("fromJSON('[]') == ''", False),
    ("null == fromJSON('{}')", False),
    ("matrix.node == '20'", True),
    ("matrix.node == 20", True),
    ("env.NUM == 42", True),
    ("env.HEX == 26", True),
    ("env.SPACED == 7", True),
    ("env.EMPTY == 0", True),
    ("env.EMPTY == null", True),
    ("env.MISSING == null", True),
    ("env.MISSING == ''", True),
    ("env.MISSING == 0", True),
    ("env.MISSING == false", True),
    ("github.ref == 'REFS/HEADS/MAIN'", True),
    ("github.event_name != 'pull_request'", True),
    ("inputs.debug == true", True),
    ("inputs.debug == 'true'", False),
    ("inputs.level == '3'", True),
]

COMPARISONS = [
    ("1 < 2", True),
    ("2 < 1", False),
    ("1 < 1", False),
    ("1 <= 1", True),
    ("2 > 1", True),
    ("1 >= 1", True),
    ("1 >= 2", False),
    ("'a' < 'b'", True),
    ("'B' > 'a'", True),
    ("'a' < 'B'", True),
    ("'abc' <= 'ABC'", True),
    ("'abc' >= 'ABD'", False),
    ("'10' < '9'", True),  # both strings: compared as text
    ("'10' < 9", False),
    ("10 > '9'", True),
    ("'abc' < 1", False),
    ("'abc' > 1", False),
    ("'abc' >= 1", False),
    ("true > false", True),
    ("false < true", True),
    ("true >= true", True),
    ("true > 0", True),
    ("null < 1", True),
    ("null <= 0", True),
    ("null < 'a'", False),
    ("NaN < 1", False),
    ("NaN >= NaN", False),
    ("-Infinity < -1e308", True),
    ("Infinity > 1e308", True),
    ("github < 1", False),
    ("github >= github", True),
    ("fromJSON('[]') < fromJSON('[1]')", False),
    ("matrix.node >= 18", True),
    ("matrix.python > '3.9'", False),
    ("matrix.python > 3.9", False),  # '3.10' is the number 3.1
    ("strategy.job-index < strategy.job-total", True),
]

LOGIC = [
    ("!true", False),
    ("!false", True),
    ("!null", True),
    ("!0", True),
    ("!1", False),
    ("!NaN", True),
    ("!''", True),
    ("!'false'", False),
    ("!'0'", False),
    ("!github", False),
    ("!fromJSON('[]')", False),
    ("!fromJSON('{}')", False),
    ("!!'x'", True),
    ("!!''", False),
    ("!(1 == 2)", True),
    ("true && true", True),
    ("true && false", False),
    ("1 && 'x'", "x"),
    ("'x' && 0", 0.0),
    ("'' && 'x'", ""),
    ("null && true", None),
    ("NaN && true", NAN),
    ("true && null", None),
    ("'a' && 'b' && 'c'", "c"),
    ("'a' && '' && 'c'", ""),
    ("false || false", False),
    ("false || 'x'", "x"),
    ("'' || 0", 0.0),
    ("0 || ''", ""),
    ("null || 'default'", "default"),
    ("'set' || 'default'", "set"),
    ("env.MISSING || 'fallback'", "fallback"),
    ("env.EMPTY || env.CI", "true"),
    ("'' || null || 0 || 'last'", "last"),
    ("matrix.experimental && 'beta' || 'stable'", "beta"),
    ("!matrix.experimental && 'beta' || 'stable'", "stable"),
    ("github.event_name == 'push' && 'yes' || 'no'", "yes"),
    ("github.event_name == 'pr' && 'yes' || 'no'", "no"),
    ("github.event", {  # a context object passes through && unchanged
        "commits": [
            {"id": "c1", "message": "fix: x", "author": {"name": "Mona"}},
            {"id": "c2", "message": "feat: y", "author": {"name": "Lisa"}},
            {"id": "c3", "message": "chore"},
        ],
        "head_commit": {"message": "Fix: CI"},
        "labels": {"bug": {"color": "red"}, "docs": {"color": "blue"}},
    }),
]

PRECEDENCE = [
    ("true || false && false", True),
    ("(true || false) && false", False),
    ("false && true || true", True),
    ("false && (true || true)", False),
    ("!false && false", False),
    ("!(false && false)", True),
    ("1 == 1 && 2 == 2", True),
    ("1 < 2 == true", True),
    ("2 < 1 == false", True),
    ("1 == 1 == true", True),
    ("'a' == 'a' != false", True),
    ("!1 == 0", True),
    ("!github.sha == false", True),
    ("1 < 2 && 3 > 2 || false", True),
    ("false || 1 > 2 || 'z'", "z"),
    ("!true || !false", True),
    ("!!true && !!1", True),
    ("(1 == 1) == (2 == 2)", True),
    ("((1 < 2) && (2 < 3)) || (3 < 1)", True),
]


@pytest.mark.parametrize(("text", "expected"), LITERALS)
def test_literal(text: str, expected: object) -> None:
    """Each literal form reads as GitHub reads it (numbers are doubles)."""
    check(text, expected)


@pytest.mark.parametrize(("text", "expected"), EQUALITY)
def test_loose_equality(text: str, expected: object) -> None:
    """``==``/``!=`` coerce as GitHub's abstract equality does."""
    check(text, expected)


@pytest.mark.parametrize(("text", "expected"), COMPARISONS)
def test_comparison(text: str, expected: object) -> None:
    """``< <= > >=`` coerce like ``==``; strings ignore case; NaN and objects compare false."""
    check(text, expected)


@pytest.mark.parametrize(("text", "expected"), LOGIC)
def test_logic(text: str, expected: object) -> None:
    """``!`` gives a boolean; ``&&``/``||`` give the operand that decided."""
    check(text, expected)


@pytest.mark.parametrize(("text", "expected"), PRECEDENCE)
def test_precedence(text: str, expected: object) -> None:
    """``!`` binds tightest, then comparisons, then ``==``/``!=``, then ``&&``, then ``||``."""
    check(text, expected)
