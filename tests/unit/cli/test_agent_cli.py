"""``runner agent`` refuses a missing, empty or broken config with one clear paragraph."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import structlog

from runner.cli import main


@pytest.fixture(autouse=True)
def _keep_logging() -> Iterator[None]:
    saved: dict[str, Any] = structlog.get_config()
    yield
    structlog.configure(**saved)


def test_missing_config_says_how_to_make_one(tmp_path: Path,
                                             capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "agent.yml"
    assert main(["agent", "--config", str(path)]) == 2
    err = capsys.readouterr().err
    assert f"no agent config at {path}" in err and "runner register" in err
    assert "Traceback" not in err


def test_config_without_runners_is_refused(tmp_path: Path,
                                           capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "agent.yml"
    path.write_text("concurrent: 2\n")
    assert main(["agent", "--config", str(path)]) == 2
    assert "lists no runners" in capsys.readouterr().err


def test_typo_in_config_names_file_line_and_key(tmp_path: Path,
                                                capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "agent.yml"
    path.write_text("concurrent: 2\nchek_interval: 3\n")
    assert main(["agent", "--config", str(path)]) == 2
    err = capsys.readouterr().err
    assert f"{path}:2:1" in err and "'chek_interval'" in err
    assert "did you mean 'check_interval'?" in err
