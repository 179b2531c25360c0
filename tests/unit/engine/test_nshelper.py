"""File copying in the namespace helper (the parts that need no namespace)."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

import pytest

from runner.engine.fscopy import Budget
from runner.engine.fscopy import copy_entry as _copy_entry
from runner.engine.globs import compile_pattern
from runner.engine.nshelper import _copy_filtered, _select


def test_sparse_file_copied_sparse(tmp_path) -> None:
    """Holes are not written out: a 1 GiB sparse file stays (almost) free on disk."""
    src, dst = tmp_path / "src", tmp_path / "dst"
    with src.open("wb") as handle:
        handle.truncate(1 << 30)
        handle.seek(1 << 20)
        handle.write(b"middle")
    _copy_entry(str(src), str(dst))
    assert dst.stat().st_size == 1 << 30
    assert dst.stat().st_blocks * 512 < 1 << 20
    with dst.open("rb") as handle:
        handle.seek(1 << 20)
        assert handle.read(6) == b"middle"


def test_budget_stops_a_copy_that_is_too_big(tmp_path) -> None:
    """Data past the budget raises instead of filling the disk."""
    src = tmp_path / "src"
    src.mkdir()
    (src / "a").write_bytes(b"x" * 5000)
    (src / "b").write_bytes(b"y" * 5000)
    with pytest.raises(ValueError, match="size limit"):
        _copy_entry(str(src), str(tmp_path / "dst"), Budget(8000))
    _copy_entry(str(src), str(tmp_path / "ok"), Budget(20000))
    assert (tmp_path / "ok" / "b").read_bytes() == b"y" * 5000


def test_symlinked_destination_dir_is_replaced_not_followed(tmp_path) -> None:
    """A symlink where a directory goes is replaced; nothing lands outside."""
    outside = tmp_path / "outside"
    outside.mkdir()
    src = tmp_path / "src"
    (src / "x").mkdir(parents=True)
    (src / "x" / "f").write_text("data")
    dst = tmp_path / "dst"
    dst.mkdir()
    os.symlink(outside, dst / "x")
    _copy_entry(str(src), str(dst))
    assert not (dst / "x").is_symlink()
    assert (dst / "x" / "f").read_text() == "data"
    assert list(outside.iterdir()) == []


def test_fifo_is_skipped(tmp_path) -> None:
    """FIFOs are not opened (that could block) and not copied."""
    src = tmp_path / "src"
    src.mkdir()
    os.mkfifo(src / "pipe")
    (src / "file").write_text("f")
    _copy_entry(str(src), str(tmp_path / "dst"))
    assert sorted(p.name for p in (tmp_path / "dst").iterdir()) == ["file"]


def _tree(root) -> list[str]:
    return sorted(str(p.relative_to(root)) + ("/" if p.is_dir() and not p.is_symlink() else "")
                  for p in root.rglob("*"))


def test_untracked_adds_files_not_in_the_snapshot(tmp_path) -> None:
    """Every file or symlink outside the snapshot is taken, once, beside the matched paths."""
    ws = tmp_path / "ws"
    (ws / "src").mkdir(parents=True)
    (ws / "dist" / "deep").mkdir(parents=True)
    for rel in ["tracked.txt", "src/a.py", "src/new.py", "dist/deep/x", "top.new"]:
        (ws / rel).write_text(rel)
    os.symlink("/etc", ws / "link")
    (ws / "emptydir").mkdir()
    matched, unmatched = _select(str(ws), ["dist/", "nothing/"], ["tracked.txt", "src/a.py"])
    assert sorted(matched) == ["dist", "link", "src/new.py", "top.new"]
    assert unmatched == ["nothing/"]
    assert _select(str(ws), ["dist/"], None) == (["dist"], [])


def _filtered(ws: Path, out: Path, rel: str, excluded: Callable[[str], bool]) -> None:
    top = os.open(ws, os.O_RDONLY | os.O_DIRECTORY)
    try:
        _copy_filtered(top, str(out), rel, Budget(None), excluded)
    finally:
        os.close(top)


def test_exclude_is_per_path_and_keeps_files_under_an_excluded_dir(tmp_path) -> None:
    """GitLab semantics: ``**`` spans directories; excluding a directory alone is not recursive."""
    ws, out = tmp_path / "ws", tmp_path / "out"
    (ws / "b" / "sub").mkdir(parents=True)
    (ws / "b" / "empty").mkdir()
    for rel in ["b/a.txt", "b/x.o", "b/sub/y.o", "b/sub/z.txt"]:
        (ws / rel).write_text(rel)
    out.mkdir()
    patterns = [compile_pattern(p) for p in ["b/**/*.o", "b/sub"]]
    _filtered(ws, out, "b", lambda rel: any(p.match(rel) for p in patterns))
    assert _tree(out) == ["b/", "b/a.txt", "b/empty/", "b/sub/", "b/sub/z.txt"]
    assert (out / "b" / "sub" / "z.txt").read_text() == "b/sub/z.txt"


def test_exclude_everything_under_a_dir_leaves_no_subdir(tmp_path) -> None:
    """``dir/**`` drops all below ``dir`` (directories too), so nothing under it is kept."""
    ws, out = tmp_path / "ws", tmp_path / "out"
    (ws / "d" / "s").mkdir(parents=True)
    (ws / "d" / "s" / "f").write_text("f")
    out.mkdir()
    regex = compile_pattern("d/**")
    _filtered(ws, out, "d", lambda rel: bool(regex.match(rel)))
    assert _tree(out) == ["d/"]


def test_usage_counts_blocks_once_per_inode(tmp_path: Path) -> None:
    """Disk use: real blocks (a sparse file costs little), hard links counted once."""
    from runner.engine.nshelper import usage  # noqa: PLC0415

    top = tmp_path / "ws"
    top.mkdir()
    data = top / "data"
    data.write_bytes(b"x" * (1 << 20))
    (top / "link").hardlink_to(data)
    with (top / "sparse").open("wb") as out:
        out.truncate(1 << 30)
    (top / "sub").mkdir()
    (top / "sub" / "more").write_bytes(b"y" * 8192)
    got = usage({"paths": [str(top), str(tmp_path / "missing")]})["bytes"]
    assert (1 << 20) + 8192 <= got < (1 << 20) + 8192 + 64 * 4096
