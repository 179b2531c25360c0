"""``${{ }}`` in text, ``if:`` conditions and where each context may be used."""

from __future__ import annotations

import pytest

from runner.pipeline.github.expr import (
    AVAILABILITY,
    EvalContext,
    ExprError,
    allowed_functions,
    calls_status_function,
    check_availability,
    parse,
    parse_condition,
    parse_template,
    status_functions,
)
from tests.unit.pipeline.github.exprcases import CONTEXTS, CTX

RENDER = [
    ("plain", "plain"),
    ("", ""),
    ("${{ github.ref }}", "refs/heads/main"),
    ("${{github.ref}}", "refs/heads/main"),
    ("ref=${{ github.ref }}!", "ref=refs/heads/main!"),
    ("${{ matrix.os }}-${{ matrix.node }}", "ubuntu-latest-20"),
    ("${{ 1 }}${{ 2 }}", "12"),
    ("${{ env.MISSING }}", ""),
    ("[${{ null }}]", "[]"),
    ("${{ github.event }}", "Object"),
    ("${{ github.event.commits }}", "Array"),
    ("${{ '}}' }}", "}}"),
    ("${{ 'it''s' }}", "it's"),
    ("${{ format('{{0}}') }}", "{0}"),
    ("${{ github.ref }}}", "refs/heads/main}"),
    ("{ ${{ matrix.node }} }", "{ 20 }"),
    ("$ {{ not an expression }}", "$ {{ not an expression }}"),
    ("$${{ matrix.node }}", "$20"),
    ("line1\n${{ matrix.node }}\nline3", "line1\n20\nline3"),
    ("${{ 0.5 }} ${{ true }} ${{ 1e21 }}", "0.5 true 1E+21"),
]


@pytest.mark.parametrize(("text", "expected"), RENDER)
def test_render(text: str, expected: str) -> None:
    """Each ``${{ }}`` part is replaced by its value as text; the rest is kept as written."""
    assert parse_template(text).render(CTX) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("${{ matrix.node }}", 20),
        ("${{ inputs.debug }}", True),
        ("${{ fromJSON('[1, \"a\"]') }}", [1.0, "a"]),
        ("${{ github.event.commits.*.id }}", ["c1", "c2", "c3"]),
        ("${{ env.MISSING }}", None),
        (" ${{ matrix.node }}", " 20"),
        ("${{ matrix.node }} ", "20 "),
        ("${{ matrix.node }}${{ matrix.node }}", "2020"),
        ("text", "text"),
    ],
)
def test_evaluate_keeps_the_type_of_one_lone_expression(text: str, expected: object) -> None:
    """Only a text that is exactly one ``${{ }}`` keeps its value's type."""
    got = parse_template(text).evaluate(CTX)
    assert type(got) is type(expected)
    assert got == expected


def test_template_parts() -> None:
    """A template lists its literal parts and parsed expressions in order."""
    template = parse_template("a ${{ github.ref }} b ${{ matrix.os }}")
    assert [e.text for e in template.expressions] == ["github.ref", "matrix.os"]
    assert template.parts[0] == "a "
    assert template.parts[2] == " b "
    assert not template.is_literal
    assert not template.is_single
    assert parse_template("${{ x.y }}".replace("x", "env")).is_single


@pytest.mark.parametrize(
    ("text", "message", "column"),
    [
        ("${{ }}", "An expression was expected", 0),
        ("echo ${{   }} x", "An expression was expected", 5),
        ("a ${{ b", "The expression is not closed.", 2),
        ("${{ 'a }}", "The expression is not closed.", 0),
        ("ok ${{ 1 }} then ${{ 2", "The expression is not closed.", 17),
        ("x ${{ 1 == }}", "Unexpected end of expression: '=='", 8),
        ("x ${{  foo }}", "Unrecognized named-value: 'foo'", 7),
        ("${{ 1 }}\n${{ github..ref }}", "Unexpected symbol: '.'", 20),
    ],
)
def test_template_error_columns_point_into_the_text(text: str, message: str, column: int) -> None:
    """Errors name the problem and its 0-based column in the whole text."""
    with pytest.raises(ExprError) as caught:
        parse_template(text)
    assert caught.value.message.startswith(message)
    assert caught.value.column == column


CONDITIONS = [
    ("github.ref == 'refs/heads/main'", "success() && (github.ref == 'refs/heads/main')"),
    ("${{ github.ref == 'refs/heads/main' }}", "success() && (github.ref == 'refs/heads/main')"),
    ("  github.ref  ", "success() && (github.ref)"),
    ("", "success()"),
    ("   ", "success()"),
    ("always()", "always()"),
    ("${{ always() }}", "always()"),
    ("failure() || github.ref", "failure() || github.ref"),
    ("!cancelled()", "!cancelled()"),
    ("${{ !Cancelled() && matrix.os }}", "!Cancelled() && matrix.os"),
    ("contains(github.ref, 'success()')", "success() && (contains(github.ref, 'success()'))"),
    ("${{ false }} && false", "success() && (format('{0} && false', false))"),
    ("${{ always() }} {x}", "format('{0} {{x}}', always())"),
    ("it's ${{ matrix.os }}", "success() && (format('it''s {0}', matrix.os))"),
]


@pytest.mark.parametrize(("text", "expected"), CONDITIONS)
def test_condition_text(text: str, expected: str) -> None:
    """``if:`` is wrapped in ``success() && (...)`` unless it calls a status function."""
    assert parse_condition(text).text == expected


@pytest.mark.parametrize(
    ("text", "status", "expected"),
    [
        ("github.event_name == 'push'", "success", True),
        ("github.event_name == 'push'", "failure", False),
        ("github.event_name == 'push'", "cancelled", False),
        ("failure()", "failure", True),
        ("failure()", "success", False),
        ("always()", "cancelled", True),
        ("!cancelled()", "failure", True),
        ("success() || failure()", "failure", True),
        ("steps.test.outcome == 'failure'", "success", True),
        ("${{ false }} && false", "success", "false && false"),
        ("${{ false }}", "success", False),
        ("", "failure", False),
        ("env.CI && matrix.node", "success", 20),
    ],
)
def test_condition_value(text: str, status: str, expected: object) -> None:
    """Conditions evaluate against the job's status (text around ``${{ }}`` is a string)."""
    got = parse_condition(text).evaluate(EvalContext(CONTEXTS, status=status))
    assert type(got) is type(expected)
    assert got == expected


def test_condition_error_column_counts_leading_blanks() -> None:
    """A condition's error column points into the text as written."""
    with pytest.raises(ExprError) as caught:
        parse_condition("  github.ref ==")
    assert caught.value.column == 13
    with pytest.raises(ExprError) as caught:
        parse_condition("x ${{ github.ref == }}")
    assert caught.value.column == 17


def test_status_function_helpers() -> None:
    """Callers can ask which status functions an expression calls."""
    assert calls_status_function(parse("always() && matrix.os"))
    assert not calls_status_function(parse("contains(github.ref, 'always')"))
    assert status_functions(parse("failure() || cancelled() || contains('a', 'b')")) == {
        "failure", "cancelled"
    }


AVAILABLE = [
    ("needs.build.outputs.x == 'y'", "jobs.<job_id>.if"),
    ("github.ref && vars.x && inputs.y", "jobs.<job_id>.if"),
    ("failure() || always()", "jobs.<job_id>.if"),
    ("success('build')", "jobs.<job_id>.if"),
    ("matrix.os", "jobs.<job_id>.runs-on"),
    ("strategy.job-index", "jobs.<job_id>.name"),
    ("needs.a.outputs.b", "jobs.<job_id>.strategy"),
    ("matrix.image", "jobs.<job_id>.container"),
    ("secrets.password", "jobs.<job_id>.container.credentials"),
    ("runner.temp", "jobs.<job_id>.container.env"),
    ("matrix.db", "jobs.<job_id>.services"),
    ("secrets.TOKEN", "jobs.<job_id>.env"),
    ("env.SHELL", "jobs.<job_id>.defaults.run"),
    ("steps.a.outputs.b", "jobs.<job_id>.outputs"),
    ("hashFiles('x') && steps.a.outcome && runner.os", "jobs.<job_id>.steps.if"),
    ("success() && env.X && job.status", "jobs.<job_id>.steps.if"),
    ("secrets.TOKEN && hashFiles('a')", "jobs.<job_id>.steps.run"),
    ("secrets.TOKEN", "jobs.<job_id>.steps.with"),
    ("secrets.TOKEN", "jobs.<job_id>.steps.env"),
    ("steps.a.outputs.name", "jobs.<job_id>.steps.name"),
    ("env.DIR", "jobs.<job_id>.steps.working-directory"),
    ("matrix.experimental", "jobs.<job_id>.steps.continue-on-error"),
    ("fromJSON(env.T)", "jobs.<job_id>.steps.timeout-minutes"),
    ("matrix.experimental", "jobs.<job_id>.continue-on-error"),
    ("matrix.timeout", "jobs.<job_id>.timeout-minutes"),
    ("matrix.env", "jobs.<job_id>.environment"),
    ("steps.deploy.outputs.url", "jobs.<job_id>.environment.url"),
    ("secrets.X && vars.Y", "env"),
    ("github.actor", "run-name"),
    ("github.ref", "concurrency"),
    ("format('{0}', github.ref)", "jobs.<job_id>.concurrency"),
    ("jobs.build.outputs.x", "on.workflow_call.outputs.<output_id>.value"),
]

UNAVAILABLE = [
    ("steps.a.outputs.b", "jobs.<job_id>.if", "'steps'"),
    ("matrix.os", "jobs.<job_id>.if", "'matrix'"),
    ("env.X", "jobs.<job_id>.if", "'env'"),
    ("secrets.X", "jobs.<job_id>.if", "'secrets'"),
    ("hashFiles('x')", "jobs.<job_id>.if", "hashFiles"),
    ("matrix.os", "jobs.<job_id>.strategy", "'matrix'"),
    ("steps.a.outputs.b", "jobs.<job_id>.runs-on", "'steps'"),
    ("env.LABEL", "jobs.<job_id>.runs-on", "'env'"),
    ("secrets.X", "jobs.<job_id>.runs-on", "'secrets'"),
    ("runner.os", "jobs.<job_id>.env", "'runner'"),
    ("env.X", "jobs.<job_id>.env", "'env'"),
    ("secrets.X", "jobs.<job_id>.steps.if", "'secrets'"),
    ("secrets.X", "jobs.<job_id>.environment.url", "'secrets'"),
    ("success()", "jobs.<job_id>.steps.run", "success"),
    ("always()", "jobs.<job_id>.runs-on", "always"),
    ("hashFiles('x')", "jobs.<job_id>.outputs", "hashFiles"),
    ("hashFiles('x')", "jobs.<job_id>.runs-on", "hashFiles"),
    ("secrets.X", "run-name", "'secrets'"),
    ("env.X", "env", "'env'"),
    ("jobs.a.outputs.b", "jobs.<job_id>.steps.run", "'jobs'"),
    ("github.ref", "jobs.<job_id>.steps.shell", "does not take expressions"),
]


@pytest.mark.parametrize(("text", "key"), AVAILABLE)
def test_available(text: str, key: str) -> None:
    """What GitHub's context availability table allows at ``key`` is accepted."""
    assert check_availability(parse(text), key) is None


@pytest.mark.parametrize(("text", "key", "named"), UNAVAILABLE)
def test_unavailable(text: str, key: str, named: str) -> None:
    """What the table does not allow is refused with a message naming it and the key."""
    message = check_availability(parse(text), key)
    assert message is not None
    assert named in message
    assert key in message


def test_every_key_allows_github_and_general_functions() -> None:
    """Every key that takes expressions allows ``github`` and ``format``/``toJSON``."""
    for key, (contexts, functions) in AVAILABILITY.items():
        if key.endswith(".shell"):
            continue
        assert "github" in contexts, key
        assert {"format", "tojson", "fromjson", "contains"} <= functions, key
    assert "success" in allowed_functions("jobs.<job_id>.steps.if")
    assert "hashfiles" not in allowed_functions("jobs.<job_id>.if")
