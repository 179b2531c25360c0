"""How a YAML mapping's keys become entries: strictly (the native format) or as Ruby's Psych.

``strict_entries`` is YAML 1.1's merge-key spec with every repeated key an
error: runner's own format has no existing files to stay compatible with, and a
key written twice there is a mistake worth stopping for.

``psych_entries`` is what GitLab does, because GitLab loads ``.gitlab-ci.yml``
with ``YAML.safe_load(..., aliases: true)`` and so through Psych's
``ToRuby#revive_hash`` (ruby/psych, lib/psych/visitors/to_ruby.rb). Its rules,
kept exactly, since real files from large projects depend on them:

- pairs apply in document order with ``hash[key] = val``; a later duplicate wins,
  and the key stays where it was first inserted (a Ruby Hash, like a dict);
- a key ``<<`` (plain or quoted; only an explicit ``!!str`` makes it an ordinary
  key) merges: an alias or a mapping with ``hash.merge!(val)``, so a ``<<`` after
  explicit keys overrides them; a written list with ``reverse_each`` into a fresh
  hash, so the first mapping wins, then ``merge!`` of that;
- a merge of something that is not a mapping (a scalar, an alias to a list or to
  null, a list holding a non-mapping) raises TypeError in Ruby, which Psych
  rescues by storing it as an ordinary ``<<`` key; the translator then refuses
  that key as GitLab does.

Every repeated key, and every key a later ``<<`` replaces, is a warning
naming the file and line, never an error.
"""

from __future__ import annotations

from typing import Protocol

import yaml

from runner.errors import PipelineError
from runner.pipeline.yamlnodes import (
    MAP_TAG,
    MERGE_TAG,
    STR_TAG,
    Entry,
    Map,
    Node,
    Pos,
    describe,
    join_key,
)

MERGE_KEY = "<<"
_WINS = "as GitLab's YAML loader does"


class MapBuilder(Protocol):
    """What the mapping rules need from the tree builder in ``yamlsrc``."""

    top: str
    """The top-level key whose value is being built ("" before the first)."""
    not_jobs: frozenset[str]
    """Top-level keys whose mapping is not a job (the dialect's keywords), for messages."""

    def build(self, node: yaml.Node, key: str) -> Node: ...

    def fail(self, node: yaml.Node, key: str, message: str) -> PipelineError: ...

    def key_text(self, node: yaml.Node, parent: str) -> str: ...

    def pos(self, node: yaml.Node) -> Pos: ...

    def tagged_str(self, node: yaml.Node) -> bool:
        """Whether the scalar carries an explicit ``!!str`` tag."""
        ...

    def aliased(self, key_node: yaml.Node) -> bool:
        """Whether the value paired with ``key_node`` was written as an alias."""
        ...

    def warn(self, line: int, text: str) -> None: ...


def place(path: str, top: str, not_jobs: frozenset[str]) -> str:
    """Where a mapping at key path ``path`` is, in words: "in job 'x'", "in 'x.variables'"."""
    if not path:
        return "at the top level"
    if path == top and not top.startswith(".") and top not in not_jobs:
        return f"in job '{top}'"
    return f"in '{path}'"


def strict_entries(builder: MapBuilder, node: yaml.MappingNode, key: str) -> tuple[Entry, ...]:
    """Own keys (unique) in order, merged keys spliced in where the one ``<<`` stands.

    As YAML's merge-key spec says, own keys override merged ones, and among
    several merged mappings the earlier one wins.
    """
    own: dict[str, Entry] = {}
    merge_at: tuple[yaml.Node, yaml.Node] | None = None
    order: list[str | None] = []  # None marks where the merged keys go
    for key_node, value_node in node.value:
        if key_node.tag == MERGE_TAG:
            if merge_at is not None:
                first = builder.pos(merge_at[0]).line
                raise builder.fail(
                    key_node,
                    key,
                    f"duplicate merge key '<<' (first at line {first}); merge several"
                    " mappings with one key: '<<: [*a, *b]'",
                )
            merge_at = (key_node, value_node)
            order.append(None)
            continue
        name = builder.key_text(key_node, key)
        path = join_key(key, name)
        if name in own:
            first = own[name].key_pos.line
            raise builder.fail(
                key_node,
                path,
                f"duplicate key '{name}' (first at line {first}); YAML would silently"
                " keep only the last one, so remove or rename one of them",
            )
        own[name] = Entry(name, builder.pos(key_node), builder.build(value_node, path))
        order.append(name)
    merged = _strict_merged(builder, merge_at, key) if merge_at is not None else ()
    entries: list[Entry] = []
    for slot in order:
        if slot is None:
            entries.extend(entry for entry in merged if entry.key not in own)
        else:
            entries.append(own[slot])
    return tuple(entries)


def _strict_merged(
    builder: MapBuilder, merge_at: tuple[yaml.Node, yaml.Node], key: str
) -> tuple[Entry, ...]:
    value_node = merge_at[1]
    sources = value_node.value if isinstance(value_node, yaml.SequenceNode) else [value_node]
    seen: dict[str, Entry] = {}
    for source in sources:
        built = builder.build(source, join_key(key, MERGE_KEY))
        if not isinstance(built, Map):
            raise builder.fail(
                source,
                join_key(key, MERGE_KEY),
                f"a merge key '<<' takes a mapping or a list of mappings, got"
                f" {describe(built)}",
            )
        for entry in built:
            seen.setdefault(entry.key, entry)
    return tuple(seen.values())


def psych_entries(builder: MapBuilder, node: yaml.MappingNode, key: str) -> tuple[Entry, ...]:
    """The mapping's entries as Psych's ``revive_hash`` leaves the Ruby Hash."""
    out: dict[str, Entry] = {}
    written: dict[str, int] = {}  # keys written in this mapping itself -> line
    where = place(key, builder.top, builder.not_jobs)
    for key_node, value_node in node.value:
        if _is_merge(builder, key_node):
            merged = _psych_merge(builder, key_node, value_node, key)
            if merged is not None:
                line = builder.pos(key_node).line
                for entry in merged:
                    if entry.key in written:
                        builder.warn(
                            line,
                            f"the merge key '<<' replaces '{entry.key}' {where} written before"
                            f" it (line {written.pop(entry.key)}); the merged value wins, {_WINS}",
                        )
                    out[entry.key] = entry
                continue
            name = MERGE_KEY
        else:
            name = builder.key_text(key_node, key)
        if not key:
            builder.top = name
        entry = Entry(name, builder.pos(key_node), builder.build(value_node, join_key(key, name)))
        if name in written:
            builder.warn(
                entry.key_pos.line,
                f"duplicate key '{name}' {where} (first at line {written[name]}); the later"
                f" value wins, {_WINS}",
            )
        out[name] = entry
        written[name] = entry.key_pos.line
    return tuple(out.values())


def _is_merge(builder: MapBuilder, key_node: yaml.Node) -> bool:
    """Psych: ``key == '<<' && k.tag != 'tag:yaml.org,2002:str'`` (an explicit tag only)."""
    if key_node.tag == MERGE_TAG:
        return True
    return (
        isinstance(key_node, yaml.ScalarNode)
        and key_node.tag == STR_TAG
        and key_node.value == MERGE_KEY
        and not builder.tagged_str(key_node)
    )


def _psych_merge(
    builder: MapBuilder, key_node: yaml.Node, value_node: yaml.Node, key: str
) -> tuple[Entry, ...] | None:
    """The entries ``<<`` merges, in ``merge!`` order; None when Ruby would raise TypeError."""
    path = join_key(key, MERGE_KEY)
    if builder.aliased(key_node) or isinstance(value_node, yaml.MappingNode):
        built = builder.build(value_node, path)
        return tuple(built) if isinstance(built, Map) and _is_plain_map(built) else None
    if not isinstance(value_node, yaml.SequenceNode):
        return None
    items = [builder.build(item, path) for item in value_node.value]
    if not all(_is_plain_map(item) for item in items):
        return None
    merged: dict[str, Entry] = {}
    for item in reversed(items):
        assert isinstance(item, Map)
        for entry in item:
            merged[entry.key] = entry
    return tuple(merged.values())


def _is_plain_map(node: Node) -> bool:
    """A Hash in Ruby: a mapping without a custom tag (``!reference`` is not one)."""
    return isinstance(node, Map) and node.tag == MAP_TAG
