"""Typed reads the GitLab dialect needs beyond ``FieldReader``'s, and the notes it collects.

GitLab accepts many keys as "a string or a list of strings" and a few as
words from a fixed set; reading them here keeps every message worded alike
and pointed at the exact file, line and key (files from ``include`` too).
"""

from __future__ import annotations

import difflib
from collections.abc import Sequence

from runner.pipeline import values
from runner.pipeline.fields import FieldReader
from runner.pipeline.yamlsrc import Node, Pos, Scalar, Seq, describe, join_index

MAX_NESTING = 10


class GitLabReader(FieldReader):
    """``FieldReader`` plus the value shapes GitLab's keywords take."""

    def strings(self, node: Node, key: str, what: str) -> list[tuple[str, Pos, str]]:
        """A string or a list of strings (nested lists from anchors flattened), with spots."""
        if isinstance(node, Scalar):
            return [(self.expect_str(node, key, what), node.pos, key)]
        if not isinstance(node, Seq):
            raise self.fail(
                node.pos, key, f"{what} must be a string or a list of strings, got {describe(node)}"
            )
        out: list[tuple[str, Pos, str]] = []
        self._flatten(node, key, what, out, 1)
        return out

    def _flatten(
        self, seq: Seq, key: str, what: str, out: list[tuple[str, Pos, str]], depth: int
    ) -> None:
        if depth > MAX_NESTING:
            raise self.fail(seq.pos, key, f"{what} nests lists more than {MAX_NESTING} deep")
        for index, item in enumerate(seq.items):
            path = join_index(key, index)
            if isinstance(item, Seq):
                self._flatten(item, path, what, out, depth + 1)
            else:
                out.append((self.expect_str(item, path, f"an item of {what}"), item.pos, path))

    def text(self, node: Node, key: str, what: str) -> str:
        """A scalar as GitLab stringifies it: strings as they are, others as YAML wrote them.

        Booleans become "true"/"false" whatever their spelling (Ruby's ``to_s``).
        """
        if not isinstance(node, Scalar) or node.value is None or isinstance(node.value, bytes):
            hint = "; write '' for an empty value" if isinstance(node, Scalar) else ""
            raise self.fail(
                node.pos,
                key,
                f"{what} must be a string, number or boolean, got {describe(node)}{hint}",
            )
        if isinstance(node.value, bool):
            return "true" if node.value else "false"
        return node.value if isinstance(node.value, str) else node.text

    def integer(self, node: Node, key: str, what: str, low: int, high: int) -> int:
        """A whole number from ``low`` to ``high``."""
        value = node.value if isinstance(node, Scalar) else None
        if isinstance(value, bool) or not isinstance(value, int):
            raise self.fail(
                node.pos,
                key,
                f"{what} must be a whole number from {low} to {high}, got {describe(node)}",
            )
        if not low <= value <= high:
            raise self.fail(node.pos, key, f"{what} must be from {low} to {high}, got {value}")
        return value

    def word(self, node: Node, key: str, what: str, choices: Sequence[str]) -> str:
        """One of ``choices``; a near miss gets a "did you mean" hint."""
        text = self.expect_str(node, key, what)
        if text not in choices:
            close = difflib.get_close_matches(text, choices, n=1)
            hint = (
                f"did you mean '{close[0]}'?"
                if close
                else "use one of " + ", ".join(f"'{c}'" for c in choices)
            )
            raise self.fail(node.pos, key, f"{what} cannot be '{text}'; {hint}")
        return text

    def duration(self, node: Node, key: str, what: str) -> float:
        """A GitLab duration ('1h 30m', '10 minutes', 3600) in seconds, above zero."""
        return values.positive_duration(self, node, key, what)


class Notes:
    """Things the user should know, in order, each once; ignored keywords become one note."""

    def __init__(self) -> None:
        self._notes: list[str] = []
        self._ignored: dict[str, set[str]] = {}

    def add(self, text: str) -> None:
        """Add ``text`` unless an equal note is already there."""
        if text not in self._notes:
            self._notes.append(text)

    def ignored(self, keyword: str, job: str) -> None:
        """``keyword`` of ``job`` has no effect in a local run."""
        self._ignored.setdefault(keyword, set()).add(job)

    def render(self) -> tuple[str, ...]:
        """All notes; the ignored keywords as one line, with how many jobs use each."""
        notes = list(self._notes)
        if self._ignored:
            parts = []
            for keyword in sorted(self._ignored):
                count = len(self._ignored[keyword])
                parts.append(f"'{keyword}' ({count} job{'s' if count != 1 else ''})")
            notes.append(
                "these keywords have no effect in a local run and were ignored: "
                + ", ".join(parts)
            )
        return tuple(notes)
