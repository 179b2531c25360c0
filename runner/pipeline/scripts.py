"""Dialect-neutral reading of a script: a string or a list of commands, flattened like GitLab's."""

from __future__ import annotations

from runner.pipeline.fields import FieldReader
from runner.pipeline.model import Spot
from runner.pipeline.yamlsrc import Map, Node, Pos, Scalar, Seq, describe, join_index

MAX_SCRIPT_NESTING = 10
"""Nested lists in scripts are flattened (so ``- *setup`` anchors work), as GitLab does."""

Script = tuple[tuple[str, ...], tuple[Spot, ...]]
"""A script's commands and, parallel to them, where each is written (for a failing line)."""


def script(reader: FieldReader, node: Node, key: str, what: str) -> tuple[str, ...]:
    """One string, or a list of strings; nested lists (from anchors) are flattened."""
    return located(reader, node, key, what)[0]


def located(reader: FieldReader, node: Node, key: str, what: str) -> Script:
    """``script``'s commands with each one's spot: an anchor's line points where it is
    defined, an included file's line at that file."""
    if isinstance(node, Scalar) and isinstance(node.value, str):
        if not node.value.strip():
            raise reader.fail(node.pos, key, f"{what} is empty; add at least one command")
        return (node.value,), (_spot(reader, node.pos),)
    if not isinstance(node, Seq):
        raise reader.fail(
            node.pos, key, f"{what} must be a list of strings or a string, got {describe(node)}"
        )
    lines: list[Scalar] = []
    _script_items(reader, node, key, what, lines, depth=1)
    return (tuple(str(item.value) for item in lines),
            tuple(_spot(reader, item.pos) for item in lines))


def _spot(reader: FieldReader, pos: Pos) -> Spot:
    return Spot(pos.file or reader.file, pos.line, pos.column)


def _script_items(
    reader: FieldReader, seq: Seq, key: str, what: str, out: list[Scalar], *, depth: int
) -> None:
    """Append the commands of ``seq`` to ``out``, descending into nested lists."""
    if depth > MAX_SCRIPT_NESTING:
        raise reader.fail(
            seq.pos, key, f"{what} nests lists more than {MAX_SCRIPT_NESTING} levels deep"
        )
    for index, item in enumerate(seq.items):
        path = join_index(key, index)
        if isinstance(item, Seq):
            _script_items(reader, item, path, what, out, depth=depth + 1)
        elif isinstance(item, Scalar) and isinstance(item.value, str):
            out.append(item)
        else:
            raise reader.fail(item.pos, path, _script_item_problem(reader, item, what))


def _script_item_problem(reader: FieldReader, item: Node, what: str) -> str:
    """Why a script item is not a command, and how to quote it so that it is."""
    if isinstance(item, Map):
        line = reader.source.line_text(item.pos.line).strip()
        if line.startswith("- "):
            line = line[2:].strip()
        elif len(item) == 1 and isinstance(item.entries[0].value, Scalar):
            line = f"{item.entries[0].key}: {item.entries[0].value.text}"
        return (
            f"an item of {what} was read as a mapping, not a command, because of the"
            f" ': ' in it; quote the whole line: - {_quote(line)}"
        )
    assert isinstance(item, Scalar)  # lists are flattened by the caller
    if item.value is None:
        return f"an item of {what} is empty (null); remove it or write a command"
    return (
        f"an item of {what} must be a string, got {describe(item)}; quote it: - {_quote(item.text)}"
    )


def _quote(text: str) -> str:
    """``text`` as a YAML flow scalar the user can paste."""
    if "'" not in text:
        return f"'{text}'"
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'
