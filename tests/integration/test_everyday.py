"""Everyday use through the real ``runner exec``: kept runs, missing local images, the
automatic variables file."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest

from tests.integration.harness import Project, said

pytestmark = pytest.mark.podman

IMAGE = "localhost/busybox:latest"


def test_each_run_keeps_its_logs_and_latest_points_at_the_newest(project: Project) -> None:
    """Logs and result.json of each run go to ``.runner/runs/<id>/``; only the last
    ``--keep-runs`` stay, ``.runner/latest`` is the newest, and git status stays clean."""
    project.write(f"""
        version: 1
        jobs:
          hello:
            image: {IMAGE}
            script: ["echo run-$N"]
        """)
    ids = []
    for n in range(3):
        run = project.run("--keep-runs", "2", "--variable", f"N={n}")
        assert run.code == 0, run.out + run.err
        doc = json.loads((project.state / "result.json").read_text())
        ids.append(doc["run_id"])
        run_dir = project.state / "runs" / doc["run_id"]
        assert (run_dir / "hello.log").read_text().count(f"run-{n}") == 1
        assert json.loads((run_dir / "result.json").read_text()) == doc
        assert doc["jobs"][0]["log"] == str(run_dir / "hello.log")
        assert f"logs: {run_dir}" in run.err or f"logs: .runner/runs/{doc['run_id']}" in run.err
    assert sorted(p.name for p in (project.state / "runs").iterdir()) == sorted(ids[1:])
    latest = project.state / "latest"
    assert latest.is_symlink() and os.readlink(latest) == f"runs/{ids[-1]}"
    assert "run-2" in (latest / "hello.log").read_text()
    status = subprocess.run(["git", "-C", str(project.root), "status", "--porcelain"],
                            capture_output=True, text=True, check=True, timeout=30)
    assert ".runner" not in status.stdout, status.stdout  # the project's own files show


@pytest.mark.parametrize("engine", ["podman", "auto"])
def test_a_missing_local_image_says_build_or_pull_it(project: Project, engine: str) -> None:
    """A ``localhost/`` name is never pulled: the job fails at once saying what to run,
    not with podman's registry ping error."""
    project.write("""
        version: 1
        jobs:
          nowhere:
            image: localhost/runner-test-no-such-image
            script: ["echo never"]
        """)
    run = project.run("--engine", engine)
    assert run.code == 1, run.out + run.err
    text = run.out + run.err + project.log("nowhere")
    assert ("image localhost/runner-test-no-such-image not found in your store; "
            "build or pull it") in text, text
    assert "runner build -t localhost/runner-test-no-such-image" in text
    assert "ping" not in text and "never" not in run.out.replace("echo never", "")


def _variables(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)


def _config_home(tmp_path: Path) -> Path:
    """An ``XDG_CONFIG_HOME`` of the test's own, podman's configuration still in it."""
    config = tmp_path / "config"
    config.mkdir(exist_ok=True)
    real = Path(os.environ.get("XDG_CONFIG_HOME") or Path.home() / ".config") / "containers"
    if real.exists() and not (config / "containers").exists():
        (config / "containers").symlink_to(real)
    return config


PRINT_VARS = f"""
    version: 1
    jobs:
      show:
        image: {IMAGE}
        script:
          - echo "from=$FROM user=$USER_ONLY project=$PROJECT_ONLY token=$TOKEN"
          - test ! -e .runner/variables.yml && echo no-vars-file
    """


def test_variables_files_are_read_without_being_named(project: Project, tmp_path: Path) -> None:
    """``~/.config/runner/variables.yml`` and ``.runner/variables.yml`` are read on their
    own; the explicit ``--variables-file`` wins over the project's, which wins over the
    user's. Masked values stay masked; the project's file never reaches a workspace."""
    config = _config_home(tmp_path)
    _variables(config / "runner" / "variables.yml",
               "FROM: user\nUSER_ONLY: u\nTOKEN: {value: user-secret-1, masked: true}\n")
    _variables(project.state / "variables.yml",
               "FROM: project\nPROJECT_ONLY: p\nTOKEN: {value: project-secret-2, masked: true}\n")
    project.write(PRINT_VARS)
    run = project.run(XDG_CONFIG_HOME=str(config))
    assert run.code == 0, run.out + run.err
    assert said(run.out, "show", "from=project user=u project=p token=[MASKED]"), run.out
    assert said(run.out, "show", "no-vars-file"), run.out
    assert "project-secret-2" not in run.out + run.err + project.log("show")
    assert f"variables from {config / 'runner' / 'variables.yml'}" in run.err
    assert "variables from .runner/variables.yml" in run.err

    explicit = tmp_path / "ci-vars.yml"
    explicit.write_text("FROM: explicit\n")
    run = project.run("--variables-file", str(explicit), XDG_CONFIG_HOME=str(config))
    assert said(run.out, "show", "from=explicit user=u project=p token=[MASKED]"), run.out

    # With the state elsewhere, the project's variables file is still kept out of the job.
    run = project.run("--state-dir", str(tmp_path / "state"), XDG_CONFIG_HOME=str(config))
    assert said(run.out, "show", "no-vars-file"), run.out + run.err


def test_a_project_variables_file_that_is_a_symlink_is_refused(project: Project,
                                                                tmp_path: Path) -> None:
    """A project could ship ``.runner/variables.yml`` linking to a file of the runner user's
    (another tenant's variables): its values must never reach the project's jobs."""
    elsewhere = tmp_path / "someone-elses.yml"
    elsewhere.write_text("TOKEN: stolen-value-3\n")
    project.state.mkdir()
    (project.state / "variables.yml").symlink_to(elsewhere)
    project.write(PRINT_VARS)
    run = project.run(XDG_CONFIG_HOME=str(_config_home(tmp_path)))
    assert run.code == 2, run.out + run.err
    assert f"{project.state / 'variables.yml'} is a symbolic link" in run.err
    assert "stolen-value-3" not in run.out + run.err
