"""``runner exec .github/workflows/ci.yml --list/--preview``, and its errors (exit 2)."""

from __future__ import annotations

import subprocess
import textwrap
from pathlib import Path

import pytest

from runner.cli import main

WORKFLOW = """\
    name: CI
    on: [push, workflow_dispatch]
    permissions: read-all
    jobs:
      build:
        runs-on: ubuntu-latest
        steps:
          - uses: actions/checkout@v4
          - name: Build
            run: make
      test:
        needs: build
        runs-on: ubuntu-latest
        environment: staging
        strategy:
          matrix:
            python: ["3.11", "3.12"]
        steps:
          - id: unit
            run: pytest
            if: ${{ matrix.python == '3.12' }}
"""


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "config"))
    return tmp_path


def _write(root: Path, text: str) -> str:
    path = root / ".github" / "workflows" / "ci.yml"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(textwrap.dedent(text))
    return ".github/workflows/ci.yml"


def test_list_shows_instances_needs_images_and_environment(
        project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    file = _write(project, WORKFLOW)
    code = main(["exec", file, "--list", "--platform", "ubuntu-latest=localhost/busybox:latest"])
    out = capsys.readouterr().out
    assert code == 0
    assert out.splitlines()[:4] == [
        "name         needs    runs-on -> image                           environment",
        "build        []       ubuntu-latest -> localhost/busybox:latest  -",
        "test (3.11)  [build]  ubuntu-latest -> localhost/busybox:latest  staging",
        "test (3.12)  [build]  ubuntu-latest -> localhost/busybox:latest  staging",
    ]
    assert "permissions: read-all (no effect locally" in out


def test_platforms_come_from_the_runner_config(project: Path,
                                               capsys: pytest.CaptureFixture[str]) -> None:
    config = project / "config" / "runner" / "config.yml"
    config.parent.mkdir(parents=True)
    config.write_text("platforms:\n  ubuntu-latest: localhost/runner-ci:bookworm\n")
    assert main(["exec", _write(project, WORKFLOW), "--list"]) == 0
    assert "ubuntu-latest -> localhost/runner-ci:bookworm" in capsys.readouterr().out


def test_preview_shows_steps_as_written(project: Path,
                                        capsys: pytest.CaptureFixture[str]) -> None:
    file = _write(project, WORKFLOW)
    assert main(["exec", file, "--preview", "--platform",
                 "ubuntu-latest=localhost/busybox:latest"]) == 0
    out = capsys.readouterr().out
    assert "job: test (3.12)   (jobs.test)" in out
    assert "  - id: __actions_checkout\n    uses: actions/checkout@v4" in out
    assert "  - id: __run   name: Build\n    run: |\n      make" in out
    assert "    if: ${{ matrix.python == '3.12' }}" in out


def test_unmapped_label_is_exit_2_naming_file_line_and_both_fixes(
        project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["exec", _write(project, WORKFLOW), "--list"])
    err = capsys.readouterr().err
    assert code == 2
    assert ".github/workflows/ci.yml:6:" in err and "'ubuntu-latest'" in err
    assert "--platform ubuntu-latest=IMAGE" in err and "config.yml" in err
    assert "Traceback" not in err


def test_bad_file_is_one_report_exit_2(project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    file = _write(project, """\
        on: psuh
        jobs:
          a:
            runs-on: ubuntu-latest
            step: [{run: x}]
    """)
    code = main(["exec", file, "--list", "--platform", "ubuntu-latest=localhost/busybox:latest"])
    err = capsys.readouterr().err
    assert code == 2
    assert "did you mean 'push'?" in err and "did you mean 'steps'?" in err
    assert "Traceback" not in err and "problems in" in err


def test_event_and_input_errors_are_exit_2(project: Path,
                                           capsys: pytest.CaptureFixture[str]) -> None:
    file = _write(project, WORKFLOW)
    platform = ["--platform", "ubuntu-latest=localhost/busybox:latest"]
    assert main(["exec", file, "--list", "--event", "release", *platform]) == 2
    assert "runs on: push, workflow_dispatch" in capsys.readouterr().err
    assert main(["exec", file, "--list", "--input", "x=1", *platform]) == 2
    assert "--event workflow_dispatch" in capsys.readouterr().err
    assert main(["exec", file, "--list", "--platform", "nolabel"]) == 2
    assert "LABEL=IMAGE" in capsys.readouterr().err


def test_dialect_flag_reads_any_path_as_a_workflow(project: Path,
                                                   capsys: pytest.CaptureFixture[str]) -> None:
    (project / "wf.yml").write_text(textwrap.dedent(WORKFLOW))
    assert main(["exec", "wf.yml", "--dialect", "github", "--list", "--platform",
                 "ubuntu-latest=localhost/busybox:latest"]) == 0
    assert "test (3.12)" in capsys.readouterr().out


def test_list_says_when_github_would_not_run_the_workflow_for_this_branch(
        project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    subprocess.run(["git", "init", "-q", "-b", "topic", str(project)], check=True, timeout=30)
    file = _write(project, WORKFLOW.replace("on: [push, workflow_dispatch]",
                                            "on: {push: {branches: [main]}}"))
    assert main(["exec", file, "--list", "--platform",
                 "ubuntu-latest=localhost/busybox:latest"]) == 0
    err = capsys.readouterr().err
    assert "'on.push.branches' does not match 'topic'" in err and "running it anyway" in err
