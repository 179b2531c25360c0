"""``on:``: which events start a workflow, their filters, and ``workflow_dispatch`` inputs.

Every form GitHub accepts is read (a string, a list, a mapping of events to
their filters or null, ``schedule`` as a list of ``cron`` entries). A local
run simulates ONE event (``--event``, default ``push``): a workflow that does
not trigger on it is refused with the events it does trigger on (act would
quietly run nothing). Branch and tag filters are matched against the local
ref; a mismatch is a note, not a refusal (GitHub would not run the workflow
for that ref; running it locally anyway is what the user asked for, as in act).
"""

from __future__ import annotations

import difflib
import re
from dataclasses import dataclass, field

from runner.pipeline import yamlsrc
from runner.pipeline.github.reading import WorkflowReader, text, value
from runner.pipeline.github.stepspec import Json
from runner.pipeline.yamlsrc import Node, Pos, Scalar, Seq

EVENTS = (
    "branch_protection_rule", "check_run", "check_suite", "create", "delete", "deployment",
    "deployment_status", "discussion", "discussion_comment", "fork", "gollum", "issue_comment",
    "issues", "label", "merge_group", "milestone", "page_build", "project", "project_card",
    "project_column", "public", "pull_request", "pull_request_review",
    "pull_request_review_comment", "pull_request_target", "push", "registry_package", "release",
    "repository_dispatch", "schedule", "status", "watch", "workflow_call", "workflow_dispatch",
    "workflow_run",
)
_REF_FILTERS = ("branches", "branches-ignore", "paths", "paths-ignore")
FILTER_KEYS: dict[str, tuple[str, ...]] = {
    "push": (*_REF_FILTERS, "tags", "tags-ignore"),
    "pull_request": (*_REF_FILTERS, "types"),
    "pull_request_target": (*_REF_FILTERS, "types"),
    "workflow_dispatch": ("inputs",),
    "workflow_call": ("inputs", "outputs", "secrets"),
    "workflow_run": ("workflows", "types", "branches", "branches-ignore"),
}
INPUT_KEYS = ("description", "required", "default", "type", "options", "deprecationMessage")
INPUT_TYPES = ("string", "boolean", "number", "choice", "environment")


@dataclass(frozen=True)
class Input:
    """One ``workflow_dispatch`` input as declared."""

    name: str
    pos: Pos
    type: str = "string"
    required: bool = False
    default: Json = None
    options: tuple[str, ...] = ()


@dataclass(frozen=True)
class Trigger:
    """One event of ``on:`` with its filters (lists of patterns by filter key)."""

    event: str
    pos: Pos
    filters: dict[str, tuple[str, ...]] = field(default_factory=dict)
    inputs: tuple[Input, ...] = ()


def read_on(reader: WorkflowReader, node: Node) -> tuple[Trigger, ...]:
    """The triggers ``on:`` names, each checked; problems go to ``reader``."""
    if isinstance(node, Scalar | Seq):
        found = []
        for name, item, key in reader.strings(node, "on", "'on'"):
            if _known(reader, name, item.pos, key):
                found.append(Trigger(name, item.pos))
        return tuple(found)
    triggers = []
    for entry in node:
        key = yamlsrc.join_key("on", entry.key)
        if _known(reader, entry.key, entry.key_pos, key):
            triggers.append(_trigger(reader, entry.key, entry.key_pos, entry.value, key))
    return tuple(triggers)


def _known(reader: WorkflowReader, name: str, pos: Pos, key: str) -> bool:
    if name in EVENTS:
        return True
    close = difflib.get_close_matches(name, EVENTS, n=1)
    hint = f"; did you mean '{close[0]}'?" if close else ""
    reader.problem(pos, key, f"unknown event '{name}' in 'on'{hint}")
    return False


def _trigger(reader: WorkflowReader, event: str, pos: Pos, node: Node, key: str) -> Trigger:
    if event == "schedule":
        _schedule(reader, node, key)
        return Trigger(event, pos)
    if isinstance(node, Scalar) and node.value is None:
        return Trigger(event, pos)
    mapping = reader.mapping(node, key, f"'on.{event}'")
    if mapping is None:
        return Trigger(event, pos)
    allowed = FILTER_KEYS.get(event, ("types",))
    reader.keys(mapping, allowed, key, f"in 'on.{event}'")
    filters: dict[str, tuple[str, ...]] = {}
    inputs: tuple[Input, ...] = ()
    for entry in mapping:
        at = yamlsrc.join_key(key, entry.key)
        if entry.key == "inputs" and event == "workflow_dispatch":
            inputs = _inputs(reader, entry.value, at)
        elif entry.key in allowed and entry.key not in ("inputs", "outputs", "secrets"):
            filters[entry.key] = tuple(t for t, _, _ in reader.strings(entry.value, at,
                                                                        f"'{at}'"))
    for first, second in (("branches", "branches-ignore"), ("tags", "tags-ignore"),
                          ("paths", "paths-ignore")):
        if first in filters and second in filters:
            reader.problem(pos, key, f"'on.{event}' cannot have both '{first}' and '{second}'")
    return Trigger(event, pos, filters, inputs)


def _schedule(reader: WorkflowReader, node: Node, key: str) -> None:
    if not isinstance(node, Seq):
        reader.problem(node.pos, key, "'on.schedule' must be a list of '- cron: ...' entries")
        return
    for index, item in enumerate(node.items):
        at = yamlsrc.join_index(key, index)
        mapping = reader.mapping(item, at, "each entry of 'on.schedule'")
        if mapping is None:
            continue
        reader.keys(mapping, ("cron", "timezone"), at, "in 'on.schedule'")
        if mapping.get("cron") is None:
            reader.problem(item.pos, at, "a schedule entry needs 'cron'")


def _inputs(reader: WorkflowReader, node: Node, key: str) -> tuple[Input, ...]:
    if isinstance(node, Scalar) and node.value is None:
        return ()
    mapping = reader.mapping(node, key, "'on.workflow_dispatch.inputs'")
    if mapping is None:
        return ()
    found = []
    for entry in mapping:
        at = yamlsrc.join_key(key, entry.key)
        spec = reader.mapping(entry.value, at, f"input '{entry.key}'")
        if spec is None:
            continue
        reader.keys(spec, INPUT_KEYS, at, f"of input '{entry.key}'")
        kind = "string"
        if (got := spec.get("type")) is not None and isinstance(got.value, Scalar):
            kind = text(got.value)
            if kind not in INPUT_TYPES:
                reader.problem(got.value.pos, f"{at}.type", f"input type '{kind}' is not one of "
                               + ", ".join(INPUT_TYPES))
        required = False
        if (got := spec.get("required")) is not None:
            required = value(got.value) is True
        default = value(got.value) if (got := spec.get("default")) is not None else None
        options: tuple[str, ...] = ()
        if (got := spec.get("options")) is not None:
            options = tuple(t for t, _, _ in reader.strings(got.value, f"{at}.options",
                                                               f"'{at}.options'"))
        if kind == "choice" and not options:
            reader.problem(entry.key_pos, at, f"choice input '{entry.key}' needs 'options'")
        found.append(Input(entry.key, entry.key_pos, kind, required, default, options))
    return tuple(found)


def glob_regex(pattern: str) -> re.Pattern[str]:
    """GitHub's filter pattern syntax: ``*`` (not ``/``), ``**``, ``?``, ``+``, ``[...]``."""
    out = []
    index = 0
    while index < len(pattern):
        char = pattern[index]
        if pattern.startswith("**", index):
            out.append(".*")
            index += 2
            continue
        if char == "*":
            out.append("[^/]*")
        elif char in "?+":
            out.append(char)
        elif char == "[":
            end = pattern.find("]", index)
            if end < 0:
                out.append(re.escape(char))
            else:
                out.append(pattern[index:end + 1])
                index = end
        elif char == "\\" and index + 1 < len(pattern):
            index += 1
            out.append(re.escape(pattern[index]))
        else:
            out.append(re.escape(char))
        index += 1
    try:
        return re.compile("".join(out))
    except re.error:
        return re.compile(re.escape(pattern))


def matches(patterns: tuple[str, ...], name: str) -> bool:
    """Whether ``name`` passes ``patterns``, later ``!pattern`` entries taking it back out."""
    hit = False
    for pattern in patterns:
        negative = pattern.startswith("!")
        if glob_regex(pattern[1:] if negative else pattern).fullmatch(name):
            hit = not negative
    return hit


def filter_note(trigger: Trigger, branch: str | None, tag: str | None) -> str | None:
    """Why GitHub would not run this workflow for the local ref, or None."""
    kinds = (("tags", "tags-ignore", tag),) if tag else (("branches", "branches-ignore", branch),)
    if trigger.event == "push" and not tag and "tags" in trigger.filters and (
            "branches" not in trigger.filters and "branches-ignore" not in trigger.filters):
        return (f"'on.push' only names tags and {branch!r} is a branch; GitHub would not run "
                "this workflow for it (running it anyway)")
    for only, ignore, name in kinds:
        if name is None:
            continue
        if only in trigger.filters and not matches(trigger.filters[only], name):
            return (f"'on.{trigger.event}.{only}' does not match {name!r}; GitHub would not "
                    "run this workflow for it (running it anyway)")
        if ignore in trigger.filters and matches(trigger.filters[ignore], name):
            return (f"'on.{trigger.event}.{ignore}' matches {name!r}; GitHub would not run "
                    "this workflow for it (running it anyway)")
    return None
