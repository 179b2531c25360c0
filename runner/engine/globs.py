"""Artifact and cache path patterns, matched without ever following a symlink.

Patterns are relative POSIX paths: ``*`` and ``?`` stay within one path
component, ``**`` spans any number of them, and a pattern naming a directory
(with or without a trailing ``/``) takes everything under it. Matching walks
the real tree and never descends into a symlinked directory, so a job cannot
make us copy files from outside its workspace.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator, Sequence


def compile_pattern(pattern: str) -> re.Pattern[str]:
    """Regex for a pattern over ``/``-separated relative paths."""
    parts = pattern.strip("/").split("/")
    out: list[str] = []
    for index, part in enumerate(parts):
        last = index == len(parts) - 1
        if part == "**":
            out.append("(?:.*)" if last else "(?:[^/]*/)*")
            continue
        piece = "".join(
            "[^/]*" if ch == "*" else "[^/]" if ch == "?" else re.escape(ch) for ch in part
        )
        out.append(piece if last else piece + "/")
    return re.compile("".join(out) + r"\Z")


def _walk(root: str) -> Iterator[tuple[str, bool]]:
    """Relative paths under ``root`` with whether each is a real (non-symlink) directory."""
    for dirpath, dirnames, filenames in os.walk(root, followlinks=False):
        rel_dir = os.path.relpath(dirpath, root)
        prefix = "" if rel_dir == "." else rel_dir.replace(os.sep, "/") + "/"
        for name in dirnames:
            full = os.path.join(dirpath, name)
            yield prefix + name, not os.path.islink(full)
        for name in filenames:
            yield prefix + name, False


def match_tree(root: str, patterns: Sequence[str]) -> tuple[list[str], list[str]]:
    """Top-most matching paths under ``root``, and the patterns that matched nothing.

    A matched directory stands for its whole subtree, so paths below it are
    not listed again.
    """
    compiled = [(pattern, compile_pattern(pattern)) for pattern in patterns]
    hit: set[str] = set()
    matched: list[str] = []
    matched_set: set[str] = set()
    for rel, _is_dir in sorted(_walk(root)):
        parts = rel.split("/")
        covered = any("/".join(parts[:i]) in matched_set for i in range(1, len(parts)))
        for pattern, regex in compiled:
            if regex.match(rel):
                hit.add(pattern)
                if not covered and rel not in matched_set:
                    matched.append(rel)
                    matched_set.add(rel)
    return matched, [pattern for pattern, _ in compiled if pattern not in hit]
