"""Artifact archives: built only from the tree, extracted without trusting the archive."""

from __future__ import annotations

import gzip
import os
import stat
import zipfile
import zlib
from collections.abc import Sequence
from pathlib import Path

import pytest

from runner.agent import unzip
from runner.agent.archives import (
    MAX_WARNINGS,
    ArchiveError,
    build_gzip,
    build_raw,
    build_zip,
)
from runner.agent.unzip import extract_zip
from runner.errors import Fault, RunnerError

MiB = 1 << 20


def _tree(root: Path) -> Path:
    """A collected artifacts tree with files, modes, an empty dir and symlinks."""
    tree = root / "tree"
    (tree / "out" / "sub").mkdir(parents=True)
    (tree / "out" / "empty").mkdir()
    (tree / "out" / "a.txt").write_text("a")
    (tree / "out" / "a.o").write_text("object")
    (tree / "out" / "sub" / "b.txt").write_text("b")
    (tree / "out" / "sub" / "c.o").write_text("object")
    run = tree / "bin" / "run.sh"
    run.parent.mkdir()
    run.write_text("#!/bin/sh\necho hi\n")
    run.chmod(0o755)
    (tree / "top.txt").write_text("top")
    return tree


def _names(archive: Path) -> list[str]:
    with zipfile.ZipFile(archive) as zipped:
        return sorted(info.filename for info in zipped.infolist())


def _files(root: Path) -> dict[str, bytes]:
    """Every file and symlink under ``root`` (symlinks as '-> target')."""
    found: dict[str, bytes] = {}
    for dirpath, dirnames, filenames in os.walk(root):
        for name in filenames + dirnames:
            path = Path(dirpath) / name
            rel = path.relative_to(root).as_posix()
            if path.is_symlink():
                found[rel] = b"-> " + os.fsencode(os.readlink(path))
            elif path.is_file():
                found[rel] = path.read_bytes()
    return found


def _zip(path: Path, entries: Sequence[tuple[str, bytes, int | None]]) -> Path:
    """A zip with exactly these (name, data, unix mode) entries, in this order.

    A mode of None makes an MS-DOS entry (no Unix mode at all).
    """
    with zipfile.ZipFile(path, "w") as zipped:
        for name, data, mode in entries:
            info = zipfile.ZipInfo(name)
            info.compress_type = zipfile.ZIP_DEFLATED
            info.create_system = 0 if mode is None else 3
            info.external_attr = 0x20 if mode is None else mode << 16
            zipped.writestr(info, data)
    return path


FILE = stat.S_IFREG | 0o644
LINK = stat.S_IFLNK | 0o777
DIR = stat.S_IFDIR | 0o755


# --- building zips -------------------------------------------------------------


def test_zip_round_trip_keeps_content_and_modes(tmp_path: Path) -> None:
    tree = _tree(tmp_path)
    dest = tmp_path / "a.zip"
    assert build_zip(tree, ["out", "bin/*.sh", "top.txt"], [], dest) == []
    assert "out/empty/" in _names(dest)
    unpacked = tmp_path / "unpacked"
    assert extract_zip(dest, unpacked, max_bytes=MiB) == []
    assert _files(unpacked) == _files(tree)
    assert (unpacked / "out" / "empty").is_dir()
    assert stat.S_IMODE((unpacked / "bin" / "run.sh").stat().st_mode) == 0o755
    assert stat.S_IMODE((unpacked / "top.txt").stat().st_mode) == 0o644


def test_zip_entries_are_relative_posix_paths_with_unix_modes(tmp_path: Path) -> None:
    tree = _tree(tmp_path)
    dest = tmp_path / "a.zip"
    build_zip(tree, ["bin"], [], dest)
    with zipfile.ZipFile(dest) as zipped:
        infos = {info.filename: info for info in zipped.infolist()}
    assert sorted(infos) == ["bin/", "bin/run.sh"]
    script = infos["bin/run.sh"]
    assert script.create_system == 3
    assert script.compress_type == zipfile.ZIP_DEFLATED
    assert script.external_attr >> 16 == stat.S_IFREG | 0o755


def test_zip_double_star_and_directory_patterns(tmp_path: Path) -> None:
    tree = _tree(tmp_path)
    dest = tmp_path / "a.zip"
    build_zip(tree, ["**/*.txt"], [], dest)
    assert [n for n in _names(dest) if not n.endswith("/")] == [
        "out/a.txt", "out/sub/b.txt", "top.txt"]
    build_zip(tree, ["out/sub/"], [], dest)
    assert _names(dest) == ["out/", "out/sub/", "out/sub/b.txt", "out/sub/c.o"]


def test_zip_exclude_is_per_path(tmp_path: Path) -> None:
    """exclude drops matching paths; an excluded directory keeps its non-excluded files."""
    tree = _tree(tmp_path)
    dest = tmp_path / "a.zip"
    build_zip(tree, ["out"], ["out/**/*.o", "out/*.o"], dest)
    assert _names(dest) == ["out/", "out/a.txt", "out/empty/", "out/sub/", "out/sub/b.txt"]
    build_zip(tree, ["out"], ["out/sub"], dest)
    assert "out/sub/" not in _names(dest)
    assert "out/sub/b.txt" in _names(dest)
    build_zip(tree, ["out"], ["out/sub/**"], dest)
    assert [name for name in _names(dest) if name.startswith("out/sub")] == ["out/sub/"]


def test_zip_unmatched_patterns_and_nothing_selected(tmp_path: Path) -> None:
    tree = _tree(tmp_path)
    dest = tmp_path / "a.zip"
    assert build_zip(tree, ["top.txt", "nope/*", "missing"], [], dest) == ["nope/*", "missing"]
    assert _names(dest) == ["top.txt"]
    empty = tmp_path / "empty.zip"
    assert build_zip(tree, ["nope"], [], empty) == ["nope"]
    assert not empty.exists()
    assert build_zip(tree, ["top.txt"], ["top.txt"], empty) == []
    assert not empty.exists()
    assert build_zip(tmp_path / "no-such-tree", ["**"], [], empty) == ["**"]
    assert not empty.exists()
    assert not [p for p in tmp_path.iterdir() if p.name.endswith(".partial")]


def test_zip_symlinks_are_stored_as_symlinks_and_never_followed(tmp_path: Path) -> None:
    tree = _tree(tmp_path)
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "secret").write_text("secret")
    (tree / "filelink").symlink_to(outside / "secret")
    (tree / "dirlink").symlink_to(outside)
    (tree / "out" / "rel").symlink_to("a.txt")
    dest = tmp_path / "a.zip"
    build_zip(tree, ["**"], [], dest)
    with zipfile.ZipFile(dest) as zipped:
        infos = {info.filename: info for info in zipped.infolist()}
        for name, target in [("filelink", outside / "secret"), ("dirlink", outside),
                             ("out/rel", Path("a.txt"))]:
            assert stat.S_ISLNK(infos[name].external_attr >> 16), name
            assert zipped.read(name) == os.fsencode(target)
        assert not any(name.startswith("dirlink/") for name in infos)
        assert all(zipped.read(name) != b"secret" for name in infos)


def test_zip_untracked_paths(tmp_path: Path) -> None:
    """Untracked paths are added (excludes apply); ones leaving the tree are ignored."""
    tree = _tree(tmp_path)
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "x").write_text("secret")
    (tree / "link").symlink_to(outside)
    dest = tmp_path / "a.zip"
    untracked = ["out/sub/b.txt", "bin", "out/a.o", "../outside/x", "link/x", "/etc/passwd", "gone"]
    assert build_zip(tree, [], ["**/*.o"], dest, untracked=untracked) == []
    assert _names(dest) == ["bin/", "bin/run.sh", "out/", "out/sub/", "out/sub/b.txt"]


def test_special_files_are_left_out(tmp_path: Path) -> None:
    tree = _tree(tmp_path)
    os.mkfifo(tree / "fifo")
    dest = tmp_path / "a.zip"
    build_zip(tree, ["fifo", "top.txt"], [], dest)
    assert _names(dest) == ["top.txt"]


def test_zip_replaces_existing_dest(tmp_path: Path) -> None:
    tree = _tree(tmp_path)
    dest = tmp_path / "a.zip"
    dest.write_text("old")
    build_zip(tree, ["top.txt"], [], dest)
    assert _names(dest) == ["top.txt"]


# --- gzip and raw ---------------------------------------------------------------


def _gzip_headers(data: bytes) -> list[tuple[bytes, bytes]]:
    """(FNAME, FCOMMENT) of every member of a multi-member gzip stream."""
    headers = []
    while data:
        assert data[:3] == b"\x1f\x8b\x08"
        flags = data[3]
        assert flags & 0x18 == 0x18
        name_end = data.index(b"\0", 10)
        comment_end = data.index(b"\0", name_end + 1)
        headers.append((data[10:name_end], data[name_end + 1 : comment_end]))
        member = zlib.decompressobj(wbits=31)
        member.decompress(data)
        assert member.eof
        data = member.unused_data
    return headers


def test_gzip_is_multi_member_with_names(tmp_path: Path) -> None:
    tree = _tree(tmp_path)
    (tree / "out" / "link.txt").symlink_to("a.txt")
    dest = tmp_path / "junit.gz"
    assert build_gzip(tree, ["**/*.txt", "nothing.xml"], ["top.txt"], dest) == ["nothing.xml"]
    data = dest.read_bytes()
    assert gzip.decompress(data) == b"ab"
    assert _gzip_headers(data) == [(b"a.txt", b"out/a.txt"), (b"b.txt", b"out/sub/b.txt")]


def test_gzip_of_empty_file_and_nothing(tmp_path: Path) -> None:
    tree = _tree(tmp_path)
    (tree / "empty.xml").write_bytes(b"")
    dest = tmp_path / "r.gz"
    build_gzip(tree, ["empty.xml"], [], dest)
    assert gzip.decompress(dest.read_bytes()) == b""
    none = tmp_path / "none.gz"
    assert build_gzip(tree, ["x"], [], none) == ["x"]
    assert not none.exists()


def test_raw_copies_the_single_file(tmp_path: Path) -> None:
    tree = _tree(tmp_path)
    dest = tmp_path / "raw"
    assert build_raw(tree, ["bin/run.sh"], [], dest) == []
    assert dest.read_bytes() == (tree / "bin" / "run.sh").read_bytes()
    assert build_raw(tree, ["bin"], [], dest) == []  # a directory holding one file is fine
    none = tmp_path / "none"
    assert build_raw(tree, ["x"], [], none) == ["x"]
    assert not none.exists()


def test_raw_refuses_more_than_one_file(tmp_path: Path) -> None:
    tree = _tree(tmp_path)
    with pytest.raises(ArchiveError, match="exactly one file, but its paths select 2") as caught:
        build_raw(tree, ["**/*.txt"], ["top.txt"], tmp_path / "raw")
    assert isinstance(caught.value, RunnerError)
    assert caught.value.fault is Fault.JOB
    assert not (tmp_path / "raw").exists()


# --- extracting ----------------------------------------------------------------


def test_zip_slip_entries_are_skipped(tmp_path: Path) -> None:
    dest = tmp_path / "dest" / "deep"
    archive = _zip(tmp_path / "a.zip", [
        ("../evil", b"x", FILE),
        ("/abs-evil", b"x", FILE),
        ("a/../../evil2", b"x", FILE),
        ("../", b"", DIR),
        ("./ok", b"ok", FILE),
        ("fine/./x", b"x", FILE),
    ])
    warnings = extract_zip(archive, dest, max_bytes=MiB)
    assert len(warnings) == 4
    assert all("absolute or leaves the extraction directory" in w for w in warnings)
    assert "'../evil'" in warnings[0]
    assert _files(tmp_path / "dest") == {"deep/ok": b"ok", "deep/fine/x": b"x"}
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.zip", "dest"]


def test_symlink_then_file_through_it_never_escapes(tmp_path: Path) -> None:
    """An archive that plants a symlink and then writes through it writes nothing outside."""
    outside = tmp_path / "outside"
    outside.mkdir()
    dest = tmp_path / "dest"
    archive = _zip(tmp_path / "a.zip", [
        ("link", os.fsencode(outside), LINK),
        ("link/pwned", b"x", FILE),
        ("inner", b"sub", LINK),
        ("inner/y", b"y", FILE),
        ("sub/", b"", DIR),
    ])
    warnings = extract_zip(archive, dest, max_bytes=MiB)
    assert list(outside.iterdir()) == []
    # The file entries ran first and made real directories; the links found them there.
    assert (dest / "link" / "pwned").read_bytes() == b"x"
    assert not (dest / "link").is_symlink()
    assert not (dest / "inner").is_symlink()
    assert any("'link'" in w and "points outside" in w for w in warnings)
    assert any("'inner'" in w and "directory of that name" in w for w in warnings)


def test_symlinks_already_in_dest_are_never_written_through(tmp_path: Path) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "file").write_text("keep")
    dest = tmp_path / "dest"
    dest.mkdir()
    (dest / "dirlink").symlink_to(outside)
    (dest / "filelink").symlink_to(outside / "file")
    archive = _zip(tmp_path / "a.zip", [
        ("dirlink/x", b"x", FILE),
        ("dirlink/d/", b"", DIR),
        ("filelink", b"new", FILE),
    ])
    warnings = extract_zip(archive, dest, max_bytes=MiB)
    assert sorted(p.name for p in outside.iterdir()) == ["file"]
    assert (outside / "file").read_text() == "keep"
    # The link itself is replaced by the file, its target untouched.
    assert not (dest / "filelink").is_symlink()
    assert (dest / "filelink").read_bytes() == b"new"
    assert len(warnings) == 2
    assert all("'dirlink' on its path is a symlink" in w for w in warnings)


@pytest.mark.parametrize(("name", "target", "kept"), [
    ("a/up", "../x", True),
    ("a/b/up2", "../../x", True),
    ("rel", "x/y", True),
    ("dot", ".", True),
    ("top", "../x", False),
    ("a/far", "../../x", False),
    ("abs", "/etc/passwd", False),
    ("sneaky", "dot/../escape", False),
    ("empty", "", False),
])
def test_symlink_targets_must_stay_inside(tmp_path: Path, name: str, target: str,
                                          kept: bool) -> None:
    dest = tmp_path / "dest"
    archive = _zip(tmp_path / "a.zip", [(name, target.encode(), LINK)])
    warnings = extract_zip(archive, dest, max_bytes=MiB)
    link = dest / name
    assert link.is_symlink() is kept
    if kept:
        assert os.readlink(link) == target
        assert warnings == []
    else:
        assert len(warnings) == 1
        assert "points outside" in warnings[0]


def test_existing_directory_is_not_replaced_by_a_file(tmp_path: Path) -> None:
    dest = tmp_path / "dest"
    (dest / "d").mkdir(parents=True)
    (dest / "d" / "keep").write_text("k")
    archive = _zip(tmp_path / "a.zip", [("d", b"x", FILE)])
    warnings = extract_zip(archive, dest, max_bytes=MiB)
    assert (dest / "d" / "keep").read_text() == "k"
    assert warnings == ["Skipped artifact entry 'd': a directory of that name is already there."]


def test_modes_keep_exec_bit_and_drop_setuid(tmp_path: Path) -> None:
    dest = tmp_path / "dest"
    archive = _zip(tmp_path / "a.zip", [
        ("run", b"#!", stat.S_IFREG | stat.S_ISUID | 0o755),
        ("plain", b"p", stat.S_IFREG | 0o640),
        ("nomode", b"n", None),
        ("fifo", b"", stat.S_IFIFO | 0o644),
    ])
    warnings = extract_zip(archive, dest, max_bytes=MiB)
    assert stat.S_IMODE((dest / "run").stat().st_mode) == 0o755
    assert stat.S_IMODE((dest / "plain").stat().st_mode) == 0o640
    assert stat.S_IMODE((dest / "nomode").stat().st_mode) == 0o644
    assert not (dest / "fifo").exists()
    assert warnings == ["Skipped artifact entry 'fifo': it is not a file, directory or symlink."]


def test_zip_bomb_refused_by_claimed_size(tmp_path: Path) -> None:
    archive = _zip(tmp_path / "bomb.zip", [("zeros", bytes(8 * MiB), FILE)])
    assert archive.stat().st_size < 100_000
    with pytest.raises(ArchiveError, match="unpacks to 8388608 bytes") as caught:
        extract_zip(archive, tmp_path / "dest", max_bytes=MiB)
    assert caught.value.fault is Fault.JOB
    assert not (tmp_path / "dest").exists()


def test_zip_bomb_cut_at_max_bytes_when_headers_lie(tmp_path: Path,
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    """Bytes actually written are counted: with the header check blinded, the cut still holds."""
    monkeypatch.setattr(unzip, "_claimed_size", lambda infos: 0)
    archive = _zip(tmp_path / "bomb.zip", [
        ("first", bytes(MiB // 2), FILE),
        ("zeros", bytes(8 * MiB), FILE),
    ])
    dest = tmp_path / "dest"
    with pytest.raises(ArchiveError, match=r"more than 1048576 bytes.*'zeros'"):
        extract_zip(archive, dest, max_bytes=MiB)
    assert _files(dest) == {"first": bytes(MiB // 2)}  # the cut-off file is removed


def test_corrupt_archives(tmp_path: Path) -> None:
    garbage = tmp_path / "garbage.zip"
    garbage.write_bytes(os.urandom(1000))
    with pytest.raises(ArchiveError, match="not a valid zip"):
        extract_zip(garbage, tmp_path / "d1", max_bytes=MiB)

    good = _zip(tmp_path / "good.zip", [("f", b"hello world " * 100, FILE)])
    truncated = tmp_path / "truncated.zip"
    truncated.write_bytes(good.read_bytes()[:-30])
    with pytest.raises(ArchiveError, match="not a valid zip"):
        extract_zip(truncated, tmp_path / "d2", max_bytes=MiB)

    data = bytearray(good.read_bytes())
    offset = data.index(b"f") + 1  # the local header's name, then the deflated data
    data[offset + 5] ^= 0xFF
    flipped = tmp_path / "flipped.zip"
    flipped.write_bytes(bytes(data))
    with pytest.raises(ArchiveError, match="corrupt at 'f'"):
        extract_zip(flipped, tmp_path / "d3", max_bytes=MiB)
    assert not (tmp_path / "d3" / "f").exists()


def test_overlong_names_are_skipped(tmp_path: Path) -> None:
    archive = _zip(tmp_path / "a.zip", [("x" * 300, b"x", FILE), ("ok", b"ok", FILE)])
    warnings = extract_zip(archive, tmp_path / "d", max_bytes=MiB)
    assert _files(tmp_path / "d") == {"ok": b"ok"}
    assert len(warnings) == 1
    assert "too long" in warnings[0]


def test_file_under_a_file_is_skipped(tmp_path: Path) -> None:
    archive = _zip(tmp_path / "a.zip", [("f", b"1", FILE), ("f/g", b"2", FILE)])
    warnings = extract_zip(archive, tmp_path / "d", max_bytes=MiB)
    assert _files(tmp_path / "d") == {"f": b"1"}
    assert warnings == ["Skipped artifact entry 'f/g': 'f' on its path is a symlink or a file, "
                        "not a directory."]


def test_warnings_are_capped(tmp_path: Path) -> None:
    entries = [(f"../evil{i}", b"", FILE) for i in range(MAX_WARNINGS + 7)]
    warnings = extract_zip(_zip(tmp_path / "a.zip", entries), tmp_path / "d", max_bytes=MiB)
    assert len(warnings) == MAX_WARNINGS + 1
    assert warnings[-1] == "... and 7 more entries were skipped."
