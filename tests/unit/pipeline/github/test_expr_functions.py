"""Property and index access, object filters and the built-in functions, case by case.

Expected values follow actions/runner's ``Index.cs`` (null for anything absent, integer
indexes floored, keys looked up ignoring case, ``*`` mapping over arrays and objects) and
its ``Functions/*.cs`` (``contains`` on strings and arrays, ``format`` escapes, ``join``'s
default separator, ``toJSON``'s layout).
"""

from __future__ import annotations

import pytest

from runner.pipeline.github.expr import EvalContext
from tests.unit.pipeline.github.exprcases import CONTEXTS, check

ACCESS = [
    ("github.ref", "refs/heads/main"),
    ("GITHUB.REF", "refs/heads/main"),
    ("github['ref']", "refs/heads/main"),
    ("github['REF']", "refs/heads/main"),
    ("github[ 'event_name' ]", "push"),
    ("github.event.head_commit.message", "Fix: CI"),
    ("github['event']['head_commit'].message", "Fix: CI"),
    ("github.event.commits[0].id", "c1"),
    ("github.event.commits[1].author.name", "Lisa"),
    ("github.event.commits[1.9].id", "c2"),
    ("github.event.commits['2'].id", "c3"),
    ("github.event.commits[' 1 '].id", "c2"),
    ("github.event.commits[true].id", "c2"),
    ("github.event.commits[false].id", "c1"),
    ("github.event.commits[null].id", "c1"),
    ("github.event.commits[3]", None),
    ("github.event.commits[-1]", None),
    ("github.event.commits['x']", None),
    ("github.event.commits[NaN]", None),
    ("github.event.commits[github]", None),
    ("github.event.commits.id", None),
    ("github.event.commits[2].author.name", None),
    ("github.missing", None),
    ("github.missing.deeper.still", None),
    ("github.ref.length", None),
    ("github.ref[0]", None),
    ("env.missing", None),
    ("env.CI", "true"),
    ("env.ci", "true"),
    ("env['NUM']", "42"),
    ("vars.region", "eu"),
    ("matrix.node", 20),
    ("matrix['node']", 20),
    ("strategy.job-total", 4),
    ("strategy['fail-fast']", True),
    ("job.services.redis.ports['6379']", "16379"),
    ("job.services.redis.ports[6379]", "16379"),
    ("steps.build.outputs.version", "1.2.3"),
    ("steps.build.outcome", "success"),
    ("steps.missing.outputs.x", None),
    ("needs.setup.result", "success"),
    ("needs.lint.outputs.anything", None),
    ("inputs.level", 3.0),
    ("fromJSON('{\"a\":{\"b\":[10,20]}}').a.b[1]", 20.0),
    ("fromJSON('[[1,2],[3,4]]')[1][0]", 3.0),
    ("(github).ref", "refs/heads/main"),
    ("(github.event.commits)[0].id", "c1"),
    ("fromJSON(steps.build.outputs.json).b.c", True),
    ("fromJSON(needs.setup.outputs.list)[1]", "b"),
    ("github.event.labels['bug'].color", "red"),
    ("github.event.labels[github.event.commits[0].id]", None),
]

FILTERS = [
    ("github.event.commits.*.id", ["c1", "c2", "c3"]),
    ("github.event.commits[*].id", ["c1", "c2", "c3"]),
    ("github.event.commits.*.author.name", ["Mona", "Lisa"]),
    ("github.event.commits.*.missing", []),
    ("github.event.labels.*.color", ["red", "blue"]),
    ("github.event.labels.*", [{"color": "red"}, {"color": "blue"}]),
    ("fromJSON('[[1,2],[3]]').*[0]", [1.0, 3.0]),
    ("fromJSON('[[1,2],[3]]').*[1]", [2.0]),
    ("fromJSON('[[1,2],[3]]').*.*", [1.0, 2.0, 3.0]),
    ("fromJSON('[{\"a\":[1,2]},{\"a\":[3]}]').*.a.*", [1.0, 2.0, 3.0]),
    ("fromJSON('[1,\"x\",null,{\"a\":1}]').*.a", [1.0]),
    ("fromJSON('{\"x\":{\"y\":1},\"z\":{\"y\":2}}').*.y", [1.0, 2.0]),
    ("github.ref.*", []),
    ("env.missing.*", []),
    ("github.event.commits.*.id[0]", []),
    ("contains(github.event.commits.*.id, 'C2')", True),
    ("contains(github.event.commits.*.id, 'c9')", False),
    ("join(github.event.commits.*.id)", "c1,c2,c3"),
    ("toJSON(github.event.commits.*.id)", '[\n  "c1",\n  "c2",\n  "c3"\n]'),
    ("github.event.commits.* == github.event.commits.*", False),
    ("!github.event.commits.*.missing", False),
]

CONTAINS = [
    ("contains('Hello world', 'llo')", True),
    ("contains('Hello world', 'LLO')", True),
    ("contains('Hello world', 'xyz')", False),
    ("contains('abc', '')", True),
    ("contains('', '')", True),
    ("contains('', 'a')", False),
    ("contains(123, 2)", True),
    ("contains(1.5, '.')", True),
    ("contains(true, 'ru')", True),
    ("contains(null, '')", True),
    ("contains('null', null)", True),
    ("contains('abc', github)", False),
    ("contains(fromJSON('[\"a\",\"b\"]'), 'B')", True),
    ("contains(fromJSON('[1,2,3]'), '2')", True),
    ("contains(fromJSON('[1,2,3]'), 4)", False),
    ("contains(fromJSON('[true]'), 1)", True),
    ("contains(fromJSON('[null]'), '')", True),
    ("contains(fromJSON('[]'), '')", False),
    ("contains(fromJSON('[\"abc\"]'), 'b')", False),
    ("contains(github, 'ref')", False),
    ("contains(github.event.head_commit.message, 'ci')", True),
    ("contains(fromJSON('[\"push\",\"pull_request\"]'), github.event_name)", True),
]

STARTS_ENDS = [
    ("startsWith('Hello world', 'He')", True),
    ("startsWith('Hello world', 'HE')", True),
    ("startsWith('Hello world', 'world')", False),
    ("startsWith('abc', '')", True),
    ("startsWith(123, 12)", True),
    ("startsWith(null, '')", True),
    ("startsWith(github, '')", False),
    ("startsWith('x', github)", False),
    ("startsWith(github.ref, 'refs/heads/')", True),
    ("startsWith(github.ref, 'refs/tags/')", False),
    ("endsWith('Hello world', 'ld')", True),
    ("endsWith('Hello world', 'LD')", True),
    ("endsWith('Hello world', 'Hello')", False),
    ("endsWith(1.5, 5)", True),
    ("endsWith(true, 'UE')", True),
    ("endsWith(fromJSON('[1]'), '1')", False),
    ("endsWith(github.ref, '/main')", True),
]

FORMAT = [
    ("format('Hello {0} {1} {2}', 'Mona', 'the', 'Octocat')", "Hello Mona the Octocat"),
    ("format('{{Hello {0} {1} {2}!}}', 'Mona', 'the', 'Octocat')", "{Hello Mona the Octocat!}"),
    ("format('{0}', 1)", "1"),
    ("format('{0}', 1.50)", "1.5"),
    ("format('{0}', 0.1)", "0.1"),
    ("format('{0}', 1e15)", "1E+15"),
    ("format('{0}', 123456789012345)", "123456789012345"),
    ("format('{0}', 1234567890123456)", "1.23456789012346E+15"),
    ("format('{0}', 0.00001)", "1E-05"),
    ("format('{0}', 0.0001)", "0.0001"),
    ("format('{0}', -0)", "0"),
    ("format('{0}', Infinity)", "Infinity"),
    ("format('{0}', -Infinity)", "-Infinity"),
    ("format('{0}', NaN)", "NaN"),
    ("format('{0}', true)", "true"),
    ("format('{0}', null)", ""),
    ("format('{0}', github)", "Object"),
    ("format('{0}', github.event.commits)", "Array"),
    ("format('{0}{0}{1}', 'a', 'b')", "aab"),
    ("format('{1}{0}', 'a', 'b')", "ba"),
    ("format('no args')", "no args"),
    ("format('')", ""),
    ("format('{{}}')", "{}"),
    ("format('{{0}}', 'x')", "{0}"),
    ("format('{{{0}}}', 'x')", "{x}"),
    ("format('}}{{')", "}{"),
    ("format(1)", "1"),
    ("format('{0}', 'x', 'unused')", "x"),
    ("format('{0}', 'x', fromJSON('not json'))", "x"),
    ("format('{0:}', 'x')", "x"),
    ("FORMAT('{0}', 'case')", "case"),
]

JOIN = [
    ("join(fromJSON('[\"a\",\"b\",\"c\"]'))", "a,b,c"),
    ("join(fromJSON('[\"a\",\"b\",\"c\"]'), ', ')", "a, b, c"),
    ("join(fromJSON('[\"a\",\"b\"]'), '')", "ab"),
    ("join(fromJSON('[1,true,null,\"x\"]'), '-')", "1-true--x"),
    ("join(fromJSON('[[1],{}]'), '-')", "Array-Object"),
    ("join(fromJSON('[\"only\"]'), fromJSON('not json'))", "only"),
    ("join(fromJSON('[\"a\",\"b\"]'), github)", "a,b"),
    ("join(fromJSON('[\"a\",\"b\"]'), 1)", "a1b"),
    ("join(fromJSON('[]'), '-')", ""),
    ("join('abc')", "abc"),
    ("join('abc', '-')", "abc"),
    ("join(1)", "1"),
    ("join(null)", ""),
    ("join(github)", ""),
]

JSON = [
    ("toJSON('x')", '"x"'),
    (r"""toJSON('a"b\c')""", r'"a\"b\\c"'),
    ("toJSON(1)", "1"),
    ("toJSON(1.5)", "1.5"),
    ("toJSON(true)", "true"),
    ("toJSON(null)", "null"),
    ("toJSON(fromJSON('[]'))", "[]"),
    ("toJSON(fromJSON('{}'))", "{}"),
    ("toJSON(fromJSON('[1,[2,[]],{}]'))", "[\n  1,\n  [\n    2,\n    []\n  ],\n  {}\n]"),
    ("toJSON(fromJSON('{\"a\":1,\"b\":{\"c\":[true,null]}}'))",
     '{\n  "a": 1,\n  "b": {\n    "c": [\n      true,\n      null\n    ]\n  }\n}'),
    ("toJSON(matrix)", '{\n  "os": "ubuntu-latest",\n  "python": "3.10",\n  "node": 20,\n'
                       '  "experimental": true\n}'),
    (r"""toJSON(fromJSON('"\u0001\n\t\u2028"'))""", r'"\u0001\n\t\u2028"'),
    ("fromJSON('1')", 1.0),
    ("fromJSON('-1.5e2')", -150.0),
    ("fromJSON('true')", True),
    ("fromJSON('null')", None),
    ("fromJSON('\"s\"')", "s"),
    ("fromJSON(' [1] ')", [1.0]),
    ("fromJSON('{\"A\":1}').a", 1.0),
    ("fromJSON('{\"a\":{\"b\":\"c\"}}')", {"a": {"b": "c"}}),
    ("fromJSON(toJSON(github.event.commits[0]))", {"id": "c1", "message": "fix: x",
                                                   "author": {"name": "Mona"}}),
    ("fromJSON('123456789012345678901234567890')", 1.2345678901234568e29),
    ("fromJSON(env.NUM)", 42.0),
    ("fromJSON(inputs.debug)", True),
]

CASE = [
    ("case(true, 'a', 'b')", "a"),
    ("case(false, 'a', 'b')", "b"),
    ("case(false, 'a', true, 'b', 'c')", "b"),
    ("case(false, 'a', false, 'b', 'c')", "c"),
    ("case(github.event_name == 'push', 'p', 'other')", "p"),
    ("case(true, 'a', fromJSON('not json'))", "a"),
]


def _table(name: str, cases: list[tuple[str, object]]) -> list[object]:
    return [pytest.param(text, expected, id=f"{name}:{text}") for text, expected in cases]


@pytest.mark.parametrize(
    ("text", "expected"),
    _table("access", ACCESS) + _table("filter", FILTERS) + _table("contains", CONTAINS)
    + _table("starts/ends", STARTS_ENDS) + _table("format", FORMAT) + _table("join", JOIN)
    + _table("json", JSON) + _table("case", CASE),
)
def test_case(text: str, expected: object) -> None:
    """Each expression evaluates to what GitHub's runner gives for it."""
    check(text, expected)


@pytest.mark.parametrize(
    ("status", "text", "expected"),
    [
        ("success", "success()", True),
        ("success", "failure()", False),
        ("success", "cancelled()", False),
        ("success", "always()", True),
        ("failure", "success()", False),
        ("failure", "failure()", True),
        ("failure", "always()", True),
        ("cancelled", "cancelled()", True),
        ("cancelled", "success()", False),
        ("cancelled", "failure()", False),
        ("cancelled", "always()", True),
        ("failure", "!cancelled()", True),
        ("success", "success('setup')", True),
        ("success", "success('setup', 'lint')", False),
        ("success", "failure('lint')", True),
        ("success", "failure('setup')", False),
        ("success", "Always() && SUCCESS()", True),
    ],
)
def test_status_functions(status: str, text: str, expected: bool) -> None:
    """Status functions read the job's status; with job names, those jobs' results."""
    check(text, expected, EvalContext(CONTEXTS, status=status))


def test_format_evaluates_only_the_arguments_it_uses() -> None:
    """Unused format arguments are never evaluated, as in the runner (hashFiles not asked)."""
    ctx = EvalContext(CONTEXTS, hash_files=lambda patterns: pytest.fail("evaluated"))
    check("format('{0}', 'x', hashFiles('*'))", "x", ctx)


def test_and_or_do_not_evaluate_past_the_deciding_operand() -> None:
    """``&&``/``||`` stop at the operand that decides, so later errors never happen."""
    check("false && fromJSON('bad')", False)
    check("true || fromJSON('bad')", True)
