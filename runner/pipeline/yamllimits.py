"""How much YAML runner reads from a tenant: bounds on size, depth, expanded values and jobs.

A pipeline file (and every file it includes, and a variables file) is the
tenant's to write, and it is read before any job or container limit exists.
Without bounds, nine levels of nine aliases (a 400-byte "billion laughs")
expand to 387 million values once something walks them, and a 22 MB file of
300,000 jobs took 81 s and 1.6 GB. The limits follow GitLab's, which refuses
a configuration whose *parsed* size (every alias counted again each time it is
reached, ``Gitlab::Utils::DeepSize``) is over ``max_yaml_size_bytes`` (1 MB by
default, 2 MB on newer instances) or that nests over ``max_yaml_depth`` (100)
collections. runner counts values instead of Ruby's bytes, with room to spare,
so that a file GitLab accepts with its default limits is never refused here:

* ``MAX_YAML_BYTES`` per file, checked before reading it (GitLab's memory limit
  is reached by files of a few hundred kB; comments are what could make a
  file GitLab accepts bigger than this);
* ``MAX_YAML_DEPTH`` nested lists and mappings, as GitLab (aliases included);
* ``MAX_YAML_VALUES`` per file: keys, items and scalars, each alias counted
  with everything it repeats. A Ruby object costs GitLab at least 8 bytes (an
  array slot) and usually 40 or more, so 2 MB holds at most ~262,000 values;
* ``MAX_PIPELINE_VALUES`` for the whole pipeline after ``include``, ``extends``
  and ``!reference`` (GitLab allows 150 includes);
* ``MAX_JOBS`` jobs, ``parallel`` copies included: GitLab.com allows 2,000.

Counting happens while pyyaml composes the document, so a refusal comes as
soon as the limit is passed, with the line of the value (or alias) that passed it.
"""

from __future__ import annotations

from typing import Any

import yaml

MAX_YAML_BYTES = 4 << 20
"""Largest file read (4 MiB)."""
MAX_YAML_DEPTH = 100
"""GitLab's default ``max_yaml_depth``: lists and mappings nested in each other."""
MAX_YAML_VALUES = 500_000
"""Values in one file once its aliases are expanded."""
MAX_PIPELINE_VALUES = 2_000_000
"""Values in the whole composed pipeline (all includes, ``extends`` and references applied)."""
MAX_JOBS = 10_000
"""Jobs in one pipeline, ``parallel`` copies included."""


class YamlLimitError(Exception):
    """A limit was passed at ``line``/``column`` (1-based; 0 when not known)."""

    def __init__(self, message: str, line: int = 0, column: int = 0) -> None:
        super().__init__(message)
        self.message = message
        self.line = line
        self.column = column


def too_many_values(limit: int, what: str) -> str:
    """The message for an expanded document over ``limit`` values."""
    return (
        f"{what} is too big: it expands to more than {limit:,} values (keys, list items and"
        " scalars, each alias counted with everything it repeats); GitLab refuses it too"
        " (max_yaml_size_bytes)"
    )


def check_bytes(size: int) -> None:
    """Refuse a file of ``size`` bytes over ``MAX_YAML_BYTES``."""
    if size > MAX_YAML_BYTES:
        raise YamlLimitError(
            f"the file is too big ({size:,} bytes); runner reads YAML files of at most"
            f" {MAX_YAML_BYTES >> 20} MiB (GitLab refuses a configuration over 1-2 MB once"
            " parsed, max_yaml_size_bytes)"
        )


class BoundedComposer:
    """A pyyaml loader mixin that counts values and depth as the document is composed.

    Put it before ``yaml.SafeLoader`` in the bases. Aliases cost the size and
    height of the node they name; both are remembered only for anchored nodes.
    An alias to a node still being composed (a loop) costs 1 here and is
    reported by the tree builder.
    """

    values_limit: int = MAX_YAML_VALUES

    def __init__(self, stream: str) -> None:
        super().__init__(stream)  # type: ignore[call-arg]
        self.values = 0
        """Values composed so far, aliases expanded."""
        self._depth = 0
        self._reach = 0
        self._anchored: dict[int, tuple[int, int]] = {}

    def compose_node(self, parent: yaml.Node | None, index: object) -> yaml.Node:
        """pyyaml's ``Composer.compose_node`` with the counting around it."""
        this: Any = self
        event = this.peek_event()
        if isinstance(event, yaml.AliasEvent):
            target = this.anchors.get(event.anchor)
            size, height = self._anchored.get(id(target), (1, 0))
            self._add(size, event, f"alias '*{event.anchor}'")
            self._deeper(self._depth + height, event)
            node: yaml.Node = super().compose_node(parent, index)  # type: ignore[misc]
            return node
        start, outer_reach = self.values, self._reach
        collection = isinstance(event, (yaml.SequenceStartEvent, yaml.MappingStartEvent))
        if collection:
            self._depth += 1
            self._reach = self._depth
            self._deeper(self._depth, event)
        node = super().compose_node(parent, index)  # type: ignore[misc]
        self._add(1, event, "")
        height = self._reach - self._depth + 1 if collection else 0
        if collection:
            self._depth -= 1
        self._reach = max(outer_reach, self._reach)
        if getattr(event, "anchor", None) is not None:
            self._anchored[id(node)] = (self.values - start, height)
        return node

    def _add(self, count: int, event: yaml.Event, via: str) -> None:
        self.values += count
        if self.values > self.values_limit:
            message = too_many_values(self.values_limit, "the YAML")
            if via:
                message += f"; {via} here repeats {count:,} of them"
            raise YamlLimitError(message, *_where(event))

    def _deeper(self, depth: int, event: yaml.Event) -> None:
        self._reach = max(self._reach, depth)
        if depth > MAX_YAML_DEPTH:
            raise YamlLimitError(
                f"the YAML nests lists and mappings more than {MAX_YAML_DEPTH} levels deep"
                " (aliases included); GitLab refuses it too (max_yaml_depth)",
                *_where(event),
            )


def _where(event: yaml.Event) -> tuple[int, int]:
    """The 1-based line and column where ``event`` starts (0, 0 when pyyaml has no mark)."""
    mark = event.start_mark
    return (mark.line + 1, mark.column + 1) if mark is not None else (0, 0)
