"""Fixtures: the GitLab fake, a repository to check out, agents that clean up after themselves."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.agent.fake_gitlab import FakeGitLab
from tests.agent.harness import AgentProcess, GitRepo, make_repo
from tests.integration.harness import podman_leftovers


@pytest.fixture
def gl() -> Iterator[FakeGitLab]:
    """A GitLab fake; the test fails if the agent broke the protocol anywhere."""
    with FakeGitLab() as fake:
        yield fake
        assert fake.violations == []


@pytest.fixture
def repo(tmp_path: Path) -> GitRepo:
    return make_repo(tmp_path / "repo", {"README": "hello\n", "src/main.sh": "echo main\n"})


@pytest.fixture
def agent(gl: FakeGitLab, tmp_path: Path, busybox_image: str
          ) -> Iterator[Callable[..., AgentProcess]]:
    """Start agents; afterwards each is stopped and must have left nothing behind."""
    started: list[AgentProcess] = []

    def start(**kwargs: Any) -> AgentProcess:
        process = AgentProcess(gl, tmp_path / f"agent{len(started)}", **kwargs).start()
        started.append(process)
        return process

    yield start
    for process in started:
        process.stop()
    assert podman_leftovers() == []
    for process in started:
        assert process.leftover_jobs() == [], process.log()
