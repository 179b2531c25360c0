"""Reading a workflow file's YAML as GitHub does, collecting every problem for one report.

GitHub's workflow parser is YAML 1.2 (not Ruby's Psych, not pyyaml's 1.1): a key
written twice is an error, ``on``/``yes``/``off`` are strings (so ``on:`` is the
key "on", never boolean true), and ``3.10`` is the number 3.1. The loader
(``yamlsrc``, strict mode) keeps keys as written; ``text`` and ``value`` below
turn scalars into GitHub's strings and JSON values.

``WorkflowReader`` never stops at the first problem: ``problem`` records an
error and reading goes on with the next key, so a bad file is reported in one
run, every problem with file:line:col and key path (``PipelineErrors``).
"""

from __future__ import annotations

import difflib
import math
from collections.abc import Sequence
from datetime import date

from runner.errors import PipelineError
from runner.pipeline import yamlsrc
from runner.pipeline.fields import FieldReader
from runner.pipeline.github.stepspec import Json
from runner.pipeline.yamlsrc import Map, Node, Pos, Scalar, Seq, describe

_TRUE = ("true", "True", "TRUE")
_FALSE = ("false", "False", "FALSE")
_NULL = ("", "~", "null", "Null", "NULL")


class WorkflowLoader(yamlsrc.SourceLoader):
    """Strict mappings (duplicate keys are errors, as in GitHub) and no custom tags."""

    not_jobs = frozenset({"name", "run-name", "on", "env", "defaults", "permissions",
                          "concurrency", "jobs"})


def number_text(value: float) -> str:
    """A number as GitHub writes it in a string: ``3.10`` is ``3.1``, ``2.0`` is ``2``."""
    if math.isnan(value):
        return "NaN"
    if math.isinf(value):
        return "Infinity" if value > 0 else "-Infinity"
    if value == int(value) and abs(value) < 1e15:
        return str(int(value))
    return repr(float(value))


def value(node: Node) -> Json:
    """A node as a JSON-like value with YAML 1.2's types (matrix values, ``with:``)."""
    if isinstance(node, Map):
        return {entry.key: value(entry.value) for entry in node}
    if isinstance(node, Seq):
        return [value(item) for item in node.items]
    return _scalar(node)


def _scalar(node: Scalar) -> Json:
    """YAML 1.2's reading of a scalar pyyaml typed by YAML 1.1's rules."""
    raw = node.value
    if isinstance(raw, bool):
        if node.text in _TRUE:
            return True
        return False if node.text in _FALSE else node.text
    if raw is None:
        return None if node.text in _NULL else node.text
    if isinstance(raw, int | float):
        if node.text.startswith(("0o", "0x")) or ":" in node.text or "_" in node.text:
            return node.text  # 1.1-only spellings: strings in YAML 1.2
        return float(raw)
    return node.text if isinstance(raw, date | bytes) else str(raw)


def text(node: Scalar) -> str:
    """A scalar as the string GitHub makes of it (``true``, ``3.1``, ``""`` for null)."""
    got = value(node)
    if got is None:
        return ""
    if isinstance(got, bool):
        return "true" if got else "false"
    if isinstance(got, float):
        return number_text(got)
    return str(got)


class WorkflowReader(FieldReader):
    """``FieldReader`` that collects problems instead of stopping at the first one."""

    def __init__(self, source: yamlsrc.Source) -> None:
        super().__init__(source)
        self.problems: list[PipelineError] = []

    def problem(self, pos: Pos, key: str, message: str) -> None:
        """Record a problem at ``pos``/``key`` and go on reading."""
        self.problems.append(self.fail(pos, key, message))

    def keys(self, mapping: Map, allowed: Sequence[str], key: str, where: str) -> None:
        """Record each key of ``mapping`` not in ``allowed``, with a "did you mean"."""
        for entry in mapping:
            if entry.key in allowed:
                continue
            close = difflib.get_close_matches(entry.key, allowed, n=1)
            hint = (f"did you mean '{close[0]}'?" if close
                    else "valid keys are " + ", ".join(f"'{k}'" for k in allowed))
            self.problem(entry.key_pos, yamlsrc.join_key(key, entry.key),
                         f"unknown key '{entry.key}' {where}; {hint}")

    def mapping(self, node: Node, key: str, what: str) -> Map | None:
        """``node`` as a mapping, else a recorded problem and None."""
        if isinstance(node, Map):
            return node
        self.problem(node.pos, key, f"{what} must be a mapping, got {describe(node)}")
        return None

    def string(self, node: Node, key: str, what: str) -> str | None:
        """A scalar as GitHub's string (numbers and booleans too), else a problem and None."""
        if isinstance(node, Scalar):
            return text(node)
        self.problem(node.pos, key, f"{what} must be a string, got {describe(node)}")
        return None

    def strings(self, node: Node, key: str, what: str) -> list[tuple[str, Node, str]]:
        """A string or a list of strings, as (text, node, key path) each."""
        if isinstance(node, Seq):
            found = []
            for index, item in enumerate(node.items):
                at = yamlsrc.join_index(key, index)
                got = self.string(item, at, f"each item of {what}")
                if got is not None:
                    found.append((got, item, at))
            return found
        got = self.string(node, key, what)
        return [] if got is None else [(got, node, key)]

    def env(self, node: Node, key: str, what: str) -> tuple[tuple[str, str, Node], ...]:
        """A mapping of names to strings (``env:``), as (name, raw value, value node)."""
        mapping = self.mapping(node, key, what)
        if mapping is None:
            return ()
        pairs = []
        for entry in mapping:
            at = yamlsrc.join_key(key, entry.key)
            got = self.string(entry.value, at, f"'{entry.key}' of {what}")
            if got is not None:
                pairs.append((entry.key, got, entry.value))
        return tuple(pairs)
