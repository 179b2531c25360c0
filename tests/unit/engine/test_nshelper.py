"""File copying in the namespace helper (the parts that need no namespace)."""

from __future__ import annotations

import os

import pytest

from runner.engine.nshelper import Budget, _copy_entry


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
