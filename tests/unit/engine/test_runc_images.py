"""Reading podman's image records for the runc engine (``runc.parse_inspect``, the cache)."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import pytest

from runner.engine import runc
from runner.engine.nshelper import mounts_under
from runner.errors import EngineError


def inspect_text(root: Path, user: str = "") -> str:
    data = {"UpperDir": f"{root}/overlay/top/diff", "LowerDir": f"{root}/overlay/base/diff"}
    return json.dumps([{"Id": "abc", "GraphDriver": {"Name": "overlay", "Data": data},
                        "Config": {"Env": ["PATH=/bin"], "User": user}}])


def test_parse_inspect_gives_layers_top_first(tmp_path: Path) -> None:
    info = runc.parse_inspect(inspect_text(tmp_path, "1000"))
    assert info == runc.ImageInfo("abc", (tmp_path / "overlay/top/diff",
                                          tmp_path / "overlay/base/diff"), ("PATH=/bin",), "1000")
    assert not info.runs_as_root()
    assert runc.parse_inspect(inspect_text(tmp_path, "root")).runs_as_root()


def test_parse_inspect_refuses_other_drivers_and_garbage() -> None:
    doc = [{"Id": "a", "GraphDriver": {"Name": "vfs", "Data": {}}}]
    with pytest.raises(EngineError, match="not overlay"):
        runc.parse_inspect(json.dumps(doc))
    with pytest.raises(EngineError, match="unexpected"):
        runc.parse_inspect("[]")


def test_cached_info_is_used_while_the_store_still_lists_the_same_id(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    store = tmp_path / "storage"
    for layer in ("top", "base"):
        (store / "overlay" / layer / "diff").mkdir(parents=True)
    (store / "overlay-images").mkdir()
    index = store / "overlay-images" / "images.json"
    index.write_text(json.dumps([{"id": "abc", "names": ["localhost/img:latest"]}]))
    calls: list[list[str]] = []

    async def fake_run(argv: list[str]) -> tuple[int, str]:
        calls.append(argv)
        return 0, inspect_text(store)

    monkeypatch.setattr(runc, "run_captured", fake_run)
    cache = tmp_path / "cache"
    first = asyncio.run(runc.image_info("localhost/img", cache))
    again = asyncio.run(runc.image_info("localhost/img:latest", cache))
    assert first == again and first is not None and len(calls) == 1
    index.write_text(json.dumps([{"id": "new", "names": ["localhost/img:latest"]}]))
    asyncio.run(runc.image_info("localhost/img", cache))
    assert len(calls) == 2  # the tag moved: podman is asked again


def test_image_info_is_none_when_podman_has_no_such_image(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    async def fake_run(_argv: list[str]) -> tuple[int, str]:
        return 125, "Error: no such image"

    monkeypatch.setattr(runc, "run_captured", fake_run)
    assert asyncio.run(runc.image_info("localhost/none", tmp_path)) is None


def test_mounts_under_lists_deepest_first_and_decodes_spaces() -> None:
    info = ("36 1 0:1 / / rw - ext4 /dev/vda rw\n"
            "70 63 0:40 / /w/run/job.1.rootfs/merged rw - fuse x rw\n"
            "71 63 0:41 / /w/run/a\\040b/merged rw - fuse x rw\n"
            "72 63 0:42 / /w/runner rw - tmpfs x rw\n")
    assert mounts_under(info, "/w/run") == ["/w/run/job.1.rootfs/merged", "/w/run/a b/merged"]
