"""``runner --version``: runner's version from its one place, and the container tools'."""

from __future__ import annotations

import tomllib
from pathlib import Path

import pytest

from runner import __version__
from runner.cli import main
from runner.engine.versions import tool_versions, version_text

REPO = Path(__file__).resolve().parents[3]


def fake_tool(bindir: Path, name: str, body: str) -> None:
    path = bindir / name
    path.write_text(f"#!/bin/sh\n{body}\n")
    path.chmod(0o755)


def test_the_version_is_written_once_in_the_package() -> None:
    project = tomllib.loads((REPO / "pyproject.toml").read_text())
    assert "version" not in project["project"]
    assert project["project"]["dynamic"] == ["version"]
    assert project["tool"]["setuptools"]["dynamic"]["version"] == {"attr": "runner.__version__"}


def test_tool_versions_first_line_missing_and_silent(tmp_path: Path) -> None:
    fake_tool(tmp_path, "podman", 'echo "podman version 9.9.9"; echo "second line"')
    fake_tool(tmp_path, "runc", "echo 'runc version 1.2' >&2; exit 1")  # stderr counts too
    found = tool_versions(("podman", "buildah", "runc"), {"PATH": str(tmp_path)})
    assert found == {"podman": "podman version 9.9.9", "buildah": "not found",
                     "runc": "runc version 1.2"}


def test_a_tool_that_hangs_is_reported_not_waited_for(tmp_path: Path) -> None:
    fake_tool(tmp_path, "podman", "exec /bin/sleep 60")
    found = tool_versions(("podman",), {"PATH": str(tmp_path)}, timeout=0.2)
    assert found == {"podman": "unknown (no answer in 0.2 s)"}


def test_version_text_names_runner_python_and_each_tool() -> None:
    text = version_text({"podman": "podman version 4.3.1", "runc": "not found"})
    lines = text.splitlines()
    assert lines[0].startswith(f"runner {__version__} (python 3.")
    assert lines[1:] == ["podman: podman version 4.3.1", "runc: not found"]


def test_cli_version_prints_all_four_and_exits_0(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                capsys: pytest.CaptureFixture[str]) -> None:
    for tool in ("podman", "buildah", "runc"):
        fake_tool(tmp_path, tool, f"echo '{tool} version 0.0.{len(tool)}'")
    monkeypatch.setenv("PATH", str(tmp_path))
    assert main(["--version"]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[0].startswith(f"runner {__version__} ")
    assert out[1:] == ["podman: podman version 0.0.6", "buildah: buildah version 0.0.7",
                       "runc: runc version 0.0.4"]
