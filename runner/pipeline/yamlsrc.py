"""YAML loading that keeps the line and column of every key and value, for any dialect.

pyyaml's constructed objects forget where they came from and silently keep the
last of two equal keys. Dialect translators instead walk a small tree of
``Map``/``Seq``/``Scalar`` built from pyyaml's composed nodes: each carries its
1-based position; anchors and aliases work, and tags a dialect wants to resolve
itself (GitLab's ``!reference``) are kept on the node when its loader declares
them. Duplicate keys and merge keys (``<<``) follow the loader's ``psych`` switch
(see ``yamlmaps``): errors and YAML's merge spec by default, Ruby Psych's
results with warnings for GitLab. The node types live in ``yamlnodes`` and are
re-exported here.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import ClassVar

import yaml

from runner.errors import PipelineError, SourceSpot, UsageError
from runner.pipeline import yamlmaps
from runner.pipeline.yamlerrors import reader_error, syntax_error
from runner.pipeline.yamllimits import MAX_YAML_BYTES, BoundedComposer, YamlLimitError, check_bytes
from runner.pipeline.yamlnodes import (
    MAP_TAG,
    MERGE_TAG,
    SEQ_TAG,
    STR_TAG,
    YAML_TAG,
    Entry,
    Map,
    Node,
    Pos,
    Scalar,
    Seq,
    describe,
    join_index,
    join_key,
)

__all__ = [
    "MAP_TAG", "MERGE_TAG", "SEQ_TAG", "STR_TAG", "YAML_TAG", "Entry", "Map", "Node", "Pos",
    "Scalar", "Seq", "Source", "SourceLoader", "describe", "join_index", "join_key",
    "load_file", "load_text", "read_text",
]

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
    psych: ClassVar[bool] = False
    """Build mappings as Ruby's Psych does (GitLab) instead of strictly (``yamlmaps``)."""
    not_jobs: ClassVar[frozenset[str]] = frozenset()
    """Top-level keywords that are not jobs, so warnings call only jobs 'job'."""

    def __init__(self, stream: str) -> None:
        super().__init__(stream)
        self.str_tagged: set[int] = set()
        """Scalars written with an explicit ``!!str`` tag (Psych keeps such a '<<' a key)."""
        self.aliased: set[int] = set()
        """Key nodes whose value was written as an alias (Psych merges those by ``merge!``)."""

    def compose_node(self, parent: yaml.Node | None, index: object) -> yaml.Node:
        """Compose as pyyaml does, noting what Psych's merge rules look at and pyyaml forgets."""
        event = self.peek_event()  # type: ignore[no-untyped-call]
        node = super().compose_node(parent, index)
        if isinstance(event, yaml.AliasEvent) and isinstance(index, yaml.Node):
            self.aliased.add(id(index))  # a mapping value: ``index`` is its key node
        elif isinstance(event, yaml.ScalarEvent) and event.tag in (STR_TAG, "!!str"):
            self.str_tagged.add(id(node))
        return node


@dataclass(frozen=True)
class Source:
    """A loaded pipeline file: its label for messages, its text and its top-level mapping.

    ``values`` is its size with aliases expanded (see ``yamllimits``).
    """

    file: str
    text: str
    root: Map
    values: int = 0
    warnings: tuple[str, ...] = ()
    """``warning: file:line: ...`` sentences, by line (duplicate keys in GitLab files)."""

    def line_text(self, line: int) -> str:
        """Line ``line`` (1-based) of the file without its newline, "" past the end."""
        lines = self.text.splitlines()
        return lines[line - 1] if 0 < line <= len(lines) else ""


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
        composer = loader(text)
        try:
            node = composer.get_single_node()
            if node is None:
                raise PipelineError(
                    SourceSpot(file, 1, 1),
                    "the file is empty; a pipeline needs at least 'version' and 'jobs'",
                )
            builder = _Builder(file, composer)
            tree = builder.build(node, "")
        finally:
            composer.dispose()
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
    warnings = tuple(text for _, text in sorted(builder.warnings, key=lambda w: w[0]))
    return Source(file, text, tree, composer.values, warnings)


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

    def __init__(self, file: str, composer: SourceLoader) -> None:
        self.file = file
        self.extra_tags = composer.extra_tags
        self.composer = composer
        # A constructor without a stream, used only to type scalars.
        self.constructor = type(composer)("")
        self.done: dict[int, Node] = {}
        self.building: set[int] = set()
        self.top = ""
        self.not_jobs = composer.not_jobs
        self.warnings: list[tuple[int, str]] = []
        self._entries = yamlmaps.psych_entries if composer.psych else yamlmaps.strict_entries

    def pos(self, node: yaml.Node) -> Pos:
        """Where ``node`` starts, in this file."""
        return _pos(node, self.file)

    def tagged_str(self, node: yaml.Node) -> bool:
        """Whether ``node`` was written with an explicit ``!!str``."""
        return id(node) in self.composer.str_tagged

    def aliased(self, key_node: yaml.Node) -> bool:
        """Whether the value of ``key_node`` was written as an alias."""
        return id(key_node) in self.composer.aliased

    def warn(self, line: int, text: str) -> None:
        """Keep ``warning: file:line: text`` for the user."""
        self.warnings.append((line, f"warning: {self.file}:{line}: {text}"))

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
            return Map(self._entries(self, node, key), _pos(node, self.file), tag)
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

    def key_text(self, node: yaml.Node, parent: str) -> str:
        """A key as the user reads it: quoted strings decoded, other scalars as written."""
        if not isinstance(node, yaml.ScalarNode):
            raise self.fail(node, parent, "a key must be a plain value, not a list or mapping")
        if node.tag == STR_TAG:
            return str(self.constructor.construct_scalar(node))
        return str(node.value)
