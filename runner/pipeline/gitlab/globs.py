"""``rules:exists`` globs matched against the project's files as GitLab matches them.

GitLab tests each pattern with Ruby's ``File.fnmatch?`` and the flags
``FNM_PATHNAME | FNM_DOTMATCH | FNM_EXTGLOB``: ``*`` and ``?`` stop at ``/``,
``**/`` spans directories, ``{a,b}`` alternates, and dot files match like any
other. GitLab looks at the commit's files; locally the files are what a job's
workspace holds (tracked plus untracked-but-not-ignored), listed once.
"""

from __future__ import annotations

import functools
import re
from pathlib import Path

from runner.pipeline.projectfiles import project_files


@functools.lru_cache(maxsize=1024)
def glob_regex(pattern: str) -> re.Pattern[str]:
    """The compiled regex that matches a whole relative path exactly when ``pattern`` does."""
    return re.compile(_translate(pattern) + r"\Z", re.DOTALL)


def _translate(pattern: str) -> str:
    out: list[str] = []
    i, n = 0, len(pattern)
    while i < n:
        char = pattern[i]
        if pattern.startswith("**/", i):
            out.append("(?:[^/]*/)*")
            i += 3
        elif char == "*":
            while i < n and pattern[i] == "*":
                i += 1
            out.append("[^/]*")
        elif char == "?":
            out.append("[^/]")
            i += 1
        elif char in "[{" and (group := _group(pattern, i)) is not None:
            text, i = group
            out.append(text)
        elif char == "\\" and i + 1 < n:
            out.append(re.escape(pattern[i + 1]))
            i += 2
        else:
            out.append(re.escape(char))
            i += 1
    return "".join(out)


def _group(pattern: str, start: int) -> tuple[str, int] | None:
    """A ``[class]`` or ``{a,b}`` at ``start`` as regex text and the index after it."""
    if pattern[start] == "[":
        end = _class_end(pattern, start)
        if end < 0:
            return None
        body = pattern[start + 1 : end]
        negate = body[:1] in ("!", "^")
        body = body[1:] if negate else body
        body = body.replace("\\", "\\\\").replace("]", "\\]")
        return f"[{'^/' if negate else ''}{body}]", end + 1
    end = _brace_end(pattern, start)
    if end < 0:
        return None
    options = _split_braces(pattern[start + 1 : end])
    return "(?:" + "|".join(_translate(o) for o in options) + ")", end + 1


def _class_end(pattern: str, start: int) -> int:
    """Index of the ``]`` closing the class at ``start`` (a leading ``]`` is literal), or -1."""
    i = start + 1
    if i < len(pattern) and pattern[i] in "!^":
        i += 1
    if i < len(pattern) and pattern[i] == "]":
        i += 1
    return pattern.find("]", i)


def _brace_end(pattern: str, start: int) -> int:
    depth = 0
    for i in range(start, len(pattern)):
        if pattern[i] == "{":
            depth += 1
        elif pattern[i] == "}":
            depth -= 1
            if depth == 0:
                return i
    return -1


def _split_braces(body: str) -> list[str]:
    parts: list[str] = []
    depth, last = 0, 0
    for i, char in enumerate(body):
        if char == "{":
            depth += 1
        elif char == "}":
            depth -= 1
        elif char == "," and depth == 0:
            parts.append(body[last:i])
            last = i + 1
    parts.append(body[last:])
    return parts


class ProjectFiles:
    """The project's file list, read on first use only (most pipelines never ask)."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self._files: tuple[str, ...] | None = None
        self._answers: dict[str, bool] = {}

    def files(self) -> tuple[str, ...]:
        """Relative paths with '/' separators, sorted."""
        if self._files is None:
            self._files = tuple(project_files(self.root))
        return self._files

    def any_match(self, pattern: str) -> bool:
        """Whether some file matches ``pattern`` (a leading './' or '/' is ignored)."""
        pattern = pattern.removeprefix("./").lstrip("/")
        if pattern not in self._answers:
            regex = glob_regex(pattern)
            self._answers[pattern] = any(regex.match(path) for path in self.files())
        return self._answers[pattern]
