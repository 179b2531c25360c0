"""Artifact/cache pattern matching, including its refusal to follow symlinks."""

from __future__ import annotations

import os

import pytest

from runner.engine.globs import compile_pattern, match_tree


@pytest.mark.parametrize(("pattern", "path", "hit"), [
    ("dist/", "dist", True),
    ("dist", "dist", True),
    ("dist", "dist2", False),
    ("*.txt", "a.txt", True),
    ("*.txt", "sub/a.txt", False),
    ("**/*.xml", "a/b/c.xml", True),
    ("**/*.xml", "c.xml", True),
    ("a/**", "a/x/y", True),
    ("a/*/c", "a/b/c", True),
    ("a/*/c", "a/b/d/c", False),
    ("file?.log", "file1.log", True),
    ("a.b", "axb", False),
])
def test_compile_pattern(pattern: str, path: str, hit: bool) -> None:
    """Globs match relative paths with *, ?, ** and directory names."""
    assert bool(compile_pattern(pattern).match(path)) is hit


def test_match_tree_topmost_and_unmatched(tmp_path) -> None:
    """A matched directory stands for its subtree; empty patterns are reported."""
    (tmp_path / "dist" / "sub").mkdir(parents=True)
    (tmp_path / "dist" / "sub" / "a.whl").write_text("x")
    (tmp_path / "r.xml").write_text("x")
    matched, unmatched = match_tree(str(tmp_path), ["dist/", "**/*.whl", "*.xml", "nope/"])
    assert matched == ["dist", "r.xml"]
    assert unmatched == ["nope/"]


def test_match_tree_does_not_follow_symlinked_dirs(tmp_path) -> None:
    """A symlink to a directory outside is matched as a link, never walked into."""
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "secret.txt").write_text("s")
    ws = tmp_path / "ws"
    ws.mkdir()
    os.symlink(outside, ws / "link")
    matched, _ = match_tree(str(ws), ["**/*.txt", "link/secret.txt"])
    assert matched == []
