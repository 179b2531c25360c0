"""Helpers for running the real ``runner exec`` on throwaway projects."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import textwrap
import time
from dataclasses import dataclass
from pathlib import Path

from runner.engine.argv import LABEL_RUN, list_containers_argv

REPO = Path(__file__).resolve().parents[2]


def podman_leftovers() -> list[str]:
    """Containers of any runner run (podman's and buildah's), by name."""
    proc = subprocess.run(list_containers_argv(LABEL_RUN), capture_output=True, text=True,
                          timeout=60, check=True)
    return [line for line in proc.stdout.splitlines() if line.strip()]


@dataclass
class Run:
    """A finished ``runner exec``."""

    code: int
    out: str
    err: str


@dataclass
class Project:
    """A git repository in tmp_path with a pipeline.yml, and how to run it."""

    root: Path
    cache: Path

    def write(self, pipeline: str, **files: str) -> None:
        (self.root / "pipeline.yml").write_text(textwrap.dedent(pipeline))
        for name, text in files.items():
            path = self.root / name
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(text)

    def argv(self, *args: str) -> list[str]:
        return [sys.executable, "-m", "runner", "exec", "--cache-dir", str(self.cache),
                "--color", "never", *args]

    def env(self, **extra: str) -> dict[str, str]:
        return {**os.environ, "PYTHONPATH": str(REPO), **extra}

    def run(self, *args: str, timeout: float = 180, **env: str) -> Run:
        proc = subprocess.run(self.argv(*args), cwd=self.root, env=self.env(**env),
                              capture_output=True, text=True, timeout=timeout, check=False)
        return Run(proc.returncode, proc.stdout, proc.stderr)

    def start(self, *args: str, **env: str) -> subprocess.Popen[str]:
        return subprocess.Popen(self.argv(*args), cwd=self.root, env=self.env(**env),
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)

    @property
    def state(self) -> Path:
        return self.root / ".runner"

    def log(self, job: str) -> str:
        return (self.state / "logs" / f"{job}.log").read_text()



def wait_for_line(proc: subprocess.Popen[str], needle: str, timeout: float = 60) -> list[str]:
    """Read proc's stdout until a line contains ``needle``; returns the lines read."""
    assert proc.stdout is not None
    seen: list[str] = []
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        line = proc.stdout.readline()
        if not line:
            break
        seen.append(line)
        if needle in line:
            return seen
    proc.send_signal(signal.SIGKILL)
    raise AssertionError(f"{needle!r} never appeared; got {seen!r}")


def said(out: str, job: str, text: str) -> bool:
    """Whether ``job`` printed a line starting with ``text`` (prefixes are padded)."""
    return any(re.match(rf"{re.escape(job)}\s*\| {re.escape(text)}", line)
               for line in out.splitlines())
