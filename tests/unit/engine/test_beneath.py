"""Opening paths beneath a directory fd without following symlinks, and copying through it."""

from __future__ import annotations

import errno
import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from runner.engine.beneath import components, open_beneath, open_dir, open_parent
from runner.engine.fscopy import copy_beneath


@pytest.fixture
def tree(tmp_path: Path) -> Path:
    """``top/`` with ``d/e/f`` (a file), links in the middle and at the end, and a secret
    outside ``top`` that every link points at."""
    outside = tmp_path / "outside"
    (outside / "e").mkdir(parents=True)
    (outside / "e" / "f").write_text("secret")
    top = tmp_path / "top"
    (top / "d" / "e").mkdir(parents=True)
    (top / "d" / "e" / "f").write_text("inside")
    (top / "mid").symlink_to(outside)  # an intermediate component that is a link
    (top / "d" / "last").symlink_to(outside / "e" / "f")  # a final component that is a link
    (top / "d" / "rel").symlink_to("../../outside/e/f")
    return top


@pytest.fixture
def top_fd(tree: Path) -> Iterator[int]:
    fd = os.open(tree, os.O_RDONLY | os.O_DIRECTORY)
    yield fd
    os.close(fd)


def _read(fd: int) -> str:
    with os.fdopen(fd, "r") as handle:
        return handle.read()


def test_plain_path_opens(top_fd: int) -> None:
    assert _read(open_beneath(top_fd, "d/e/f")) == "inside"
    assert _read(open_beneath(top_fd, "./d//e/./f")) == "inside"


@pytest.mark.parametrize("rel", ["mid/e/f", "mid/e", "d/last", "d/rel", "mid"])
def test_a_symlink_in_any_component_fails(top_fd: int, rel: str) -> None:
    """Intermediate or final, absolute or relative target: the open fails, never leads out."""
    with pytest.raises(OSError) as caught:
        os.close(open_beneath(top_fd, rel))
    assert caught.value.errno in (errno.ELOOP, errno.ENOTDIR)


@pytest.mark.parametrize("rel", ["../outside/e/f", "d/../../outside/e/f", "d/..", ".."])
def test_dot_dot_is_refused(top_fd: int, rel: str) -> None:
    with pytest.raises(ValueError, match=r"'\.\.'"):
        open_beneath(top_fd, rel)


@pytest.mark.parametrize("rel", ["/etc/passwd", "/"])
def test_absolute_is_refused(top_fd: int, rel: str) -> None:
    with pytest.raises(ValueError, match="absolute"):
        open_beneath(top_fd, rel)


@pytest.mark.parametrize("rel", ["", ".", "./", ".//."])
def test_a_path_naming_nothing_is_refused(rel: str) -> None:
    with pytest.raises(ValueError, match="names no file"):
        components(rel)


def test_open_dir_and_parent(top_fd: int) -> None:
    fd = open_dir(top_fd, ["d", "e"])
    try:
        assert os.listdir(fd) == ["f"]
    finally:
        os.close(fd)
    parent, name = open_parent(top_fd, "d/last")
    try:
        assert name == "last"
        assert os.readlink(name, dir_fd=parent).endswith("outside/e/f")  # a link, looked at
    finally:
        os.close(parent)
    with pytest.raises(OSError):
        open_dir(top_fd, ["mid"])
    with pytest.raises(ValueError, match="single file name"):
        open_dir(top_fd, ["d/e"])


def test_a_missing_component_is_enoent(top_fd: int) -> None:
    with pytest.raises(FileNotFoundError):
        open_beneath(top_fd, "d/nope/f")


def test_copy_beneath_keeps_links_and_skips_paths_through_them(tree: Path, top_fd: int,
                                                               tmp_path: Path) -> None:
    """A link is copied as a link; a path whose parent is a link is not there."""
    dest = tmp_path / "dest"
    dest.mkdir()
    assert copy_beneath(top_fd, "mid", str(dest))
    assert copy_beneath(top_fd, "d/last", str(dest))
    assert not copy_beneath(top_fd, "mid/e/f", str(dest))
    assert not copy_beneath(top_fd, "mid/e", str(dest))
    assert not copy_beneath(top_fd, "d/gone", str(dest))
    assert copy_beneath(top_fd, "d/e", str(dest))
    assert (dest / "mid").is_symlink()
    assert (dest / "d" / "last").is_symlink()
    assert (dest / "d" / "e" / "f").read_text() == "inside"
    assert sorted(str(p.relative_to(dest)) for p in dest.rglob("*")) == [
        "d", "d/e", "d/e/f", "d/last", "mid"]


def test_copy_keeps_mode_and_times(tree: Path, top_fd: int, tmp_path: Path) -> None:
    """Metadata is read from the open file, as ``shutil.copystat`` would give it."""
    source = tree / "d" / "e" / "f"
    os.chmod(source, 0o640)
    os.utime(source, ns=(1_000_000_000, 2_000_000_000))
    dest = tmp_path / "dest"
    dest.mkdir()
    copy_beneath(top_fd, "d/e/f", str(dest))
    copied = (dest / "d" / "e" / "f").stat()
    assert copied.st_mode & 0o777 == 0o640
    assert copied.st_mtime_ns == 2_000_000_000
