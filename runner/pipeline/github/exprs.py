"""The loader's one door to the expression language: check ``${{ }}`` at load time, evaluate.

Every value of a workflow that may hold ``${{ }}`` is parsed here when the
file is read, so a syntax error or a context the key cannot see (``secrets``
in ``runs-on``, ``steps`` in a job's ``if``) is reported with file, line and
key before anything runs, in the same report as every other problem.
"""

from __future__ import annotations

from collections.abc import Mapping

from runner.pipeline.github.expr import (
    EvalContext,
    ExprError,
    Template,
    check_availability,
    parse_template,
)
from runner.pipeline.github.reading import WorkflowReader
from runner.pipeline.github.stepspec import Json
from runner.pipeline.yamlsrc import Pos

JOB = "jobs.<job_id>."
STEP = "jobs.<job_id>.steps."


def check(reader: WorkflowReader, text: str, pos: Pos, key: str, place: str) -> Template | None:
    """``text`` parsed as a template whose expressions read only what ``place`` (GitHub's key
    path, ``jobs.<job_id>.runs-on``) may read.

    Problems are recorded on ``reader``; None when the text does not parse.
    """
    try:
        template = parse_template(text)
    except ExprError as exc:
        reader.problems.append(reader.fail(_at(reader, pos, text, exc.column), key,
                                           f"invalid expression in '{key}': {exc.message}"))
        return None
    for expr in template.expressions:
        if (problem := check_availability(expr, place)) is not None:
            reader.problem(pos, key, problem)
    return template


def check_condition(reader: WorkflowReader, text: str, pos: Pos, key: str, place: str) -> None:
    """An ``if:`` (optional ``${{ }}`` around the whole) parsed and its contexts checked."""
    from runner.pipeline.github.expr import parse_condition  # noqa: PLC0415

    try:
        expr = parse_condition(text)
    except ExprError as exc:
        reader.problems.append(reader.fail(_at(reader, pos, text, exc.column), key,
                                           f"invalid expression in '{key}': {exc.message}"))
        return
    if (problem := check_availability(expr, place)) is not None:
        reader.problem(pos, key, problem)


def _at(reader: WorkflowReader, pos: Pos, text: str, offset: int) -> Pos:
    """Where ``offset`` of ``text`` is in the file: exact on one line, by line in a block."""
    offset = max(0, min(offset, len(text)))
    line_text = reader.source.line_text(pos.line)[pos.column - 1:]
    if line_text[:1] in "|>":
        return Pos(pos.line + 1 + text.count("\n", 0, offset), 1, pos.file)
    if "\n" in text or line_text[:1] in "'\"":
        return pos
    return Pos(pos.line, pos.column + offset, pos.file)


def evaluate(template: Template, contexts: Mapping[str, Json]) -> Json:
    """The template's value (one ``${{ }}`` keeps its type) with ``contexts``."""
    got: Json = template.evaluate(EvalContext(contexts=dict(contexts)))
    return got


def render(template: Template, contexts: Mapping[str, Json]) -> str:
    """The template as text, each ``${{ }}`` part coerced to a string."""
    return template.render(EvalContext(contexts=dict(contexts)))
