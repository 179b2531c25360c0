"""Running the real ``runner agent`` against the GitLab fake, and the repositories jobs fetch."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from tests.agent.fake_gitlab import FakeGitLab
from tests.agent.payloads import job_payload

REPO = Path(__file__).resolve().parents[2]
IMAGE = "localhost/busybox:latest"


@dataclass
class GitRepo:
    """A local repository the jobs fetch (``repo_url`` is its path, as file:// needs none)."""

    path: Path
    sha: str


def make_repo(path: Path, files: dict[str, str] | None = None) -> GitRepo:
    """A repository with one commit on ``main`` holding ``files``."""
    path.mkdir(parents=True)
    env = {**os.environ, "GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@example.com",
           "GIT_COMMITTER_NAME": "t", "GIT_COMMITTER_EMAIL": "t@example.com"}

    def git(*args: str) -> str:
        return subprocess.run(["git", "-C", str(path), *args], env=env, check=True,
                              capture_output=True, text=True, timeout=30).stdout.strip()

    git("init", "-q", "-b", "main")
    for name, text in (files or {"README": "hello\n"}).items():
        target = path / name
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(text)
    git("add", "-A")
    git("commit", "-q", "-m", "first")
    return GitRepo(path, git("rev-parse", "HEAD"))


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class AgentProcess:
    """``runner agent --config FILE`` in a subprocess, its log kept in a file."""

    def __init__(self, gl: FakeGitLab, work: Path, *, concurrent: int = 2,
                 shutdown_timeout: float = 30, check_interval: float = 0.2,
                 extra: dict[str, Any] | None = None) -> None:
        self.work = work
        self.data = work / "data"
        self.config = work / "agent.yml"
        self.log_path = work / "agent.log"
        self.metrics_port = free_port()
        doc: dict[str, Any] = {
            "concurrent": concurrent, "check_interval": check_interval,
            "shutdown_timeout": shutdown_timeout, "data_dir": str(self.data),
            "listen_address": f"127.0.0.1:{self.metrics_port}",
            "system_id": "r_testagent001",
            "runners": [{"name": "test", "url": gl.url, "token": gl.runner_token,
                         "image": IMAGE, **(extra or {})}],
        }
        work.mkdir(parents=True, exist_ok=True)
        self.config.write_text(yaml.safe_dump(doc))
        self.config.chmod(0o600)
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> AgentProcess:
        log = self.log_path.open("ab")
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "runner", "agent", "--config", str(self.config)],
            env={**os.environ, "PYTHONPATH": str(REPO)}, stdout=log, stderr=log,
            stdin=subprocess.DEVNULL)
        log.close()
        return self

    def signal(self, sig: int = signal.SIGTERM) -> None:
        assert self.proc is not None
        self.proc.send_signal(sig)

    def wait(self, timeout: float = 120) -> int:
        assert self.proc is not None
        return self.proc.wait(timeout)

    def stop(self) -> int | None:
        """SIGTERM and wait; SIGKILL if it hangs."""
        if self.proc is None or self.proc.poll() is not None:
            return None if self.proc is None else self.proc.returncode
        self.proc.send_signal(signal.SIGTERM)
        try:
            return self.proc.wait(60)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
            raise AssertionError("the agent did not stop within 60 s of SIGTERM:\n"
                                 + self.log()) from None

    def log(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    def metrics(self) -> str:
        url = f"http://127.0.0.1:{self.metrics_port}/metrics"
        with urllib.request.urlopen(url, timeout=5) as answer:
            return str(answer.read().decode())

    def leftover_jobs(self) -> list[str]:
        jobs = self.data / "jobs"
        return sorted(p.name for p in jobs.iterdir()) if jobs.is_dir() else []


def job(repo: GitRepo, **kwargs: Any) -> Callable[[int, str], dict[str, Any]]:
    """A payload builder for ``FakeGitLab.add_job``: checks out ``repo``, runs in busybox."""
    kwargs.setdefault("image", IMAGE)

    def build(job_id: int, token: str) -> dict[str, Any]:
        return job_payload(job_id=job_id, token=token, repo_url=str(repo.path), sha=repo.sha,
                           **kwargs)

    return build


def wait_until(predicate: Callable[[], bool], timeout: float = 60, what: str = "") -> None:
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if predicate():
            return
        time.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what or predicate}")
