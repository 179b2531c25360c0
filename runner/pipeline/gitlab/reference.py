"""``!reference [.job, key, ...]``: GitLab's reuse of a value from anywhere in the config.

Checked against GitLab's lib/gitlab/ci/config/yaml/tags (Reference, Base,
Resolver) and lib/gitlab/ci/config.rb, which resolves the tags after includes
are merged and after ``extends`` is applied, over the whole config:

* the tag takes a non-empty list of key names, looked up from the top level
  down through mappings only; a missing key, a list or scalar in the way, or a
  null value is "not found";
* the value found is resolved in turn, so references may nest (at most 10
  deep here, as GitLab documents), and a reference reached again while it is
  being resolved is a cycle;
* looking *through* an unresolved ``!reference`` fails in GitLab (its lookup
  sees the tag, not the value), so it is an error here too.

A reference written as an item of a list leaves a list inside the list; GitLab
flattens nested lists (up to 10 levels) in the keywords it reads as commands
or rules, which ``flatten`` does, so such references splice in.
"""

from __future__ import annotations

from runner.errors import PipelineError
from runner.pipeline.fields import FieldReader
from runner.pipeline.gitlab.extends import did_you_mean
from runner.pipeline.gitlab.source import REFERENCE_TAG
from runner.pipeline.yamlsrc import Entry, Map, Node, Scalar, Seq, describe, join_index, join_key

MAX_NESTING = 10
"""How deep references may nest, and how deep lists may nest in commands and rules."""


def resolve_references(config: Map, reader: FieldReader) -> Map:
    """``config`` with every ``!reference`` replaced by the value it names."""
    resolved = _Resolver(config, reader).walk(config, "", ())
    if not isinstance(resolved, Map):
        raise AssertionError("a mapping without a reference tag resolves to a mapping")
    return resolved


def flatten(node: Node, key: str, reader: FieldReader) -> Node:
    """``node`` with lists nested in it spliced in place, as GitLab reads commands and rules.

    Anything but a list is returned as is; nesting deeper than ``MAX_NESTING``
    lists (counting ``node``) is an error, as in GitLab.
    """
    if not isinstance(node, Seq) or not any(isinstance(item, Seq) for item in node.items):
        return node
    flat: list[Node] = []

    def splice(seq: Seq, depth: int, seq_key: str) -> None:
        if depth > MAX_NESTING:
            raise reader.fail(
                seq.pos,
                seq_key,
                f"'{key}' nests lists more than {MAX_NESTING} levels deep; GitLab flattens"
                f" at most {MAX_NESTING}",
            )
        for index, item in enumerate(seq.items):
            if isinstance(item, Seq):
                splice(item, depth + 1, join_index(seq_key, index))
            else:
                flat.append(item)

    splice(node, 1, key)
    return Seq(tuple(flat), node.pos, node.tag)


def _name(node: Node) -> str | None:
    """The key name a reference item gives: a non-empty string, else None."""
    if isinstance(node, Scalar) and isinstance(node.value, str) and node.value:
        return node.value
    return None


_Stack = tuple[tuple[Node, str], ...]
"""The references being resolved, outermost first, each with its text for messages."""


class _Resolver:
    """Resolves each reference node once (aliases share nodes), over one config."""

    def __init__(self, config: Map, reader: FieldReader) -> None:
        self.config = config
        self.reader = reader
        self.done: dict[int, tuple[Node, Node]] = {}  # id(reference) -> (reference, value)

    def walk(self, node: Node, key: str, stack: _Stack) -> Node:
        """``node`` (at key path ``key``) with the references in it resolved."""
        if node.tag == REFERENCE_TAG:
            return self.reference(node, key, stack)
        if isinstance(node, Map):
            entries = tuple(
                Entry(e.key, e.key_pos, self.walk(e.value, join_key(key, e.key), stack))
                for e in node.entries
            )
            if all(new.value is old.value for new, old in zip(entries, node.entries, strict=True)):
                return node
            return Map(entries, node.pos, node.tag)
        if isinstance(node, Seq):
            items = tuple(
                self.walk(item, join_index(key, i), stack) for i, item in enumerate(node.items)
            )
            if all(new is old for new, old in zip(items, node.items, strict=True)):
                return node
            return Seq(items, node.pos, node.tag)
        return node

    def reference(self, node: Node, key: str, stack: _Stack) -> Node:
        """The resolved value of the reference ``node`` written at ``key``."""
        names = self._names(node, key)
        text = f"!reference [{', '.join(names)}]"
        memo = self.done.get(id(node))
        if memo is not None:
            return memo[1]
        for index, (seen, _) in enumerate(stack):
            if seen is node:
                cycle = " -> ".join([label for _, label in stack[index:]] + [text])
                raise self.fail(node, key, f"{text} refers to itself: {cycle}")
        if len(stack) >= MAX_NESTING:
            chain = " -> ".join([label for _, label in stack] + [text])
            raise self.fail(
                node,
                key,
                f"!reference tags nest more than {MAX_NESTING} levels deep: {chain}",
            )
        target, target_key = self._lookup(node, key, names, text)
        value = self.walk(target, target_key, (*stack, (node, text)))
        self.done[id(node)] = (node, value)
        return value

    def fail(self, node: Node, key: str, message: str) -> PipelineError:
        return self.reader.fail(node.pos, key, message)

    def _names(self, node: Node, key: str) -> list[str]:
        """The key names a reference lists, or an error when it is not a list of names."""
        if isinstance(node, Seq) and node.items:
            names = [name for name in map(_name, node.items) if name is not None]
            if len(names) == len(node.items):
                return names
        if isinstance(node, Seq):
            bad = next((item for item in node.items if _name(item) is None), None)
            if bad is None:
                got = "an empty list"
            elif isinstance(bad, Scalar) and bad.value == "":
                got = "a list holding an empty name"
            else:
                got = f"a list holding {describe(bad)}"
        elif isinstance(node, Scalar):
            got = f"'{node.text}'"
        else:
            got = describe(node)
        raise self.fail(
            node,
            key,
            f"!reference takes a list of key names, like '!reference [.setup, script]', got {got}",
        )

    def _lookup(self, node: Node, key: str, names: list[str], text: str) -> tuple[Node, str]:
        """The value ``names`` leads to from the top level, and its key path."""
        current: Node = self.config
        path = ""
        for name in names:
            if current.tag == REFERENCE_TAG:
                raise self.fail(
                    node,
                    key,
                    f"{text} could not be found: '{path}' is itself a !reference, which GitLab"
                    " does not look inside; reference what it names instead",
                )
            if not isinstance(current, Map):
                raise self.fail(
                    node,
                    key,
                    f"{text} could not be found: '{path}' is {describe(current)}, not a"
                    f" mapping with a key '{name}'",
                )
            entry = current.get(name)
            if entry is None:
                where = f"'{path}' has no key '{name}'" if path else f"there is no '{name}'"
                raise self.fail(
                    node,
                    key,
                    f"{text} could not be found: {where}" + did_you_mean(name, current.keys()),
                )
            current = entry.value
            path = join_key(path, name)
        if isinstance(current, Scalar) and current.value is None:
            raise self.fail(node, key, f"{text} could not be found: '{path}' is null")
        return current, path
