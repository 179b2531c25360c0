"""``rules`` and ``workflow:rules``: read once, then the first matching rule decides.

Clauses are GitLab's: ``if`` (an expression over the raw, unexpanded
variables), ``exists`` (globs over the project's files, see ``globs``) and
``changes``. A rule matches when all its clauses hold; a rule without
clauses always matches; the first match wins and none means "not added".

``changes`` is judged by ``changes.ChangeSet`` (the files the push changes,
against the default branch, the previous commit or a ``compare_to`` ref);
the translator names the comparison once in a note.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping
from dataclasses import dataclass

from runner.pipeline import yamlsrc
from runner.pipeline.gitlab.changes import ChangeSet, CompareError
from runner.pipeline.gitlab.expand import expand
from runner.pipeline.gitlab.expressions import Expression, ExpressionError, evaluate, parse
from runner.pipeline.gitlab.globs import ProjectFiles
from runner.pipeline.gitlab.reading import GitLabReader, Notes
from runner.pipeline.gitlab.variables import Var, read_variables
from runner.pipeline.yamlsrc import Map, Node, Pos, join_index

RULE_KEYS = (
    "if",
    "changes",
    "exists",
    "when",
    "allow_failure",
    "variables",
    "start_in",
    "needs",
    "interruptible",
)
WORKFLOW_RULE_KEYS = ("if", "changes", "exists", "when", "variables", "auto_cancel")
JOB_WHENS = ("on_success", "on_failure", "always", "manual", "delayed", "never")
WORKFLOW_WHENS = ("always", "never")
CHANGES_KEYS = ("paths", "compare_to")
EXISTS_KEYS = ("paths", "project", "ref")


@dataclass(frozen=True)
class Changes:
    """A ``changes`` clause: globs, and the ref to compare with (as written, and where)."""

    paths: tuple[str, ...]
    compare_to: tuple[str, Pos, str] | None = None


@dataclass(frozen=True)
class Condition:
    """A parsed ``if`` (or ``only:variables`` item) and where it is written."""

    tree: Expression
    text: str
    pos: Pos
    key: str


@dataclass(frozen=True)
class Rule:
    """One rule; None fields were not written."""

    pos: Pos
    key: str
    condition: Condition | None = None
    exists: tuple[str, ...] | None = None
    when: str | None = None
    allow_failure: bool | None = None
    variables: tuple[Var, ...] = ()
    start_in: float | None = None
    needs: tuple[Node, str, str] | None = None
    changes: Changes | None = None


@functools.lru_cache(maxsize=4096)
def _parse(text: str) -> Expression:
    """Each distinct expression is parsed once per process (templates repeat them a lot)."""
    return parse(text)


def read_condition(reader: GitLabReader, node: Node, key: str, what: str) -> Condition:
    """An expression, checked now so a typo is reported where it is written."""
    text = reader.nonempty_str(node, key, what)
    try:
        tree = _parse(text)
    except ExpressionError as exc:
        raise reader.fail(node.pos, key, f"{what} is not a valid expression: {exc}") from None
    return Condition(tree, text, node.pos, key)


def holds(reader: GitLabReader, condition: Condition, variables: Mapping[str, str]) -> bool:
    """Evaluate; a regex held in a variable that cannot be run is an error at the ``if``."""
    try:
        return evaluate(condition.tree, variables)
    except ExpressionError as exc:
        raise reader.fail(
            condition.pos, condition.key, f"cannot evaluate '{condition.text}': {exc.reason}"
        ) from None


def read_rules(
    reader: GitLabReader, node: Node, key: str, what: str, notes: Notes, *, workflow: bool = False
) -> tuple[Rule, ...]:
    """A ``rules`` list; ``workflow`` rules take fewer keys and only always/never."""
    items = reader.expect_seq(node, key, what)
    rules: list[Rule] = []
    for index, item in enumerate(items.items):
        path = join_index(key, index)
        if isinstance(item, yamlsrc.Seq):  # `- !reference [...]` resolving to a list of rules
            rules.extend(read_rules(reader, item, path, what, notes, workflow=workflow))
            continue
        rules.append(_rule(reader, item, path, f"a rule of {what}", notes=notes, workflow=workflow))
    return tuple(rules)


def _rule(
    reader: GitLabReader, node: Node, key: str, what: str, *, notes: Notes, workflow: bool
) -> Rule:
    spec = reader.expect_map(node, key, what)
    reader.check_keys(spec, WORKFLOW_RULE_KEYS if workflow else RULE_KEYS, key, f"in {what}")
    condition: Condition | None = None
    exists: tuple[str, ...] | None = None
    when: str | None = None
    allow_failure: bool | None = None
    start_in: float | None = None
    variables: tuple[Var, ...] = ()
    if (got := reader.child(spec, "if", key, what)) is not None:
        condition = read_condition(reader, *got)
    if (got := reader.child(spec, "exists", key, what)) is not None:
        exists = _exists(reader, *got)
    changes: Changes | None = None
    if (got := reader.child(spec, "changes", key, what)) is not None:
        changes = read_changes(reader, *got)
    if (got := reader.child(spec, "when", key, what)) is not None:
        when = reader.word(*got, WORKFLOW_WHENS if workflow else JOB_WHENS)
    if (got := reader.child(spec, "allow_failure", key, what)) is not None:
        allow_failure = reader.expect_bool(*got)
    if (got := reader.child(spec, "variables", key, what)) is not None:
        variables = read_variables(reader, *got)
    needs = reader.child(spec, "needs", key, what)
    if (got := reader.child(spec, "interruptible", key, what)) is not None:
        reader.expect_bool(*got)
    if (got := reader.child(spec, "auto_cancel", key, what)) is not None:
        reader.expect_map(*got)
    start = reader.child(spec, "start_in", key, what)
    if start is not None:
        if when != "delayed":
            raise reader.fail(start[0].pos, start[1], f"{start[2]} goes with 'when: delayed' only")
        start_in = reader.duration(*start)
    elif when == "delayed":
        raise reader.fail(spec.pos, key, f"{what} says 'when: delayed' but has no 'start_in'")
    return Rule(spec.pos, key, condition, exists, when, allow_failure, variables, start_in, needs,
                changes)


def _exists(reader: GitLabReader, node: Node, key: str, what: str) -> tuple[str, ...]:
    """Globs, or ``{paths, project, ref}`` of which only ``paths`` means anything locally."""
    if isinstance(node, Map):
        reader.check_keys(node, EXISTS_KEYS, key, f"in {what}")
        for other in ("project", "ref"):
            if (got := reader.child(node, other, key, what)) is not None:
                reader.expect_str(*got)
        got = reader.child(node, "paths", key, what)
        if got is None:
            raise reader.fail(node.pos, yamlsrc.join_key(key, "paths"), f"{what} has no 'paths'")
        node, key, what = got
    return tuple(text for text, _, _ in reader.strings(node, key, what))


def read_changes(reader: GitLabReader, node: Node, key: str, what: str) -> Changes:
    """``changes``: globs, or ``{paths, compare_to}``."""
    compare_to = None
    if isinstance(node, Map):
        reader.check_keys(node, CHANGES_KEYS, key, f"in {what}")
        if (got := reader.child(node, "compare_to", key, what)) is not None:
            compare_to = (reader.nonempty_str(*got), got[0].pos, got[1])
        got = reader.child(node, "paths", key, what)
        if got is None:
            raise reader.fail(node.pos, yamlsrc.join_key(key, "paths"), f"{what} has no 'paths'")
        node, key, what = got
    return Changes(tuple(text for text, _, _ in reader.strings(node, key, what)), compare_to)


def changes_hold(reader: GitLabReader, clause: Changes, variables: Mapping[str, str],
                 changes: ChangeSet) -> bool:
    """Whether a ``changes`` clause holds; a ``compare_to`` naming no commit is an error there."""
    if clause.compare_to is None:
        return changes.holds(clause.paths, variables)
    text, pos, key = clause.compare_to
    try:
        return changes.holds(clause.paths, variables,
                             expand(text, variables, missing="keep", server=True))
    except CompareError as exc:
        raise reader.fail(pos, key, str(exc)) from None


def first_match(
    reader: GitLabReader,
    rules: tuple[Rule, ...],
    variables: Mapping[str, str],
    files: ProjectFiles,
    changes: ChangeSet,
) -> Rule | None:
    """The first rule whose clauses all hold against ``variables`` (raw values), or None."""
    for rule in rules:
        if rule.condition is not None and not holds(reader, rule.condition, variables):
            continue
        if rule.changes is not None and not changes_hold(reader, rule.changes, variables,
                                                         changes):
            continue
        if rule.exists is not None and not any(
            files.any_match(expand(pattern, variables, missing="keep", server=True))
            for pattern in rule.exists
        ):
            continue
        return rule
    return None
