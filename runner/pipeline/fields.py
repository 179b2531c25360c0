"""Typed reads of positioned YAML nodes that fail with a PipelineError at the exact spot.

Dialect-neutral: every pipeline translator reads its file through a
``FieldReader`` (subclassing it), so "expected X, got Y" and unknown-key
messages are worded the same whatever the dialect.
"""

from __future__ import annotations

import difflib
from collections.abc import Sequence

from runner.errors import PipelineError, SourceSpot, raise_all
from runner.pipeline import yamlsrc
from runner.pipeline.yamlsrc import Map, Node, Pos, Scalar, Seq, describe


class FieldReader:
    """Checks over one loaded file; every check raises PipelineError at the first problem.

    ``key`` arguments are dotted key paths for the error spot (``jobs.build.image``);
    ``what`` arguments name the field for the message (``'image' of job 'build'``).
    """

    def __init__(self, source: yamlsrc.Source) -> None:
        self.source = source
        self.file = source.file

    def spot(self, pos: Pos, key: str) -> SourceSpot:
        """The error spot for ``pos``, with ``key`` as the dotted key path."""
        return SourceSpot(pos.file or self.file, pos.line, pos.column, key or None)

    def fail(self, pos: Pos, key: str, message: str) -> PipelineError:
        """The error to raise (returned, so call sites read ``raise self.fail(...)``)."""
        return PipelineError(self.spot(pos, key), message)

    def child(self, mapping: Map, name: str, key: str, what: str) -> tuple[Node, str, str] | None:
        """``mapping[name]`` as (node, key path, description) for the checkers; None if absent.

        ``what`` names the mapping (``job 'build'``), so the child reads
        ``'image' of job 'build'`` in messages.
        """
        found = mapping.get(name)
        if found is None:
            return None
        return found.value, yamlsrc.join_key(key, name), f"'{name}' of {what}"

    def check_keys(self, mapping: Map, allowed: Sequence[str], key: str, where: str) -> None:
        """Unknown keys are typos far more often than intent, so they are errors with a hint.

        At the top level (``key`` empty) keys starting with '.' are allowed: they
        are templates that hold YAML anchors.
        """
        unknown: list[PipelineError] = []
        for entry in mapping:
            if entry.key in allowed or (not key and entry.key.startswith(".")):
                continue
            close = difflib.get_close_matches(entry.key, allowed, n=1)
            hint = (
                f"did you mean '{close[0]}'?"
                if close
                else "valid keys are " + ", ".join(f"'{k}'" for k in allowed)
            )
            unknown.append(self.fail(
                entry.key_pos,
                yamlsrc.join_key(key, entry.key),
                f"unknown key '{entry.key}' {where}; {hint}",
            ))
        raise_all(unknown)

    def expect_map(self, node: Node, key: str, what: str) -> Map:
        """``node`` as a mapping, or an error naming ``what`` and what it got instead."""
        if not isinstance(node, Map):
            raise self.fail(node.pos, key, f"{what} must be a mapping, got {describe(node)}")
        return node

    def expect_seq(self, node: Node, key: str, what: str) -> Seq:
        """``node`` as a list, or an error naming ``what`` and what it got instead."""
        if not isinstance(node, Seq):
            raise self.fail(node.pos, key, f"{what} must be a list, got {describe(node)}")
        return node

    def expect_str(self, node: Node, key: str, what: str) -> str:
        """``node`` as a string, or an error naming ``what`` and what it got instead."""
        if not isinstance(node, Scalar) or not isinstance(node.value, str):
            raise self.fail(node.pos, key, f"{what} must be a string, got {describe(node)}")
        return node.value

    def expect_bool(self, node: Node, key: str, what: str) -> bool:
        """``node`` as a boolean, or an error naming ``what`` and what it got instead."""
        if not isinstance(node, Scalar) or not isinstance(node.value, bool):
            hint = ""
            if isinstance(node, Scalar) and node.text.lower() in ("true", "false"):
                hint = " (write it without quotes)"
            raise self.fail(
                node.pos,
                key,
                f"{what} must be a boolean (true or false), got {describe(node)}" + hint,
            )
        return node.value

    def nonempty_str(self, node: Node, key: str, what: str) -> str:
        """A string with something in it: blank names and images are always mistakes."""
        text = self.expect_str(node, key, what)
        if not text.strip():
            raise self.fail(node.pos, key, f"{what} must not be empty")
        return text
