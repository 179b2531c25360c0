"""``only`` / ``except``: GitLab's older job filters, judged for a local push pipeline.

A filter is a list of refs or a mapping of ``refs``, ``variables``,
``changes`` and ``kubernetes``. As in GitLab's ``Seed::Build``, a job is
added when *every* key of ``only`` has a match and *no* key of ``except``
has one (so ``except`` keys act as OR, which GitLab documents as a known
surprise). A job with neither ``rules`` nor ``only`` gets ``only: [branches, tags]``.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass

from runner.pipeline import yamlsrc
from runner.pipeline.gitlab.changes import ChangeSet
from runner.pipeline.gitlab.predefined import GitInfo
from runner.pipeline.gitlab.re2 import RegexError, compile_re2
from runner.pipeline.gitlab.reading import GitLabReader, Notes
from runner.pipeline.gitlab.rules import (
    Changes,
    Condition,
    changes_hold,
    holds,
    read_changes,
    read_condition,
)
from runner.pipeline.yamlsrc import Map, Node

POLICY_KEYS = ("refs", "variables", "changes", "kubernetes")
SOURCE_REFS = frozenset(
    {
        "api",
        "chat",
        "external",
        "external_pull_requests",
        "merge_requests",
        "pipelines",
        "schedules",
        "triggers",
        "web",
    }
)
"""Pipeline sources a local run never is (it is a push)."""
_REGEX_REF = re.compile(r"\A/(.*)/([ismU]*)\Z", re.DOTALL)


@dataclass(frozen=True)
class RefPattern:
    """One ``refs`` item: a keyword, an exact ref name or a compiled regex."""

    text: str
    regex: re.Pattern[str] | None = None


@dataclass(frozen=True)
class Policy:
    """A parsed ``only`` or ``except``; None parts were not written."""

    refs: tuple[RefPattern, ...] | None = None
    variables: tuple[Condition, ...] | None = None
    changes: Changes | None = None


DEFAULT_ONLY = Policy(refs=(RefPattern("branches"), RefPattern("tags")))


def read_policy(
    reader: GitLabReader, node: Node, key: str, what: str, notes: Notes
) -> Policy:
    """A ref list, or a mapping of ``refs``/``variables``/``changes``."""
    if not isinstance(node, Map):
        return Policy(refs=_refs(reader, node, key, what))
    reader.check_keys(node, POLICY_KEYS, key, f"in {what}")
    refs: tuple[RefPattern, ...] | None = None
    variables: tuple[Condition, ...] | None = None
    if (got := reader.child(node, "refs", key, what)) is not None:
        refs = _refs(reader, *got)
    if (got := reader.child(node, "variables", key, what)) is not None:
        items = reader.expect_seq(*got)
        variables = tuple(
            read_condition(reader, item, yamlsrc.join_index(got[1], i), f"an item of {got[2]}")
            for i, item in enumerate(items.items)
        )
    changes = None
    if (got := reader.child(node, "changes", key, what)) is not None:
        changes = read_changes(reader, *got)
    if (got := reader.child(node, "kubernetes", key, what)) is not None:
        raise reader.fail(
            got[0].pos,
            got[1],
            f"{got[2]} is not supported: a local run has no Kubernetes integration; use"
            " 'rules' with a variable instead",
        )
    return Policy(refs, variables, changes)


def _refs(reader: GitLabReader, node: Node, key: str, what: str) -> tuple[RefPattern, ...]:
    patterns: list[RefPattern] = []
    for text, pos, path in reader.strings(node, key, what):
        ref = text.split("@", 1)[0]  # `main@group/project`: the project is this one
        found = _REGEX_REF.match(ref)
        if found is None:
            patterns.append(RefPattern(ref))
            continue
        try:
            patterns.append(RefPattern(ref, compile_re2(found.group(1), found.group(2))))
        except RegexError as exc:
            raise reader.fail(pos, path, f"{what} has an invalid regex '{ref}': {exc}") from None
    return tuple(patterns)


def _ref_matches(pattern: RefPattern, git: GitInfo) -> bool:
    if pattern.regex is not None:
        return pattern.regex.search(git.ref_name) is not None
    if pattern.text == "branches":
        return git.branch is not None
    if pattern.text == "tags":
        return git.tag is not None
    if pattern.text == "pushes":
        return True
    if pattern.text in SOURCE_REFS:
        return False
    return pattern.text == git.ref_name


def _parts(
    reader: GitLabReader, policy: Policy, git: GitInfo, variables: Mapping[str, str],
    changes: ChangeSet,
) -> list[bool]:
    """Whether each written key of ``policy`` has a match."""
    parts = []
    if policy.refs is not None:
        parts.append(any(_ref_matches(p, git) for p in policy.refs))
    if policy.variables is not None:
        parts.append(any(holds(reader, c, variables) for c in policy.variables))
    if policy.changes is not None:
        parts.append(changes_hold(reader, policy.changes, variables, changes))
    return parts


def included(
    reader: GitLabReader,
    only: Policy | None,
    except_: Policy | None,
    git: GitInfo,
    variables: Mapping[str, str],
    *,
    changes: ChangeSet,
) -> bool:
    """Whether a job with these filters is added to the pipeline."""
    if not all(_parts(reader, only or DEFAULT_ONLY, git, variables, changes)):
        return False
    return except_ is None or not any(_parts(reader, except_, git, variables, changes))
