"""One ``include`` item read into what to fetch, as GitLab's Mapper normalizes it.

GitLab's order (lib/gitlab/ci/config/external/mapper.rb) is kept: Normalizer
(a string is ``remote`` when it is an http(s) URL, else ``local``), Filter
(``rules``, see ``includerules``), LocationExpander (``project`` with a list of
``file`` becomes one include per file; wildcards), then VariablesExpander:
every string (and list of strings) of the item is expanded with the variables
known at include time, an undefined one becoming empty (``ExpandVariables``).
``inputs`` is a mapping and is passed on untouched.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass

from runner.pipeline import yamlsrc
from runner.pipeline.fields import FieldReader
from runner.pipeline.gitlab.expand import expand
from runner.pipeline.yamlsrc import Entry, Map, Node, Scalar, Seq, describe, join_index, join_key

KINDS = ("local", "project", "remote", "template", "component", "artifact")
"""The keys that say what an include item names (exactly one per item)."""

ITEM_KEYS = (*KINDS, "file", "ref", "job", "rules", "inputs", "with", "cache", "integrity")
"""Every key GitLab accepts in an include item."""

_URL = re.compile(r"[A-Za-z][A-Za-z0-9+.-]*://")
_INTEGRITY = re.compile(r"sha256-[A-Za-z0-9+/]{43}=")


@dataclass(frozen=True)
class Request:
    """One file to include: its kind, location (variables expanded) and where it is written."""

    kind: str
    location: str
    node: Node
    key: str
    project: str | None = None
    ref: str | None = None
    integrity: str | None = None
    inputs: Node | None = None
    inputs_key: str = ""


def items(value: Node) -> list[tuple[Node, str]]:
    """The include items with their key paths (``include`` or ``include[2]``)."""
    if isinstance(value, Seq) and value.tag == yamlsrc.SEQ_TAG:
        return [(item, join_index("include", i)) for i, item in enumerate(value.items)]
    if isinstance(value, Scalar) and value.value is None:
        return []
    return [(value, "include")]


def rules_of(item: Node, key: str) -> tuple[Node, str] | None:
    """The item's ``rules`` node and key path, if it has rules."""
    if isinstance(item, Map) and (found := item.get("rules")) is not None:
        return found.value, join_key(key, "rules")
    return None


def check_item(reader: FieldReader, item: Node, key: str) -> None:
    """The item's shape: a path, a URL or a mapping with exactly one kind and known keys."""
    if isinstance(item, Scalar) and isinstance(item.value, str):
        return
    if not isinstance(item, Map) or item.tag != yamlsrc.MAP_TAG:
        raise reader.fail(
            item.pos,
            key,
            "an include must be a file path, a URL or a mapping like '{local: ci/build.yml}',"
            f" got {describe(item)}",
        )
    for entry in item:
        if entry.key not in ITEM_KEYS:
            close = difflib.get_close_matches(entry.key, ITEM_KEYS, n=1)
            hint = f"; did you mean '{close[0]}'?" if close else ""
            raise reader.fail(
                entry.key_pos,
                join_key(key, entry.key),
                f"unknown key '{entry.key}' in an include{hint}",
            )
    kinds = [entry for entry in item if entry.key in KINDS]
    if not kinds:
        raise reader.fail(
            item.pos,
            key,
            "an include needs the file to include: one of "
            + ", ".join(f"'{kind}'" for kind in KINDS)
            + ", like '{local: ci/build.yml}'",
        )
    if len(kinds) > 1:
        raise reader.fail(
            kinds[1].key_pos,
            join_key(key, kinds[1].key),
            "an include must use only one of "
            + ", ".join(f"'{kind}'" for kind in KINDS)
            + f"; this one has both '{kinds[0].key}' and '{kinds[1].key}'",
        )


def requests(
    reader: FieldReader, item: Node, key: str, variables: Mapping[str, str]
) -> list[Request]:
    """The files ``item`` names (a ``project`` item may name several), variables expanded."""

    def text(node: Node, path: str, what: str) -> str:
        raw = reader.nonempty_str(node, path, what)
        return expand(raw, variables, missing="empty", server=True)

    if isinstance(item, Scalar):
        location = text(item, key, "an include")
        kind = "remote" if _URL.match(location) else "local"
        return [Request(kind, location, item, key)]
    assert isinstance(item, Map)
    kind_entry = next(entry for entry in item if entry.key in KINDS)
    kind, kind_key = kind_entry.key, join_key(key, kind_entry.key)
    found_inputs = item.get("inputs") or item.get("with")
    inputs = (found_inputs.value, join_key(key, found_inputs.key)) if found_inputs else (None, "")
    if kind == "project":
        return _project(reader, item, key, kind_entry, text, inputs)
    if kind == "artifact":
        raise reader.fail(
            kind_entry.key_pos,
            kind_key,
            "`include: artifact` reads a file made by a job of the parent pipeline, so it works"
            " only in a child pipeline started by 'trigger'",
        )
    location = text(kind_entry.value, kind_key, f"'include: {kind}'")
    integrity = None
    if (found := item.get("integrity")) is not None:
        integrity_key = join_key(key, "integrity")
        if kind != "remote":
            raise reader.fail(found.key_pos, integrity_key, "'integrity' goes with 'remote' only")
        integrity = reader.expect_str(found.value, integrity_key, "'integrity'")
        if not _INTEGRITY.fullmatch(integrity):
            raise reader.fail(
                found.value.pos,
                integrity_key,
                "'integrity' must be 'sha256-' and the base64 of the file's SHA-256 digest",
            )
    if kind == "remote" and not re.match(r"https?://[^/]", location, re.IGNORECASE):
        raise reader.fail(
            kind_entry.value.pos,
            kind_key,
            f"remote include '{location}' is not a valid http(s) address",
        )
    return [Request(kind, location, kind_entry.value, kind_key, None, None, integrity, *inputs)]


def _project(  # noqa: PLR0917 - one private caller
    reader: FieldReader,
    item: Map,
    key: str,
    entry: Entry,
    text: Callable[[Node, str, str], str],
    inputs: tuple[Node | None, str],
) -> list[Request]:
    """``project`` + ``file`` (a string or a list) + optional ``ref``: one request per file."""
    project_key = join_key(key, "project")
    project_node = entry.value
    if isinstance(project_node, Seq) and project_node.items:  # deprecated list form: the first
        project_node = project_node.items[0]
    project = text(project_node, project_key, "'project' of an include").strip("/")
    ref = None
    if (found := item.get("ref")) is not None:
        ref = text(found.value, join_key(key, "ref"), "'ref' of an include")
    files = item.get("file")
    if files is None:
        raise reader.fail(item.pos, key, f"include of project '{project}' needs 'file'")
    file_key = join_key(key, "file")
    nodes = files.value.items if isinstance(files.value, Seq) else (files.value,)
    out: list[Request] = []
    for index, node in enumerate(nodes):
        path_key = join_index(file_key, index) if isinstance(files.value, Seq) else file_key
        path = text(node, path_key, "'file' of an include").lstrip("/")
        out.append(Request("project", path, node, path_key, project, ref, None, *inputs))
    return out
