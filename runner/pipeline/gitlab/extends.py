"""``extends:`` as GitLab applies it: a reverse deep merge of each job onto its parents.

Checked against GitLab's lib/gitlab/ci/config/extendable/entry.rb:

* ``extends`` is a name or a list of names of other top-level entries (hidden
  ``.templates`` or visible jobs), each of which must be a mapping.
* Parents are extended first, then merged in list order (a later parent wins
  over an earlier one) and the job's own keys merged on top (``merge``).
* An entry that itself uses ``extends`` may sit at most 10 parents deep, which
  makes the 11 levels of inheritance GitLab documents; a name met again in
  its own chain is a cycle.

GitLab does this before resolving ``!reference``, so a ``!reference`` still
unresolved here is an opaque value that a child's value replaces. The
``extends`` key itself is dropped from the result.
"""

from __future__ import annotations

import difflib
from collections.abc import Collection

from runner.pipeline.fields import FieldReader
from runner.pipeline.gitlab.merge import deep_merge, without
from runner.pipeline.yamlsrc import (
    MAP_TAG,
    SEQ_TAG,
    Entry,
    Map,
    Node,
    Scalar,
    Seq,
    describe,
    join_index,
    join_key,
)

MAX_DEPTH = 10
"""How many parents above an entry that uses ``extends`` GitLab allows (11 levels in all)."""


def apply_extends(config: Map, names: Collection[str], reader: FieldReader) -> Map:
    """``config`` with each mapping named in ``names`` merged onto its parents, in place."""
    extender = _Extender(config, names, reader)
    entries = []
    for entry in config:
        value = entry.value
        if entry.key in names and isinstance(value, Map) and value.tag == MAP_TAG:
            value = extender.resolve(entry.key, ())[0]
        entries.append(Entry(entry.key, entry.key_pos, value))
    return Map(tuple(entries), config.pos, config.tag)


def did_you_mean(name: str, choices: Collection[str]) -> str:
    """ "; did you mean 'x'?" for the closest of ``choices`` to a misspelt ``name``, else ""."""
    close = difflib.get_close_matches(name, list(choices), n=1)
    return f"; did you mean '{close[0]}'?" if close else ""


class _Extender:
    """Resolves entries once each, remembering the longest ``extends`` chain below each."""

    def __init__(self, config: Map, names: Collection[str], reader: FieldReader) -> None:
        self.config = config
        self.reader = reader
        self.choices = [name for name in config.keys() if name in names]  # noqa: SIM118
        self.done: dict[str, tuple[Map, tuple[str, ...]]] = {}

    def resolve(self, name: str, chain: tuple[str, ...]) -> tuple[Map, tuple[str, ...]]:
        """Entry ``name`` (reached through ``chain``) extended, and its deepest ``extends`` path.

        The path lists the entries that use ``extends`` from ``name`` down its
        longest chain; it is empty when ``name`` does not use ``extends``.
        """
        if name in self.done:
            done, path = self.done[name]
            if path:
                self._check_depth(chain, path)
            return done, path
        node = self._mapping(name)
        extends = node.get("extends")
        if extends is None:
            self.done[name] = (node, ())
            return node, ()
        parents = self._parents(name, extends)
        inner = (*chain, name)
        for parent, parent_node, key in parents:
            if parent in inner:
                cycle = " -> ".join([*inner[inner.index(parent) :], parent])
                raise self.reader.fail(parent_node.pos, key, f"'extends' forms a cycle: {cycle}")
        self._check_depth(chain, (name,))
        merged: Map | None = None
        deepest: tuple[str, ...] = ()
        for parent, _, _ in parents:
            base, path = self.resolve(parent, inner)
            merged = base if merged is None else deep_merge(merged, base)
            if len(path) > len(deepest):
                deepest = path
        own = without(node, "extends")
        result = own if merged is None else deep_merge(merged, own)
        self.done[name] = (result, (name, *deepest))
        return result, (name, *deepest)

    def _mapping(self, name: str) -> Map:
        entry = self.config.get(name)
        if entry is None or not isinstance(entry.value, Map):
            raise AssertionError(f"extends resolves only mappings, not {name!r}")
        return entry.value

    def _check_depth(self, chain: tuple[str, ...], path: tuple[str, ...]) -> None:
        """GitLab's limit: no entry using ``extends`` more than ``MAX_DEPTH`` parents down."""
        if len(chain) + len(path) - 1 <= MAX_DEPTH:
            return
        full = [*chain, *path]
        last = self._mapping(full[-1]).get("extends")
        if last is None:
            raise AssertionError("the deepest entry of an extends path uses extends")
        raise self.reader.fail(
            last.value.pos,
            join_key(full[-1], "extends"),
            f"'extends' nests too deeply: {' -> '.join(full)} -> ...; GitLab allows at most"
            f" {MAX_DEPTH + 1} levels of inheritance",
        )

    def _parents(self, name: str, extends: Entry) -> list[tuple[str, Node, str]]:
        """The parent names ``extends`` lists, each with its node and key path, all checked."""
        key = join_key(name, "extends")
        value = extends.value
        if isinstance(value, Seq) and value.tag == SEQ_TAG:
            items = [(item, join_index(key, i)) for i, item in enumerate(value.items)]
        elif isinstance(value, Scalar) and value.value is None:
            items = []  # GitLab reads a null extends as no parents
        else:
            items = [(value, key)]
        parents: list[tuple[str, Node, str]] = []
        for item, item_key in items:
            if not isinstance(item, Scalar) or not isinstance(item.value, str):
                raise self.reader.fail(
                    item.pos,
                    item_key,
                    f"'extends' of '{name}' must be a job name or a list of job names,"
                    f" got {describe(item)}",
                )
            parent = item.value
            found = self.config.get(parent)
            if found is None:
                raise self.reader.fail(
                    item.pos,
                    item_key,
                    f"'{name}' extends '{parent}', which is not defined"
                    + did_you_mean(parent, [c for c in self.choices if c != name]),
                )
            if not isinstance(found.value, Map) or found.value.tag != MAP_TAG:
                raise self.reader.fail(
                    item.pos,
                    item_key,
                    f"'{name}' extends '{parent}', which is {describe(found.value)}, not a"
                    " mapping of job keywords",
                )
            parents.append((parent, item, item_key))
        return parents
