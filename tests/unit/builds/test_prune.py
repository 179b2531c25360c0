"""Which tenant stores ``runner prune`` removes: old and not in use, nothing else."""

from __future__ import annotations

import asyncio
import fcntl
import os
import subprocess
import time
from pathlib import Path

import pytest

from runner.build import projects
from runner.build import prune as prune_module
from runner.build.prune import last_used, prune
from runner.build.prunecaches import prune_caches
from runner.build.storage import tenant_store
from runner.engine.argv import REMOVE_STORE_SCRIPT, StoreSpec, remove_store_argv

DAY = 86400.0


def _store(stores: Path, runroots: Path, name: str, age_days: float, now: float) -> StoreSpec:
    store = tenant_store(stores, runroots, name)
    images = store.root / "overlay-images" / "images.json"
    images.parent.mkdir(parents=True)
    images.write_text("[]")
    for path in (images, store.root):
        os.utime(path, (now - age_days * DAY, now - age_days * DAY))
    return store


def test_remove_store_argv_detaches_mounts_under_the_store_then_removes_both_roots() -> None:
    store = StoreSpec(Path("/d/builds/t1"), Path("/run/builds/t1"))
    assert remove_store_argv(store) == [
        "podman", "unshare", "sh", "-c", REMOVE_STORE_SCRIPT, "sh", "/d/builds/t1",
        "/d/builds/t1", "/run/builds/t1"]


def test_remove_store_script_picks_mounts_under_the_store_only(tmp_path: Path) -> None:
    """The script's mount selection, run on a made-up mountinfo (umount and rm stubbed)."""
    mountinfo = tmp_path / "mountinfo"
    mountinfo.write_text(
        "87 65 254:0 / /d/builds/t1/overlay rw - ext4 /dev/vda rw\n"
        "88 65 0:39 / /d/builds/t1/overlay-containers/c/userdata/shm rw - tmpfs shm rw\n"
        "89 65 254:0 / /d/builds/t10/overlay rw - ext4 /dev/vda rw\n"
        "90 65 254:0 / /d/builds/t1 rw - ext4 /dev/vda rw\n")
    script = (REMOVE_STORE_SCRIPT.replace("/proc/self/mountinfo", str(mountinfo))
              .replace("umount -l", "echo umount").replace("rm -rf --", "echo rm"))
    done = subprocess.run(["sh", "-c", script, "sh", "/d/builds/t1", "/d/builds/t1", "/r/t1"],
                          capture_output=True, text=True, check=True, timeout=30)
    assert done.stdout.splitlines() == [
        "umount /d/builds/t1/overlay-containers/c/userdata/shm", "umount /d/builds/t1/overlay",
        "umount /d/builds/t1", "rm /d/builds/t1 /r/t1"]


def test_only_old_stores_nobody_holds_are_removed(monkeypatch: pytest.MonkeyPatch,
                                                  tmp_path: Path) -> None:
    now = 1_800_000_000.0
    stores, runroots = tmp_path / "stores", tmp_path / "run"
    old = _store(stores, runroots, "aaaaaaaaaaaaaaaa", 40, now)
    busy = _store(stores, runroots, "bbbbbbbbbbbbbbbb", 40, now)
    fresh = _store(stores, runroots, "cccccccccccccccc", 2, now)
    assert last_used(old) == now - 40 * DAY
    removed: list[StoreSpec] = []

    async def remove_store(store: StoreSpec) -> None:
        removed.append(store)

    monkeypatch.setattr(prune_module.podman, "remove_store", remove_store)
    holder = os.open(stores / "bbbbbbbbbbbbbbbb.lock", os.O_RDWR | os.O_CREAT, 0o600)
    fcntl.flock(holder, fcntl.LOCK_SH)  # a job of that project is running
    try:
        dry = asyncio.run(prune(stores, runroots, 30 * DAY, now, dry_run=True))
        assert [(f.store, f.verdict) for f in dry] == [
            (old, "would remove"), (busy, "in use"), (fresh, "recent")]
        assert removed == []
        done = asyncio.run(prune(stores, runroots, 30 * DAY, now))
    finally:
        os.close(holder)
    assert [(f.store, f.verdict) for f in done] == [
        (old, "removed"), (busy, "in use"), (fresh, "recent")]
    assert removed == [old]
    assert not (stores / "aaaaaaaaaaaaaaaa.lock").exists()


def test_caches_of_old_projects_go_with_their_label(tmp_path: Path) -> None:
    """A project's caches go when neither they nor a run of the project changed for long."""
    now = time.time()
    root = tmp_path / "cache"
    for tenant, days in (("old", 40), ("ran", 40), ("new", 1)):
        (root / tenant / "key").mkdir(parents=True)
        (root / tenant / "key" / "f").write_bytes(b"x" * 8192)
        (root / tenant / "key").chmod(0o555)  # read-only, as a job may have cached it
        projects.record(root, tenant, f"/src/{tenant}")
        for path in (root / tenant / "key", root / tenant, projects.label_file(root, tenant)):
            os.utime(path, (now - days * DAY, now - days * DAY))
    projects.record(root, "ran", "/src/ran")  # a run today, though it saved nothing
    dry = prune_caches(root, 30 * DAY, now, dry_run=True)
    assert [(f.path.name, f.verdict, f.project) for f in dry] == [
        ("new", "recent", "/src/new"), ("old", "would remove", "/src/old"),
        ("ran", "recent", "/src/ran")]
    assert dry[1].size >= 8192
    done = prune_caches(root, 30 * DAY, now)
    assert [f.verdict for f in done] == ["recent", "removed", "recent"]
    assert sorted(p.name for p in root.iterdir()) == ["new", "new.project", "ran",
                                                      "ran.project"]


def test_store_listing_names_the_project_and_size(monkeypatch: pytest.MonkeyPatch,
                                                  tmp_path: Path) -> None:
    now = 1_800_000_000.0
    stores, runroots = tmp_path / "stores", tmp_path / "run"
    _store(stores, runroots, "aaaaaaaaaaaaaaaa", 40, now)
    projects.record(stores, "aaaaaaaaaaaaaaaa", "/src/a")
    found = asyncio.run(prune(stores, runroots, 30 * DAY, now, dry_run=True))
    assert [(f.project, f.verdict) for f in found] == [("/src/a", "would remove")]
    assert found[0].size > 0
