"""``hookown``'s walk, run as the user over its own files (re-owning to itself)."""

from __future__ import annotations

import os
import stat
from pathlib import Path

from runner.engine import hookown


def test_tree_is_walked_without_following_links_and_set_id_bits_go(tmp_path: Path) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "tool").write_text("")
    (outside / "tool").chmod(0o4755)
    top = tmp_path / "ws"
    (top / "sub").mkdir(parents=True)
    (top / "sub" / "suid").write_text("")
    (top / "sub" / "suid").chmod(0o6755)
    (top / "to-dir").symlink_to(outside)
    (top / "to-file").symlink_to(outside / "tool")
    count = hookown.own_tree(str(top), os.getuid(), os.getgid())
    assert count == 5  # ws, sub, sub/suid, and the two links themselves
    assert stat.S_IMODE((top / "sub" / "suid").stat().st_mode) == 0o755
    assert stat.S_IMODE((outside / "tool").stat().st_mode) == 0o4755  # never reached


def test_a_top_that_is_a_link_or_missing_is_skipped(tmp_path: Path) -> None:
    real = tmp_path / "real"
    real.mkdir()
    (real / "f").write_text("")
    (real / "f").chmod(0o4755)
    (tmp_path / "link").symlink_to(real)
    assert hookown.own_tree(str(tmp_path / "link"), os.getuid(), os.getgid()) == 0
    assert hookown.own_tree(str(tmp_path / "missing"), os.getuid(), os.getgid()) == 0
    assert stat.S_IMODE((real / "f").stat().st_mode) == 0o4755


def test_serve_sums_every_tree(tmp_path: Path) -> None:
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    (tmp_path / "b" / "f").write_text("")
    uid, gid = os.getuid(), os.getgid()
    assert hookown.serve({"trees": [[str(tmp_path / "a"), uid, gid],
                                    [str(tmp_path / "b"), uid, gid]]}) == {"ok": True,
                                                                          "entries": 3}
