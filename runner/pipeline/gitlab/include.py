"""``include:`` as GitLab composes it, for the one kind that exists offline: local files.

Checked against GitLab's lib/gitlab/ci/config/external (Processor, Mapper and
its Normalizer, Filter, LocationExpander and Verifier, File::Local/Base) and
Repository#search_files_by_wildcard_path:

* ``include`` is a string, a mapping or a list of them; a string that is a URL
  means ``remote``, any other string means ``local``.
* Local paths are relative to the project root whatever file includes them; a
  leading ``/`` is allowed. The file name must end in ``.yml`` or ``.yaml``.
* A path with ``*`` is matched against every file of the project: ``**/`` is any
  run of directories (or none), ``**`` any characters, ``*`` any characters but
  ``/``; every other character is literal. Matches come in path order; none
  at all is not an error.
* Included files (which may include others) are deep-merged in order, then the
  including file on top, so its keys win and mappings merge (``merge``).
* At most 150 distinct files may be included in all.

``remote``, ``project``, ``template``, ``component`` and ``artifact`` need a GitLab
server, so they are errors rather than silently missing jobs. Include
``rules`` are evaluated when they use only ``exists`` and ``when``; ``if`` and
``changes`` need the pipeline's variables and changed files, which this layer
does not have, so they are reported as not supported yet.
"""

from __future__ import annotations

import difflib
import os
import re
from pathlib import Path

from runner.engine.globs import compile_pattern
from runner.errors import PipelineError, UsageError
from runner.pipeline import yamlsrc
from runner.pipeline.bounds import check_pipeline_values
from runner.pipeline.fields import FieldReader
from runner.pipeline.gitlab import source as gitlab_source
from runner.pipeline.gitlab.merge import deep_merge, without
from runner.pipeline.yamlsrc import Map, Node, Scalar, Seq, describe, join_index, join_key

MAX_INCLUDES = 150
"""GitLab's default limit on included files per pipeline (``ci_max_includes``)."""

_KINDS = ("local", "project", "remote", "template", "component", "artifact")
"""The keys that say what an include item names (exactly one per item)."""

_ITEM_KEYS = (*_KINDS, "file", "ref", "job", "rules", "inputs", "with", "cache", "integrity")
"""Every key GitLab accepts in an include item."""

_YAML_NAME = re.compile(r".+\.(yml|yaml)", re.IGNORECASE)
_URL = re.compile(r"[A-Za-z][A-Za-z0-9+.-]*://")


def expand_includes(
    source: yamlsrc.Source, root: Path, reader: FieldReader
) -> tuple[Map, tuple[str, ...]]:
    """``source``'s tree with every included file merged in and ``include`` removed, and notes."""
    includer = _Includer(root, reader)
    main = Path(source.file)
    tree = includer.expand(source.root, ((main.resolve(), source.file),))
    return tree, tuple(includer.notes)


def wildcard_regex(pattern: str) -> re.Pattern[str]:
    """GitLab's regex for a wildcard local include (leading ``/`` dropped); use ``fullmatch``."""
    text = re.escape(pattern.lstrip("/"))
    text = text.replace(r"\*\*/", "(?:.*?/)?").replace(r"\*\*", ".*?").replace(r"\*", "[^/]*?")
    return re.compile(text)


class _Includer:
    """One pipeline's include expansion: the files met so far and what to tell the user."""

    def __init__(self, root: Path, reader: FieldReader) -> None:
        self.root = root
        self.real_root = root.resolve()
        self.reader = reader
        self.included: set[Path] = set()
        self.notes: list[str] = []
        self.values = reader.source.values
        """Values of every file read so far, aliases expanded (bounded in ``bounds``)."""
        self._project_files: list[str] | None = None

    def fail(self, node: Node, key: str, message: str) -> PipelineError:
        return self.reader.fail(node.pos, key, message)

    def expand(self, tree: Map, stack: tuple[tuple[Path, str], ...]) -> Map:
        """``tree`` (the file at the top of ``stack``) with its includes merged underneath."""
        entry = tree.get("include")
        if entry is None:
            return tree
        merged: Map | None = None
        for item, key in self._items(entry.value):
            located = self._locate(item, key)
            if located is None:
                continue
            pattern, node, path_key = located
            for rel in self._paths(pattern, node, path_key):
                included = self._load(rel, node, path_key, stack)
                merged = included if merged is None else deep_merge(merged, included)
        own = without(tree, "include")
        return own if merged is None else deep_merge(merged, own)

    def _items(self, value: Node) -> list[tuple[Node, str]]:
        """The include items with their key paths (``include`` or ``include[2]``)."""
        if isinstance(value, Seq) and value.tag == yamlsrc.SEQ_TAG:
            return [(item, join_index("include", i)) for i, item in enumerate(value.items)]
        if isinstance(value, Scalar) and value.value is None:
            return []
        return [(value, "include")]

    def _locate(self, item: Node, key: str) -> tuple[str, Node, str] | None:
        """The local path (or pattern) an item names, its node and key path; None if ruled out."""
        if isinstance(item, Scalar) and isinstance(item.value, str):
            if _URL.match(item.value):
                raise self.fail(item, key, _offline("remote"))
            return item.value, item, key
        if not isinstance(item, Map) or item.tag != yamlsrc.MAP_TAG:
            raise self.fail(
                item,
                key,
                "an include must be a file path or a mapping like '{local: ci/build.yml}',"
                f" got {describe(item)}",
            )
        kinds = [entry for entry in item if entry.key in _KINDS]
        for entry in item:
            if entry.key not in _ITEM_KEYS:
                close = difflib.get_close_matches(entry.key, _ITEM_KEYS, n=1)
                hint = f"; did you mean '{close[0]}'?" if close else ""
                raise self.reader.fail(
                    entry.key_pos,
                    join_key(key, entry.key),
                    f"unknown key '{entry.key}' in an include{hint}",
                )
        if not kinds:
            raise self.fail(
                item,
                key,
                "an include needs the file to include; runner reads 'local' includes,"
                " like '{local: ci/build.yml}'",
            )
        if len(kinds) > 1:
            raise self.reader.fail(
                kinds[1].key_pos,
                join_key(key, kinds[1].key),
                "an include must use only one of "
                + ", ".join(f"'{kind}'" for kind in _KINDS)
                + f"; this one has both '{kinds[0].key}' and '{kinds[1].key}'",
            )
        kind = kinds[0]
        path_key = join_key(key, kind.key)
        if kind.key != "local":
            raise self.reader.fail(kind.key_pos, path_key, _offline(kind.key))
        for name in ("inputs", "with"):
            found = item.get(name)
            if found is not None:
                raise self.reader.fail(
                    found.key_pos,
                    join_key(key, name),
                    f"include '{name}' (spec:inputs) is not supported yet; inline the values"
                    " in the included file",
                )
        rules = item.get("rules")
        if rules is not None and not self._rules_pass(rules.value, join_key(key, "rules")):
            return None
        path = self.reader.nonempty_str(kind.value, path_key, "'include: local'")
        return path, kind.value, path_key

    def _paths(self, pattern: str, node: Node, key: str) -> list[str]:
        """Project-relative paths a local include names: the one path, or a wildcard's matches."""
        if "*" not in pattern:
            return [pattern.lstrip("/")]
        regex = wildcard_regex(pattern)
        matches = [path for path in self.project_files() if regex.fullmatch(path)]
        if not matches:
            where = self.reader.spot(node.pos, key)
            self.notes.append(f"{where}: include '{pattern}' matched no files, so it adds nothing")
        return matches

    def project_files(self) -> list[str]:
        """Every file under the root as a relative POSIX path, sorted (Git's order), no ``.git``."""
        if self._project_files is None:
            found: list[str] = []
            for dirpath, dirnames, filenames in os.walk(self.root, followlinks=False):
                dirnames[:] = [name for name in dirnames if name != ".git"]
                rel_dir = os.path.relpath(dirpath, self.root)
                prefix = "" if rel_dir == "." else rel_dir.replace(os.sep, "/") + "/"
                found.extend(prefix + name for name in filenames if name != ".git")
            self._project_files = sorted(found)
        return self._project_files

    def _load(self, rel: str, node: Node, key: str, stack: tuple[tuple[Path, str], ...]) -> Map:
        """The included file ``rel``, loaded and with its own includes expanded."""
        if not rel or not _YAML_NAME.fullmatch(rel.rsplit("/", 1)[-1]):
            raise self.fail(
                node,
                key,
                f"included file '{rel}' does not have a YAML extension; GitLab includes only"
                " '.yml' and '.yaml' files",
            )
        path = self.root / rel
        real = path.resolve()
        if not real.is_relative_to(self.real_root):
            raise self.fail(
                node,
                key,
                f"included file '{rel}' is outside the project root '{self.root}'; local"
                " includes name files of the project",
            )
        if not real.is_file():
            raise self.fail(
                node,
                key,
                f"included file '{rel}' does not exist (local include paths are relative to the"
                f" project root '{self.root}')",
            )
        chain = [label for _, label in stack]
        if any(real == seen for seen, _ in stack):
            raise self.fail(node, key, "include cycle: " + " -> ".join([*chain, str(path)]))
        self.included.add(real)
        if len(self.included) > MAX_INCLUDES:
            raise self.fail(
                node,
                key,
                f"more than {MAX_INCLUDES} files are included; GitLab allows at most"
                f" {MAX_INCLUDES} includes in a pipeline",
            )
        label = str(path)
        try:
            text = yamlsrc.read_text(path)
        except UsageError as exc:
            raise self.fail(node, key, str(exc)) from None
        if gitlab_source.is_blank(text):
            raise self.fail(node, key, f"included file '{rel}' is empty")
        included = gitlab_source.load_text(text, label)
        self.notes.extend(included.warnings)
        self.values += included.values
        check_pipeline_values(self.reader.file, self.values, node.pos)
        return self.expand(included.root, (*stack, (real, label)))

    def _rules_pass(self, value: Node, key: str) -> bool:
        """Whether an include's ``rules`` let it in: the first matching rule's ``when``."""
        rules = self.reader.expect_seq(value, key, "'rules' of an include")
        for index, rule_node in enumerate(rules.items):
            rule_key = join_index(key, index)
            rule = self.reader.expect_map(rule_node, rule_key, "an include rule")
            for entry in rule:
                if entry.key in ("if", "changes"):
                    raise self.reader.fail(
                        entry.key_pos,
                        join_key(rule_key, entry.key),
                        f"include rules with '{entry.key}' are not supported yet; runner"
                        " evaluates only 'exists' and 'when' in the rules of an include",
                    )
                if entry.key not in ("exists", "when"):
                    raise self.reader.fail(
                        entry.key_pos,
                        join_key(rule_key, entry.key),
                        f"unknown key '{entry.key}' in an include rule; valid keys are"
                        " 'if', 'changes', 'exists' and 'when'",
                    )
            exists = rule.get("exists")
            if exists is not None and not self._exists(exists.value, join_key(rule_key, "exists")):
                continue
            when = rule.get("when")
            if when is None:
                return True
            when_key = join_key(rule_key, "when")
            word = self.reader.expect_str(when.value, when_key, "'when' of an include rule")
            if word not in ("always", "never"):
                raise self.fail(
                    when.value,
                    when_key,
                    f"'when' of an include rule must be 'always' or 'never', got '{word}'",
                )
            return word == "always"
        return False

    def _exists(self, value: Node, key: str) -> bool:
        """Whether any file of the project matches one of the ``exists`` patterns."""
        if isinstance(value, Map):
            for name in ("project", "ref"):
                found = value.get(name)
                if found is not None:
                    raise self.reader.fail(
                        found.key_pos, join_key(key, name), f"'exists: {name}' " + _OFFLINE_TAIL
                    )
            paths = value.get("paths")
            if paths is None:
                raise self.fail(value, key, "'exists' as a mapping needs 'paths'")
            value, key = paths.value, join_key(key, "paths")
        items = value.items if isinstance(value, Seq) else (value,)
        patterns = [
            self.reader.nonempty_str(item, key, "each 'exists' pattern").lstrip("/")
            for item in items
        ]
        regexes = [compile_pattern(pattern) for pattern in patterns]
        return any(regex.match(path) for regex in regexes for path in self.project_files())


_OFFLINE_TAIL = "is not available offline; runner only reads `include: local` files"


def _offline(kind: str) -> str:
    return f"`include: {kind}` {_OFFLINE_TAIL}"
