"""``runc.stop_slirps``: a dead run's slirp4netns found by its environment, nothing else (P3).

Real processes: copies of ``sleep`` named slirp4netns, so ``comm`` is what
the kernel shows for the real one.
"""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from runner.engine import runc


@pytest.fixture
def fake_slirp(tmp_path: Path) -> Iterator[Path]:
    binary = tmp_path / "slirp4netns"
    shutil.copy(shutil.which("sleep") or "/bin/sleep", binary)
    yield binary


def _start(binary: str, run: str) -> subprocess.Popen[bytes]:
    return subprocess.Popen([binary, "300"], env={"RUNNER_RUN": run})


def test_only_the_dead_runs_slirp4netns_is_killed(fake_slirp: Path) -> None:
    dead = _start(str(fake_slirp), "20261207-1-dead")
    live = _start(str(fake_slirp), "20261207-1-dead0")  # a live run whose id extends it
    other = _start(shutil.which("sleep") or "/bin/sleep", "20261207-1-dead")  # not slirp4netns
    try:
        assert runc.stop_slirps("20261207-1-dead") == [dead.pid]
        assert dead.wait(timeout=30) == -9
        assert live.poll() is None and other.poll() is None
    finally:
        for proc in (dead, live, other):
            proc.kill()
            proc.wait()
