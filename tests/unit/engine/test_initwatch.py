"""The pidfd watch on a container's PID 1, and the kernel guarantee it relies on."""

from __future__ import annotations

import asyncio
import os
import shutil
import signal
import subprocess
import time
from pathlib import Path

import pytest

from runner.engine.initwatch import InitWatch, read_pid


def test_ended_returns_only_after_the_process_exits(tmp_path: Path) -> None:
    """Not ended while the process lives; ended once it is killed."""
    proc = subprocess.Popen(["sleep", "30"])
    pidfile = tmp_path / "pid"
    pidfile.write_text(f"{proc.pid}\n")
    watch = InitWatch.open(pidfile)
    assert watch is not None

    async def scenario() -> tuple[bool, bool]:
        try:
            await asyncio.wait_for(watch.ended(), 0.2)
            early = True
        except TimeoutError:
            early = False
        proc.kill()
        await asyncio.wait_for(watch.ended(), 10)
        return early, True

    try:
        assert asyncio.run(scenario()) == (False, True)
    finally:
        proc.kill()
        proc.wait()
        watch.close()
        watch.close()  # twice is fine


@pytest.mark.parametrize("content", ["", "garbage", "0", "1", "-5"])
def test_unusable_pidfile_gives_none(tmp_path: Path, content: str) -> None:
    """A missing or nonsensical pidfile means "wait for podman instead", never a crash."""
    pidfile = tmp_path / "pid"
    pidfile.write_text(content)
    assert InitWatch.open(pidfile) is None
    assert InitWatch.open(tmp_path / "missing") is None


def _children(pid: int) -> list[int]:
    path = Path(f"/proc/{pid}/task/{pid}/children")
    return [int(p) for p in path.read_text().split()]


@pytest.mark.skipif(shutil.which("unshare") is None, reason="util-linux unshare missing")
def test_namespace_init_ends_only_after_everything_in_it(tmp_path: Path) -> None:
    """What ``stop`` relies on: when a PID namespace's init has ended, nothing in it survives.

    The init leaves behind a child that ignores TERM and HUP (a job trying to
    outlive its container); by the time the init's pidfd is readable the
    kernel has killed and reaped that child too.
    """
    with subprocess.Popen(
        ["unshare", "--user", "--map-root-user", "--pid", "--fork", "sh", "-c",
         "sh -c 'trap \"\" TERM HUP; while :; do sleep 1; done' & echo ready; read _"],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE,
    ) as proc:
        _watch_namespace_init(proc, tmp_path)


def _watch_namespace_init(proc: subprocess.Popen[bytes], tmp_path: Path) -> None:
    try:
        assert proc.stdout is not None and proc.stdout.readline() == b"ready\n"
        (init,) = _children(proc.pid)
        deadline = time.monotonic() + 10
        while not _children(init) and time.monotonic() < deadline:
            time.sleep(0.01)
        (survivor,) = _children(init)
        pidfile = tmp_path / "pid"
        pidfile.write_text(str(init))
        watch = InitWatch.open(pidfile)
        assert watch is not None
        assert Path(f"/proc/{survivor}").exists()
        os.kill(init, signal.SIGKILL)
        asyncio.run(asyncio.wait_for(watch.ended(), 10))
        watch.close()
        assert not Path(f"/proc/{survivor}").exists()
    finally:
        proc.kill()
        proc.wait()


def test_kill_ends_a_stopped_process_and_is_harmless_once_it_has_ended(tmp_path: Path) -> None:
    """``kill`` is SIGKILL through the pidfd: it ends a process that is stopped (as a job
    ptrace-stopping its PID 1 leaves it), which no other signal would reach; afterwards, and
    on a closed watch, it neither raises nor touches any other process."""
    proc = subprocess.Popen(["sh", "-c", "trap '' TERM INT HUP; while :; do sleep 1; done"])
    pidfile = tmp_path / "pid"
    pidfile.write_text(f"{proc.pid}\n")
    watch = InitWatch.open(pidfile)
    assert watch is not None
    try:
        os.kill(proc.pid, signal.SIGSTOP)
        assert watch.kill() is True
        asyncio.run(asyncio.wait_for(watch.ended(), 10))
        assert proc.wait(timeout=10) == -signal.SIGKILL
        assert watch.kill() is True  # ended already: nothing to do
    finally:
        proc.kill()
        proc.wait()
        watch.close()
    assert watch.kill() is False


def test_read_pid_takes_only_a_pid_a_container_can_have(tmp_path: Path) -> None:
    """The one reader of a container's pidfile (the watch, the disk watch, readiness)."""
    pidfile = tmp_path / "pid"
    assert read_pid(pidfile) is None  # not written yet
    for text, expected in (("4242\n", 4242), ("1", None), ("0", None), ("-3", None),
                           ("", None), ("x", None)):
        pidfile.write_text(text)
        assert read_pid(pidfile) == expected, text
