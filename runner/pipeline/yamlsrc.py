"""YAML loading that keeps the line and column of every key and value, for any dialect.

pyyaml's constructed objects forget where they came from and silently keep the
last of two equal keys. Dialect translators instead walk a small tree of
``Map``/``Seq``/``Scalar`` built from pyyaml's composed nodes: each carries its
1-based position, duplicate keys are errors, anchors, aliases and merge keys
(``<<``) work as YAML defines them, and tags a dialect wants to resolve itself
(GitLab's ``!reference``) are kept on the node when its loader declares them.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import ClassVar

import yaml

from runner.errors import PipelineError, SourceSpot, UsageError
from runner.pipeline.yamlerrors import reader_error, syntax_error
from runner.pipeline.yamllimits import MAX_YAML_BYTES, BoundedComposer, YamlLimitError, check_bytes

YAML_TAG = "tag:yaml.org,2002:"
MAP_TAG = YAML_TAG + "map"
SEQ_TAG = YAML_TAG + "seq"
STR_TAG = YAML_TAG + "str"
MERGE_TAG = YAML_TAG + "merge"
_SCALAR_TAGS = frozenset(
    YAML_TAG + name for name in ("str", "int", "float", "bool", "null", "timestamp", "binary")
)


class SourceLoader(BoundedComposer, yaml.SafeLoader):
    """The safe loader every dialect composes with; subclass it to accept more tags.

    A subclass lists custom tags (``"!reference"``) in ``extra_tags``; nodes
    carrying them are kept, tag and all, for the dialect to resolve. Any other
    tag outside YAML's core schema is an error rather than a silent string.
    ``BoundedComposer`` refuses a document past the limits in ``yamllimits``.
    """

    extra_tags: ClassVar[frozenset[str]] = frozenset()


@dataclass(frozen=True)
class Pos:
    """A 1-based line and column in the source file.

    ``file`` names the file when it is not the one being read (GitLab's
    ``include`` brings nodes from other files); it does not take part in equality.
    """

    line: int
    column: int
    file: str = field(default="", compare=False)


@dataclass(frozen=True, eq=False)
class Scalar:
    """A leaf: ``value`` as YAML typed it, ``text`` exactly as written (numbers keep spelling)."""

    value: object
    text: str
    pos: Pos
    tag: str


@dataclass(frozen=True, eq=False)
class Seq:
    """A YAML sequence."""

    items: tuple[Node, ...]
    pos: Pos
    tag: str = SEQ_TAG


@dataclass(frozen=True)
class Entry:
    """One key/value pair of a mapping; ``key_pos`` is where the key is written."""

    key: str
    key_pos: Pos
    value: Node


@dataclass(frozen=True, eq=False)
class Map:
    """A YAML mapping with unique string keys, in source order (merged keys where ``<<`` is)."""

    entries: tuple[Entry, ...]
    pos: Pos
    tag: str = MAP_TAG
    _index: dict[str, Entry] = field(init=False, repr=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "_index", {entry.key: entry for entry in self.entries})

    def get(self, key: str) -> Entry | None:
        """The entry for ``key``, or None when the mapping does not have it."""
        return self._index.get(key)

    def keys(self) -> tuple[str, ...]:
        """Keys in source order."""
        return tuple(entry.key for entry in self.entries)

    def __iter__(self) -> Iterator[Entry]:
        return iter(self.entries)

    def __len__(self) -> int:
        return len(self.entries)


Node = Scalar | Seq | Map


@dataclass(frozen=True)
class Source:
    """A loaded pipeline file: its label for messages, its text and its top-level mapping.

    ``values`` is its size with aliases expanded (see ``yamllimits``).
    """

    file: str
    text: str
    root: Map
    values: int = 0

    def line_text(self, line: int) -> str:
        """Line ``line`` (1-based) of the file without its newline, "" past the end."""
        lines = self.text.splitlines()
        return lines[line - 1] if 0 < line <= len(lines) else ""


_SCALAR_WORDS: tuple[tuple[type, str], ...] = (
    (type(None), "nothing (null)"),
    (bool, "a boolean"),  # before int: bool is an int subclass
    (int, "a number"),
    (float, "a number"),
    (date, "a date"),  # datetime is a date subclass
    (bytes, "binary data"),
)


def describe(node: Node) -> str:
    """What a node is, in YAML words with an article, for "expected X, got Y" messages."""
    if isinstance(node, Map):
        return "a mapping"
    if isinstance(node, Seq):
        return "a list"
    for kind, word in _SCALAR_WORDS:
        if isinstance(node.value, kind):
            return word
    return "a string"


def join_key(parent: str, key: str) -> str:
    """The dotted key path of ``key`` inside ``parent`` (``jobs`` + ``build`` -> ``jobs.build``)."""
    return f"{parent}.{key}" if parent else key


def join_index(parent: str, index: int) -> str:
    """The key path of item ``index`` (0-based) of the list at ``parent``."""
    return f"{parent}[{index}]"


def read_text(path: Path) -> str:
    """The file's text; an unreadable file is the user's command-line mistake (UsageError).

    Reads at most one byte past ``MAX_YAML_BYTES``: a huge file is refused unread.
    """
    try:
        with path.open("rb") as stream:
            data = stream.read(MAX_YAML_BYTES + 1)
        check_bytes(len(data))
    except FileNotFoundError:
        raise UsageError(f"pipeline file '{path}' does not exist") from None
    except IsADirectoryError:
        raise UsageError(f"pipeline file '{path}' is a directory, not a file") from None
    except OSError as exc:
        raise UsageError(f"cannot read pipeline file '{path}': {exc.strerror}") from None
    except YamlLimitError as exc:
        raise PipelineError(SourceSpot(str(path)), exc.message) from None
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        raise PipelineError(
            SourceSpot(str(path), line),
            f"the file is not valid UTF-8 (byte 0x{data[exc.start]:02x} at offset {exc.start});"
            " save it as UTF-8",
        ) from None


def load_file(path: Path, loader: type[SourceLoader] = SourceLoader) -> Source:
    """Read and load ``path``; messages name it as ``str(path)``."""
    return load_text(read_text(path), str(path), loader)


def load_text(text: str, file: str, loader: type[SourceLoader] = SourceLoader) -> Source:
    """Load ``text`` (named ``file`` in messages) whose top level must be a mapping."""
    try:
        check_bytes(len(text))
        node, values = _compose(text, loader)
        if node is None:
            raise PipelineError(
                SourceSpot(file, 1, 1),
                "the file is empty; a pipeline needs at least 'version' and 'jobs'",
            )
        tree = _Builder(file, loader).build(node, "")
    except yaml.MarkedYAMLError as exc:
        raise syntax_error(file, exc) from None
    except yaml.reader.ReaderError as exc:
        raise reader_error(file, text, exc) from None
    except YamlLimitError as exc:
        raise PipelineError(SourceSpot(file, exc.line or None, exc.column or None),
                            exc.message) from None
    except RecursionError:
        raise PipelineError(
            SourceSpot(file), "the YAML is nested too deeply to be a pipeline"
        ) from None
    if not isinstance(tree, Map):
        raise PipelineError(
            SourceSpot(file, tree.pos.line, tree.pos.column),
            f"the top level must be a mapping (keys like 'version' and 'jobs'),"
            f" got {describe(tree)}",
        )
    return Source(file, text, tree, values)


def _compose(text: str, loader_cls: type[SourceLoader]) -> tuple[yaml.Node | None, int]:
    """pyyaml's node graph of the single document in ``text`` (None when there is none)."""
    loader = loader_cls(text)
    try:
        return loader.get_single_node(), loader.values
    finally:
        loader.dispose()


def _short_tag(tag: str) -> str:
    """``tag:yaml.org,2002:set`` as the user wrote it, ``!!set``."""
    return "!!" + tag.removeprefix(YAML_TAG) if tag.startswith(YAML_TAG) else tag


def _pos(node: yaml.Node, file: str = "") -> Pos:
    return Pos(node.start_mark.line + 1, node.start_mark.column + 1, file)


class _Builder:
    """Turns a composed node graph into the positioned tree, one node object at a time.

    Aliases share composed nodes, so results are memoised by node identity:
    an alias costs nothing more to build (no "billion laughs"), and a node met
    again while it is still being built is a recursive alias, which is an error.
    """

    def __init__(self, file: str, loader: type[SourceLoader]) -> None:
        self.file = file
        self.extra_tags = loader.extra_tags
        # A constructor without a stream, used only to type scalars.
        self.constructor = loader("")
        self.done: dict[int, Node] = {}
        self.building: set[int] = set()

    def fail(self, node: yaml.Node, key: str, message: str) -> PipelineError:
        pos = _pos(node, self.file)
        return PipelineError(SourceSpot(self.file, pos.line, pos.column, key or None), message)

    def build(self, node: yaml.Node, key: str) -> Node:
        """The tree for ``node``, found at key path ``key`` (used in messages)."""
        ident = id(node)
        if ident in self.done:
            return self.done[ident]
        if ident in self.building:
            raise self.fail(node, key, "an alias refers to a node that contains it (a loop)")
        self.building.add(ident)
        try:
            built = self._build(node, key)
        finally:
            self.building.discard(ident)
        self.done[ident] = built
        return built

    def _build(self, node: yaml.Node, key: str) -> Node:
        tag = node.tag
        custom = tag in self.extra_tags
        if isinstance(node, yaml.ScalarNode):
            if custom:
                return Scalar(node.value, node.value, _pos(node, self.file), tag)
            if tag not in _SCALAR_TAGS:
                raise self.fail(node, key, f"unsupported YAML tag '{_short_tag(tag)}' on a scalar")
            return Scalar(self._scalar_value(node, key), node.value, _pos(node, self.file), tag)
        if isinstance(node, yaml.SequenceNode):
            if not custom and tag != SEQ_TAG:
                raise self.fail(node, key, f"unsupported YAML tag '{_short_tag(tag)}' on a list")
            items = tuple(self.build(item, join_index(key, i)) for i, item in enumerate(node.value))
            return Seq(items, _pos(node, self.file), tag)
        if isinstance(node, yaml.MappingNode):
            if not custom and tag != MAP_TAG:
                raise self.fail(node, key, f"unsupported YAML tag '{_short_tag(tag)}' on a mapping")
            return Map(self._entries(node, key), _pos(node, self.file), tag)
        raise self.fail(node, key, f"unexpected YAML node {type(node).__name__}")

    def _scalar_value(self, node: yaml.ScalarNode, key: str) -> object:
        """The typed value; pyyaml lets a bad ``!!int`` or date (2024-13-45) raise anything."""
        try:
            return self.constructor.construct_object(node, deep=True)
        except yaml.MarkedYAMLError:
            raise
        except (ValueError, TypeError, KeyError, AttributeError, OverflowError) as exc:
            # Only date errors ("month must be in 1..12") are worth showing the user.
            dated = node.tag == YAML_TAG + "timestamp" and isinstance(exc, ValueError)
            detail = f" ({exc})" if dated else ""
            raise self.fail(
                node,
                key,
                f"cannot read '{node.value}' as YAML type '{_short_tag(node.tag)}'{detail};"
                " quote the value to make it a string",
            ) from None

    def _key_text(self, node: yaml.Node, parent: str) -> str:
        """A key as the user reads it: quoted strings decoded, other scalars as written."""
        if not isinstance(node, yaml.ScalarNode):
            raise self.fail(node, parent, "a key must be a plain value, not a list or mapping")
        if node.tag == STR_TAG:
            return str(self.constructor.construct_scalar(node))
        return str(node.value)

    def _entries(self, node: yaml.MappingNode, key: str) -> tuple[Entry, ...]:
        """Own keys (unique) in order, merged keys spliced in where ``<<`` stands.

        As YAML's merge-key spec says, own keys override merged ones, and
        among several merged mappings the earlier one wins.
        """
        own: dict[str, Entry] = {}
        merge_at: tuple[yaml.Node, yaml.Node] | None = None
        order: list[str | None] = []  # None marks where the merged keys go
        for key_node, value_node in node.value:
            if key_node.tag == MERGE_TAG:
                if merge_at is not None:
                    first = _pos(merge_at[0], self.file).line
                    raise self.fail(
                        key_node,
                        key,
                        f"duplicate merge key '<<' (first at line {first}); merge several"
                        " mappings with one key: '<<: [*a, *b]'",
                    )
                merge_at = (key_node, value_node)
                order.append(None)
                continue
            name = self._key_text(key_node, key)
            path = join_key(key, name)
            if name in own:
                first = own[name].key_pos.line
                raise self.fail(
                    key_node,
                    path,
                    f"duplicate key '{name}' (first at line {first}); YAML would silently"
                    " keep only the last one, so remove or rename one of them",
                )
            own[name] = Entry(name, _pos(key_node, self.file), self.build(value_node, path))
            order.append(name)
        merged = self._merged(merge_at, key) if merge_at is not None else ()
        entries: list[Entry] = []
        for slot in order:
            if slot is None:
                entries.extend(entry for entry in merged if entry.key not in own)
            else:
                entries.append(own[slot])
        return tuple(entries)

    def _merged(self, merge_at: tuple[yaml.Node, yaml.Node], key: str) -> tuple[Entry, ...]:
        value_node = merge_at[1]
        sources = value_node.value if isinstance(value_node, yaml.SequenceNode) else [value_node]
        seen: dict[str, Entry] = {}
        for source in sources:
            built = self.build(source, join_key(key, "<<"))
            if not isinstance(built, Map):
                raise self.fail(
                    source,
                    join_key(key, "<<"),
                    f"a merge key '<<' takes a mapping or a list of mappings, got"
                    f" {describe(built)}",
                )
            for entry in built:
                seen.setdefault(entry.key, entry)
        return tuple(seen.values())
