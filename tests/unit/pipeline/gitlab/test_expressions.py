"""Tests of runner.pipeline.gitlab.expressions: GitLab's `rules:if` expression language."""

from __future__ import annotations

import pytest

from runner.pipeline.gitlab.expressions import (
    MAX_TOKENS,
    And,
    Boolean,
    Comparison,
    ExpressionError,
    Null,
    Or,
    Regex,
    String,
    Variable,
    evaluate,
    parse,
)

A, B, C = Variable("A"), Variable("B"), Variable("C")


@pytest.mark.parametrize(
    ("expression", "variables", "expected"),
    [
        # == and != on strings and variables; both quote styles; order does not matter
        ('$A == "x"', {"A": "x"}, True),
        ("$A == 'x'", {"A": "x"}, True),
        ('"x" == $A', {"A": "x"}, True),
        ('$A == "x"', {"A": "y"}, False),
        ('$A == "X"', {"A": "x"}, False),
        ('$A != "x"', {"A": "y"}, True),
        ('$A != "x"', {"A": "x"}, False),
        ("$A == $B", {"A": "1", "B": "1"}, True),
        ("$A != $B", {"A": "1", "B": "2"}, True),
        ('$A == "a b"', {"A": "a b"}, True),
        ("$A == 'say \"hi\"'", {"A": 'say "hi"'}, True),
        ('$A == "$B"', {"A": "$B", "B": "x"}, True),
        ('${A} == "x"', {"A": "x"}, True),
        ('$_A1 == "x"', {"_A1": "x"}, True),
        ('$A=="x"&&$B=="y"', {"A": "x", "B": "y"}, True),
        ('  $A  ==\t"x"\n', {"A": "x"}, True),
        # null: undefined is null, empty is not
        ("$U == null", {}, True),
        ("$U != null", {}, False),
        ("$E == null", {"E": ""}, False),
        ("$E != null", {"E": ""}, True),
        ('$E == ""', {"E": ""}, True),
        ('$U == ""', {}, False),
        ('$U != ""', {}, True),
        ("null == null", {}, True),
        ("$U == $V", {}, True),
        ("$A == null", {"A": "null"}, False),
        # a bare operand: defined and not blank
        ("$A", {"A": "x"}, True),
        ("$A", {"A": ""}, False),
        ("$U", {}, False),
        ("$A", {"A": " \t"}, False),
        ("$A", {"A": "false"}, True),
        ('"x"', {}, True),
        ('""', {}, False),
        ("null", {}, False),
        ("true", {}, True),
        ("false", {}, False),
        ("$A == true", {"A": "true"}, False),
        ("true == true", {}, True),
        ("false != true", {}, True),
        # =~ and !~ with regex literals and their flags
        ("$A =~ /^ab.*/", {"A": "abc"}, True),
        ("$A =~ /^ab.*/", {"A": "xabc"}, False),
        ("$A !~ /^ab.*/", {"A": "xabc"}, True),
        ("$A !~ /^ab.*/", {"A": "abc"}, False),
        ("$A =~ /bc/", {"A": "abcd"}, True),
        ("$A =~ /AB/", {"A": "ab"}, False),
        ("$A =~ /AB/i", {"A": "ab"}, True),
        ("$A =~ /^b/", {"A": "a\nb"}, False),
        ("$A =~ /^b/m", {"A": "a\nb"}, True),
        ("$A =~ /a.b/", {"A": "a\nb"}, False),
        ("$A =~ /a.b/s", {"A": "a\nb"}, True),
        ("$A =~ /a+?b/U", {"A": "aab"}, True),
        ("$A =~ /^B.C/ism", {"A": "x\nb\nc"}, True),
        ("$A =~ /skip$/", {"A": "skip\n"}, False),
        ("$A =~ /skip$/m", {"A": "skip\n"}, True),
        (r"$A =~ /a\/b/", {"A": "a/b"}, True),
        ("$A =~ /ab/ && $B", {"A": "ab", "B": "1"}, True),
        ("true =~ /^tr/", {}, True),
        # an undefined left side is matched as the empty string
        ("$U =~ /^$/", {}, True),
        ("$U =~ /.+/", {}, False),
        ("$U !~ /.+/", {}, True),
        # the right side from a variable or a string: /re/flags is a regex...
        ("$A =~ $P", {"A": "abcde", "P": "/^ab.*/"}, True),
        ("$A =~ $P", {"A": "fghij", "P": "/^ab.*/"}, False),
        ("$A !~ $P", {"A": "fghij", "P": "/^ab.*/"}, True),
        ("$A =~ $P", {"A": "ABC", "P": "/^ab/i"}, True),
        ("$A =~ $P", {"A": "a/b", "P": r"/a\/b/"}, True),
        ("$A =~ $P", {"A": "a", "P": "/a/"}, True),
        ('$A =~ "/^ab/"', {"A": "abc"}, True),
        # ...anything else is GitLab's documented oddity: "the right contains the left"
        ("$A =~ $P", {"A": "1234", "P": "23"}, False),
        ("$A =~ $P", {"A": "23", "P": "1234"}, True),
        ('$A =~ "1234"', {"A": "23"}, True),
        ("$A =~ $P", {"A": "(", "P": "/(/"}, True),
        ("$A =~ $P", {"A": "b", "P": "/(?=a)b/"}, True),
        # a null right side never matches
        ("$A =~ $U", {"A": "x"}, False),
        ("$A !~ $U", {"A": "x"}, True),
        ("$A =~ null", {"A": "x"}, False),
        # && binds tighter than ||; parentheses group
        ("$A && $B", {"A": "1", "B": "1"}, True),
        ("$A && $B", {"A": "1"}, False),
        ("$A || $B", {"B": "1"}, True),
        ("$A || $B", {}, False),
        ("$A || $B && $C", {"A": "1"}, True),
        ("($A || $B) && $C", {"A": "1"}, False),
        ("$A && $B || $C", {"C": "1"}, True),
        ("$A && ($B || $C)", {"C": "1"}, False),
        ("(($A))", {"A": "1"}, True),
        ('$E || $B == "1"', {"E": "", "B": "1"}, True),
        ('$A == "1" && $B =~ /xy/ || $C != null', {"C": ""}, True),
        (
            '$CI_COMMIT_BRANCH == "my-branch" || (($V1 == "thing" || $V2 == "thing") && $V3)',
            {"CI_COMMIT_BRANCH": "main", "V2": "thing", "V3": "yes"},
            True,
        ),
    ],
)
def test_evaluate(expression: str, variables: dict[str, str], expected: bool) -> None:
    """Each expression evaluates as GitLab documents it for the given variables."""
    assert evaluate(expression, variables) is expected


@pytest.mark.parametrize(
    ("expression", "column", "fragment"),
    [
        ("", 1, "empty expression"),
        ("   ", 4, "empty expression"),
        ('$A = "x"', 4, "unknown operator '='"),
        ("!$A", 1, "unknown operator '!'"),
        ("$A & $B", 4, "'and' is written &&"),
        ("$A | $B", 4, "'or' is written ||"),
        ('$A == "x', 7, "unterminated string"),
        ("$A == 'x", 7, "unterminated string"),
        ('$A == "x\ny"', 7, "unterminated string"),
        ("$A =~ /ab", 7, "unterminated regex"),
        ("$A =~ /a/", 7, "at least two characters"),
        ("$A =~ /ab/g", 11, "unknown regex flag 'g'"),
        ("$A =~ /(ab/", 7, "invalid regex"),
        ("$A =~ /(?=a)b/", 7, "lookaround"),
        ("$A =~ /(?<!a)b/", 7, "lookaround"),
        (r"$A =~ /(a)\1/", 7, "backreference"),
        ("$A =~ /a*+/", 7, "possessive"),
        ("$A =~ /(?>ab)/", 7, "invalid regex"),
        (r"$A =~ /a\Z/", 7, "invalid escape"),
        ("$A =~ /(?x)ab/", 7, "invalid regex"),
        ("$A =~ /a{1001}/", 7, "at most 1000"),
        (r"$A =~ /\pL+/", 7, "unsupported regex"),
        (r"$A =~ /\C+/", 7, "unsupported regex"),
        ("$A =~ /[[:^alpha:]]/", 7, "unsupported regex"),
        ("$A ==", 6, "expected a value after '=='"),
        ('== "x"', 1, "expected a value at the start"),
        ("$A &&", 6, "after '&&'"),
        ("$A || ", 7, "after '||'"),
        ("($A", 1, "'(' is never closed"),
        ("(($A)", 1, "'(' is never closed"),
        ("($A $B)", 5, "expected ')'"),
        ("$A)", 3, "')' without a matching '('"),
        ("()", 2, "expected a value after '('"),
        ("$A $B", 4, "unexpected '$B'"),
        ('$A == "x" "y"', 11, "unexpected '\"y\"'"),
        ("$A == $B == $C", 10, "cannot be chained"),
        ("/ab/ =~ $A", 1, "regex can only be the right side"),
        ("/ab/", 1, "regex can only be the right side"),
        ("$A == /ab/", 7, "regex can only be the right side"),
        ("$A =~ true", 7, "cannot be true or false"),
        ('($A) == "x"', 6, "parenthesized group cannot be compared"),
        ('$ == "x"', 1, "'$' must be followed by a variable name"),
        ('${A == "x"', 1, "'${' must be followed"),
        ('${A-B} == "x"', 1, "'${' must be followed"),
        ('foo == "x"', 1, "unknown word 'foo'"),
        ("$A == 1", 7, "unexpected character '1'"),
        ('$A == "x" # note', 11, "unexpected character '#'"),
    ],
)
def test_parse_errors(expression: str, column: int, fragment: str) -> None:
    """Every syntax error names its problem and the 1-based column where it is."""
    with pytest.raises(ExpressionError) as caught:
        parse(expression)
    error = caught.value
    assert fragment in str(error)
    assert f"at column {column} " in str(error)
    assert repr(expression) in str(error)
    assert (error.column, error.expression) == (column, expression)
    assert isinstance(error, ValueError)


@pytest.mark.parametrize(
    ("expression", "tree"),
    [
        ("$A || $B && $C", Or(A, And(B, C))),
        ("$A && $B || $C", Or(And(A, B), C)),
        ("$A || $B || $C", Or(Or(A, B), C)),
        ("($A || $B) && true", And(Or(A, B), Boolean(True))),
        ("$A =~ /x+/i", Comparison("=~", A, Regex("x+", "i"))),
        (r"$A !~ /a\/b/", Comparison("!~", A, Regex("a/b"))),
        ("$A == null", Comparison("==", A, Null())),
        ("${A} != 'b'", Comparison("!=", A, String("b"))),
        ('"x" == $A && $B', And(Comparison("==", String("x"), A), B)),
    ],
)
def test_parse_tree(expression: str, tree: object) -> None:
    """The parser builds the tree that the documented precedence implies."""
    assert parse(expression) == tree


@pytest.mark.parametrize(
    "expression",
    [
        '$A == "x" && ($B || $C =~ /a\\/b/i) || $D != null',
        "$A && ($B && $C)",
        "$A || ($B || $C)",
        "($A || $B) && ($C || false)",
        "$A == 'say \"hi\"'",
    ],
)
def test_str_round_trips(expression: str) -> None:
    """A tree printed back to text parses to the same tree."""
    tree = parse(expression)
    assert parse(str(tree)) == tree


def test_evaluate_accepts_a_parsed_tree() -> None:
    """A translator can parse once at load time and evaluate the tree later."""
    tree = parse('$A == "x" || $B')
    assert evaluate(tree, {"A": "x"}) is True
    assert evaluate(tree, {"A": "y"}) is False


def test_unrunnable_regex_in_a_variable_is_an_error() -> None:
    """A pattern RE2 accepts but Python cannot run fails loudly rather than guessing."""
    with pytest.raises(ExpressionError, match=r"unsupported regex in \$P.* at column 4 "):
        evaluate("$A =~ $P", {"A": "x", "P": r"/\pL+/"})


def test_token_limit() -> None:
    """GitLab's limit of 100 tokens holds: 99 parse, the 101st is reported where it is."""
    assert MAX_TOKENS == 100
    assert isinstance(parse("$A" + " && $A" * 49), And)
    text = "$A" + " && $A" * 50
    with pytest.raises(ExpressionError, match="more than 100 tokens") as caught:
        parse(text)
    assert caught.value.column == len(text) - 1
