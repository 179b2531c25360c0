"""``${{ }}`` expression benchmarks: parsing and evaluating a large workflow's expressions.

Issue 17 wants a 1,000-line workflow with a 50-entry matrix to parse and list in under
0.5 s; these rows isolate the expression language's share of that.  The text is a
synthetic workflow's worth of distinct expressions (one or two per line, the shapes real
workflows use: conditions, matrix and step-output references, format/contains/fromJSON),
parsed with the parse caches cleared first, so every text is parsed for real; then the
same texts evaluated once per entry of a 50-entry matrix, as a session would.
"""

from __future__ import annotations

import statistics
import time

from runner.pipeline.github.expr import EvalContext, parse_condition, parse_template
from runner.pipeline.github.expr.expression import parse

Row = tuple[str, str, str]

LINES = 1000
MATRIX = 50


CONDITIONS = [
    "github.event_name == 'push' && github.ref == 'refs/heads/b{i}'",
    "${{{{ startsWith(github.ref, 'refs/tags/v{i}') && !cancelled() }}}}",
    "failure() && steps.s{i}.outcome == 'failure'",
]


def workflow_conditions(lines: int = LINES) -> list[str]:
    """The ``if:`` values of such a workflow: one line in ten, each distinct."""
    return [CONDITIONS[i % len(CONDITIONS)].format(i=i) for i in range(0, lines, 10)]


def workflow_texts(lines: int = LINES) -> list[str]:
    """One ``${{ }}``-bearing value per line, each distinct, in the shapes workflows use."""
    shapes = [
        "${{{{ matrix.os }}}}-build-{i}",
        "echo ${{{{ steps.s{i}.outputs.version }}}} > out/v{i}",
        "${{{{ github.event_name == 'push' && github.ref == 'refs/heads/b{i}' }}}}",
        "${{{{ format('{{0}}-{{1}}-{i}', matrix.python, matrix.os) }}}}",
        "${{{{ contains(github.event.head_commit.message, '[skip {i}]') }}}}",
        "${{{{ fromJSON(needs.setup.outputs.list)[{i}] || 'none' }}}}",
        "${{{{ toJSON(matrix) }}}} run {i}",
        "${{{{ startsWith(github.ref, 'refs/tags/v{i}') && !cancelled() }}}}",
        "${{{{ env.A{i} }}}}:${{{{ env.B{i} }}}}",
        "${{{{ github.event.commits.*.id[{i}] }}}}",
    ]
    return [shapes[i % len(shapes)].format(i=i) for i in range(lines)]


def _context(entry: int) -> EvalContext:
    return EvalContext(
        {
            "github": {"event_name": "push", "ref": "refs/heads/main",
                       "event": {"head_commit": {"message": "fix"},
                                 "commits": [{"id": "a"}]}},
            "matrix": {"os": f"os{entry}", "python": "3.12"},
            "needs": {"setup": {"outputs": {"list": "[1, 2, 3]"}}},
            "steps": {},
            "env": {},
        }
    )


def _parse_all(texts: list[str]) -> None:
    parse.cache_clear()
    parse_template.cache_clear()
    parse_condition.cache_clear()
    for text in texts:
        parse_template(text)
    for condition in workflow_conditions():
        parse_condition(condition)


def _evaluate_all(texts: list[str]) -> None:
    templates = [parse_template(text) for text in texts]
    for entry in range(MATRIX):
        ctx = _context(entry)
        for template in templates:
            template.render(ctx)


def _median(action: object, texts: list[str], repeat: int) -> float:
    assert callable(action)
    action(texts)
    samples = []
    for _ in range(repeat):
        start = time.perf_counter()
        action(texts)
        samples.append(time.perf_counter() - start)
    return statistics.median(samples)


def expression_rows(repeat: int) -> list[Row]:
    """Rows: cold parse of a 1,000-line workflow's expressions; 50 matrix evaluations."""
    texts = workflow_texts()
    parsed = _median(_parse_all, texts, repeat)
    evaluated = _median(_evaluate_all, texts, repeat)
    return [
        (f"parse {LINES} distinct ${{{{ }}}} values + {LINES // 10} if: (cold cache)",
         f"{parsed:.3f} s", "< 0.1 s (of the 0.5 s parse budget)"),
        (f"render them for a {MATRIX}-entry matrix ({LINES * MATRIX} renders)",
         f"{evaluated:.3f} s", "(for scale)"),
    ]
