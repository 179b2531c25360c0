"""The positioned YAML tree every dialect reads: ``Map``/``Seq``/``Scalar`` with 1-based spots.

Kept apart from the loader (``yamlsrc``) so the mapping builders (``yamlmaps``)
can make entries without importing the loader that calls them.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date

YAML_TAG = "tag:yaml.org,2002:"
MAP_TAG = YAML_TAG + "map"
SEQ_TAG = YAML_TAG + "seq"
STR_TAG = YAML_TAG + "str"
MERGE_TAG = YAML_TAG + "merge"


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
