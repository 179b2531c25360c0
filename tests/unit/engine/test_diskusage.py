"""What the disk limit counts that no walk of the job's dirs can see: deleted files held open."""

from __future__ import annotations

import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

from runner.engine.diskusage import held_deleted_blocks, start_time, tree_blocks

MIB = 1 << 20


def _children(pid: int) -> list[int]:
    return [int(p) for p in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]


@pytest.mark.skipif(shutil.which("unshare") is None, reason="util-linux unshare missing")
def test_deleted_files_held_open_in_the_namespace_count_once(tmp_path: Path) -> None:
    """A PID namespace whose two processes hold one deleted 4 MiB file open: counted once;
    a deleted file this test (outside the namespace) holds open is not counted."""
    script = (f"exec 3>{tmp_path}/big; rm {tmp_path}/big; "
              "dd if=/dev/zero bs=1M count=4 >&3 2>/dev/null; sync; "
              "sh -c 'read _' & echo ready; read _")
    with tempfile.TemporaryFile(dir=tmp_path) as ours, subprocess.Popen(
        ["unshare", "--user", "--map-root-user", "--pid", "--fork", "sh", "-c", script],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE,
    ) as proc:
        try:
            ours.write(b"x" * MIB)
            ours.flush()
            assert proc.stdout is not None and proc.stdout.readline() == b"ready\n"
            (init,) = _children(proc.pid)
            held = held_deleted_blocks(init, set())
            assert 4 * MIB <= held < 5 * MIB
            started = start_time(init)
            assert started is not None
            assert held_deleted_blocks(init, set(), started) == held
            assert held_deleted_blocks(init, set(), started + 1) == 0  # another process
            seen: set[tuple[int, int]] = set()
            assert held_deleted_blocks(init, seen) == held
            assert held_deleted_blocks(init, seen) == 0  # each file once
        finally:
            proc.kill()
            proc.wait()
    assert held_deleted_blocks(proc.pid, set()) == 0  # gone: nothing, no error


def test_tree_blocks_counts_hard_links_once_and_skips_what_is_missing(tmp_path: Path) -> None:
    (tmp_path / "a").write_bytes(b"x" * MIB)
    (tmp_path / "b").hardlink_to(tmp_path / "a")
    total = tree_blocks([str(tmp_path), str(tmp_path / "missing")], set())
    assert MIB <= total < MIB + 64 * 1024


MAP_AND_FORGET = """
import ctypes, os, sys
path = sys.argv[1]
fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
os.write(fd, b"x" * (4 << 20))
os.fsync(fd)
libc = ctypes.CDLL(None, use_errno=True)
libc.mmap.restype = ctypes.c_void_p
libc.mmap.argtypes = [ctypes.c_void_p, ctypes.c_size_t, ctypes.c_int, ctypes.c_int,
                      ctypes.c_int, ctypes.c_long]
assert libc.mmap(None, 4 << 20, 3, 1, fd, 0) not in (None, ctypes.c_void_p(-1).value)
os.close(fd)  # Python's own mmap would keep a dup of the fd; only the mapping is left
os.unlink(path)
print("ready", flush=True)
sys.stdin.readline()
"""


@pytest.mark.skipif(shutil.which("unshare") is None, reason="util-linux unshare missing")
def test_deleted_files_only_mapped_count_too(tmp_path: Path) -> None:
    """A file written, mapped, closed and deleted keeps its blocks while mapped: counted."""
    with subprocess.Popen(
        ["unshare", "--user", "--map-root-user", "--pid", "--fork", sys.executable, "-c",
         MAP_AND_FORGET, str(tmp_path / "big")], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
    ) as proc:
        try:
            assert proc.stdout is not None and proc.stdout.readline() == b"ready\n"
            (init,) = _children(proc.pid)
            assert not list(tmp_path.iterdir())
            assert 4 * MIB <= held_deleted_blocks(init, set()) < 5 * MIB
        finally:
            proc.kill()
            proc.wait()
