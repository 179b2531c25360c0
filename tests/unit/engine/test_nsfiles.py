"""Mid-job file work of the namespace helper, on this process's own root (``/proc/<pid>/root``
of our own pid is ``/``), so each rule is checked without a container."""

from __future__ import annotations

import base64
import hashlib
import os
from pathlib import Path

import pytest

from runner.engine.nsfiles import gather, hash_files, put, read, write

ME = {"pid": os.getpid(), "uid": os.getuid(), "gid": os.getgid()}


def test_gather_copies_links_as_links_and_honours_excludes(tmp_path: Path) -> None:
    base = tmp_path / "ws"
    (base / "dist" / "sub").mkdir(parents=True)
    (base / "dist" / "a.js").write_text("a")
    (base / "dist" / "a.map").write_text("map")
    (base / "dist" / "sub" / "b.js").write_text("b")
    (base / "dist" / ".hidden").write_text("h")
    (base / "dist" / "escape").symlink_to("/etc")
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "secret").write_text("SECRET")
    (base / "dist" / "linkdir").symlink_to(outside)
    dest = tmp_path / "dest"
    reply = gather({**ME, "base": str(base), "include": ["dist"], "exclude": ["dist/*.map"],
                    "dest": str(dest), "hidden": False})
    assert reply["files"] == ["dist/a.js", "dist/escape", "dist/linkdir", "dist/sub/b.js"]
    assert (dest / "dist" / "escape").is_symlink()
    assert (dest / "dist" / "linkdir").is_symlink()
    assert (dest / "dist" / "linkdir").readlink() == outside  # the link, not what it names
    assert not (dest / "dist" / ".hidden").exists()


def test_gather_takes_a_base_that_is_a_link_as_the_link(tmp_path: Path) -> None:
    real = tmp_path / "real"
    real.mkdir()
    (real / "f").write_text("x")
    (tmp_path / "link").symlink_to(real)
    reply = gather({**ME, "base": str(tmp_path / "link"), "include": ["**"],
                    "dest": str(tmp_path / "dest")})
    assert reply["files"] == ["link"]  # the link itself, as a link: never what it names
    assert (tmp_path / "dest" / "link").is_symlink()
    assert not (tmp_path / "dest" / "f").exists()


def test_put_refuses_to_follow_a_link_on_the_way(tmp_path: Path) -> None:
    src = tmp_path / "src"
    src.mkdir()
    (src / "file").write_text("payload")
    victim = tmp_path / "victim"
    victim.mkdir()
    ws = tmp_path / "ws"
    ws.mkdir()
    (ws / "got").symlink_to(victim)
    with pytest.raises(OSError):
        put({**ME, "src": str(src), "base": str(ws / "got" / "deeper")})
    assert list(victim.iterdir()) == []
    put({**ME, "src": str(src), "base": str(ws / "fresh" / "dir")})
    assert (ws / "fresh" / "dir" / "file").read_text() == "payload"


def test_put_replaces_a_planted_link_file_instead_of_writing_through_it(tmp_path: Path) -> None:
    src = tmp_path / "src"
    src.mkdir()
    (src / "file").write_text("payload")
    target = tmp_path / "target"
    target.write_text("original")
    ws = tmp_path / "ws"
    ws.mkdir()
    (ws / "file").symlink_to(target)
    put({**ME, "src": str(src), "base": str(ws)})
    assert target.read_text() == "original"
    assert not (ws / "file").is_symlink()
    assert (ws / "file").read_text() == "payload"


def test_hash_files_is_a_digest_of_digests_in_path_order(tmp_path: Path) -> None:
    (tmp_path / "b").mkdir()
    (tmp_path / "a.lock").write_text("one")
    (tmp_path / "b" / "c.lock").write_text("two")
    (tmp_path / "b" / "skip.txt").write_text("no")
    (tmp_path / "link.lock").symlink_to(tmp_path / "a.lock")
    os.mkfifo(tmp_path / "fifo.lock")
    total = hashlib.sha256()
    for data in (b"one", b"two"):
        total.update(hashlib.sha256(data).digest())
    reply = hash_files({**ME, "base": str(tmp_path), "include": ["**/*.lock"]})
    assert reply["hash"] == total.hexdigest()
    assert hash_files({**ME, "base": str(tmp_path), "include": ["*.none"]})["hash"] == ""


def test_write_then_read_caps_and_never_follows(tmp_path: Path) -> None:
    write({**ME, "dir": str(tmp_path), "name": "s1", "files": {"env": "", "out": ""}})
    with pytest.raises(FileExistsError):
        write({**ME, "dir": str(tmp_path), "name": "s1", "files": {}})
    (tmp_path / "s1" / "env").write_text("A=1\n" * 10)
    secret = tmp_path / "secret"
    secret.write_text("TOKEN=x\n")
    (tmp_path / "s1" / "out").unlink()
    (tmp_path / "s1" / "out").symlink_to(secret)
    reply = read({"dir": str(tmp_path), "name": "s1", "names": ["env", "out", "gone"],
                  "max_bytes": 8})
    files = {k: base64.b64decode(v) for k, v in reply["files"].items()}
    assert files == {"env": b"A=1\nA=1\n", "out": b"", "gone": b""}
    assert reply["over"] == ["env"]
    assert not (tmp_path / "s1").exists()


def test_gather_of_a_single_file_takes_it_under_its_directory(tmp_path: Path) -> None:
    """upload-artifact of ``path: report.txt``: the artifact holds ``report.txt`` itself."""
    (tmp_path / "ws").mkdir()
    (tmp_path / "ws" / "report.txt").write_text("r")
    reply = gather({**ME, "base": str(tmp_path / "ws" / "report.txt"), "include": ["**"],
                    "dest": str(tmp_path / "dest")})
    assert reply == {"ok": True, "files": ["report.txt"], "base": str(tmp_path / "ws")}
    assert (tmp_path / "dest" / "report.txt").read_text() == "r"
