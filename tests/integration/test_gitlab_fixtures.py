"""The offline fixtures of the GitLab corpus, run for real with ``runner exec .gitlab-ci.yml``.

Each runs from a fresh git repository on branch ``main`` (a push pipeline),
as a user would run it before pushing. Statuses come from result.json, the
run's contract for tools; output is what the user sees.
"""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.integration.harness import Project
from tests.unit.pipeline.gitlab.test_fixtures import CASES

pytestmark = pytest.mark.podman

RUNNABLE = [case for case in CASES
            if yaml.safe_load((case / "expect.yml").read_text()).get("runnable")]


def _git(root: Path, *args: str) -> None:
    subprocess.run(["git", "-C", str(root), *args], check=True, timeout=30,
                   capture_output=True)


def _checkout(case: Path, project: Project) -> Path:
    """The fixture as a committed repo on ``main``, in a directory named like the fixture."""
    root = project.root.parent / case.name
    shutil.copytree(case, root)
    _git(root, "init", "-q", "-b", "main")
    _git(root, "add", "-A")
    _git(root, "-c", "user.name=t", "-c", "user.email=t@example.com", "commit", "-qm", "x")
    return root


@pytest.mark.parametrize("case", RUNNABLE, ids=[case.name for case in RUNNABLE])
def test_runnable_fixture(case: Path, project: Project) -> None:
    """Exit code, every job's status and the promised output lines, as GitLab would give."""
    expect: dict[str, Any] = yaml.safe_load((case / "expect.yml").read_text())["run"]
    root = _checkout(case, project)
    runs = 2 if "cache" in case.name else 1  # a cache is only reused on a second run
    for _ in range(runs):
        proc = subprocess.run(project.argv(".gitlab-ci.yml"), cwd=root, env=project.env(),
                              capture_output=True, text=True, timeout=300, check=False)
    assert proc.returncode == expect.get("exit_code", 0), proc.stdout + proc.stderr
    result = json.loads((root / ".runner" / "result.json").read_text())
    statuses = {job["name"]: job["status"] for job in result["jobs"]}
    for name, status in (expect.get("statuses") or {}).items():
        assert statuses.get(name) == status, f"{name}: {statuses}\n{proc.stdout}"
    for text in expect.get("output_contains") or []:
        assert text in proc.stdout, proc.stdout
    work = root / ".runner" / "work"
    assert not work.exists() or list(work.iterdir()) == []
