"""The agent skips cache and artifact paths outside the build directory as gitlab-runner does.

gitlab-runner's archiver (commands/helpers, ``findRelativePathInProject``) logs
``processPath: artifact path is not a subpath of project directory: PATH`` when it
saves and goes on with the paths inside the project; the job still succeeds.
"""

from __future__ import annotations

import io
import zipfile
from collections.abc import Callable

import pytest

from tests.agent.fake_gitlab import FakeGitLab
from tests.agent.harness import AgentProcess, GitRepo, job

pytestmark = pytest.mark.podman

WARNING = "processPath: artifact path is not a subpath of project directory: "


def test_outside_paths_are_warned_about_when_saved_and_skipped(
        gl: FakeGitLab, repo: GitRepo, agent: Callable[..., AgentProcess]) -> None:
    cache = [{"key": "apt", "paths": ["/var/cache/apt/archives/", "vendor/"],
              "policy": "pull-push", "when": "on_success"}]
    built = gl.add_job(job(repo, cache=cache, script=[
        "mkdir -p out vendor", "echo built > out/app.txt", "echo lib > vendor/lib"],
        artifacts=[{"name": "bin", "paths": ["out/", "../outside/"]}]))
    agent(concurrent=1)
    assert gl.wait(built) == "success", gl.dump(built)
    trace = gl.trace(built).decode("utf-8", "replace")
    for path in ("/var/cache/apt/archives/", "../outside/"):
        assert WARNING + path in trace, trace
    (archive,) = gl.artifacts(built)
    assert zipfile.ZipFile(io.BytesIO(archive.data)).namelist().count("out/app.txt") == 1
