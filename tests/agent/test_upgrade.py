"""The upgrade procedure of docs/operations.md, on real wheels, while a job runs.

The previous commit's wheel and this tree's are built offline (deploy/build-dist.sh) and
installed into two venvs side by side. The old agent runs a job; it is told to stop
(SIGTERM: it takes no more jobs and lets that one finish) and the new one starts at
once from its own venv, with the same config and data directory, and takes the next job
while the old one is still finishing. Then the new one is rolled back to the old. The
strict GitLab fake sees no protocol violation and every job succeeds.

When the checkout has no previous commit (a shallow clone), the tree is built twice,
which still tests installing from wheels and the hand-over, and says so on stdout.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sysconfig
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from tests.agent.fake_gitlab import FakeGitLab
from tests.agent.harness import AgentProcess, GitRepo, job, wait_until
from tests.integration.harness import podman_leftovers

pytestmark = pytest.mark.podman

REPO = Path(__file__).resolve().parents[2]


def build_wheel(ref: str, out: Path) -> Path:
    proc = subprocess.run([str(REPO / "deploy/build-dist.sh"), ref, str(out)],
                          capture_output=True, text=True, timeout=300, check=False)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    (wheel,) = out.glob("runner-*.whl")
    return wheel


def previous_commit() -> str:
    proc = subprocess.run(["git", "-c", "safe.directory=*", "-C", str(REPO), "rev-parse",
                           "--verify", "--quiet", "HEAD~1"],
                          capture_output=True, text=True, timeout=30, check=False)
    return proc.stdout.strip()


def venv_with(wheel: Path, where: Path) -> Path:
    """A venv holding ``wheel``; its dependencies come from this interpreter's environment
    (a .pth file), since nothing may be downloaded. Returns its ``runner`` script."""
    subprocess.run(["/usr/bin/python3", "-m", "venv", str(where)], check=True, timeout=120)
    subprocess.run([str(where / "bin/python"), "-m", "pip", "install", "--quiet", "--no-deps",
                    "--no-index", "--disable-pip-version-check", str(wheel)],
                   check=True, timeout=300)
    (site,) = where.glob("lib/python3*/site-packages")
    (site / "zz-runner-deps.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    return where / "bin/runner"


class Installed(AgentProcess):
    """An agent started from an installed ``runner`` script, not from this checkout."""

    def __init__(self, script: Path, gl: FakeGitLab, work: Path, **kwargs: object) -> None:
        super().__init__(gl, work, **kwargs)  # type: ignore[arg-type]
        self.script = script

    def start(self) -> Installed:
        log = self.log_path.open("ab")
        env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
        self.proc = subprocess.Popen([str(self.script), "agent", "--config", str(self.config)],
                                     env=env, stdout=log, stderr=log, stdin=subprocess.DEVNULL,
                                     cwd="/")
        log.close()
        return self


@pytest.fixture
def releases(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    base = tmp_path_factory.mktemp("releases")
    ref = previous_commit()
    if not ref:
        print("test_upgrade: no previous commit here; the old release is this tree too")
    old = venv_with(build_wheel(ref, base / "dist-old"), base / "old")
    new = venv_with(build_wheel("", base / "dist-new"), base / "new")
    return old, new


@pytest.fixture
def agents(gl: FakeGitLab, busybox_image: str) -> Iterator[Callable[..., Installed]]:
    started: list[Installed] = []

    def start(script: Path, work: Path) -> Installed:
        process = Installed(script, gl, work, concurrent=2).start()
        started.append(process)
        return process

    yield start
    for process in started:
        process.stop()
    assert podman_leftovers() == []
    for process in started:
        assert process.leftover_jobs() == [], process.log()


def test_upgrade_while_a_job_runs_then_roll_back(
        gl: FakeGitLab, repo: GitRepo, releases: tuple[Path, Path],
        agents: Callable[..., Installed], tmp_path: Path) -> None:
    old, new = releases
    for script in (old, new):
        version = subprocess.run([str(script), "--version"], capture_output=True, text=True,
                                 timeout=60, check=True, env={"PATH": os.environ["PATH"]})
        assert version.stdout.startswith("runner "), version.stdout
    # The installed release prepares and checks its host without the checkout.
    check = subprocess.run([str(new), "setup-host", "--check"], capture_output=True,
                           text=True, timeout=120, check=False, cwd="/",
                           env={"PATH": os.environ["PATH"]})
    assert check.returncode == 0, check.stderr
    assert "setup-host: ok: packages installed" in check.stderr
    work = tmp_path / "agent"
    long = gl.add_job(job(repo, script=["echo started", "sleep 6", "echo finished"]))
    first = agents(old, work)
    wait_until(lambda: b"started" in gl.trace(long), what="the job under the old agent")

    first.signal(signal.SIGTERM)  # stop with a grace period: the job goes on
    second = agents(new, work)  # the new release starts at once, same config and data
    during = gl.add_job(job(repo, script=["echo under-the-new-release"]))
    assert gl.wait(during) == "success", gl.dump(during) + second.log()
    assert first.wait(120) == 0, first.log()
    assert gl.job_state(long) == "success", gl.dump(long) + first.log()
    assert b"finished" in gl.trace(long)

    second.signal(signal.SIGTERM)  # roll back: the old release again
    assert second.wait(120) == 0, second.log()
    third = agents(old, work)
    after = gl.add_job(job(repo, script=["echo rolled-back"]))
    assert gl.wait(after) == "success", gl.dump(after) + third.log()
