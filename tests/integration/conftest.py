"""Fixtures for running the real ``runner exec`` on throwaway projects."""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.integration.harness import Project, Tenants, podman_leftovers


@pytest.fixture
def project(tmp_path: Path, busybox_image: str) -> Iterator[Project]:
    """A fresh project; after the test, no container and no scratch dir may remain."""
    root = tmp_path / "proj"
    root.mkdir()
    subprocess.run(["git", "init", "-q", str(root)], check=True, timeout=30)
    (root / ".gitignore").write_text("ignored.txt\n")
    yield Project(root, tmp_path / "cache")
    assert podman_leftovers() == []
    work = root / ".runner" / "work"
    assert not work.exists() or list(work.iterdir()) == []



@pytest.fixture
def tenants() -> Iterator[Tenants]:
    """Tenant build stores to delete after the test."""
    made = Tenants()
    yield made
    made.remove_all()
