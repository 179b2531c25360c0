"""``runner list``, ``runner verify`` and ``runner agent --check-config``, in-process, against
the strict GitLab fake (every test ends with zero protocol violations)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import structlog
import yaml

from runner.agent.config import load
from runner.cli import main
from tests.agent.fake_gitlab import DEFAULT_RUNNER_TOKEN, FakeGitLab
from tests.agent.harness import free_port

DEAD_TOKEN = "glrt-t1_DeletedInGitLab000"


@pytest.fixture(autouse=True)
def _keep_logging() -> Iterator[None]:
    saved: dict[str, Any] = structlog.get_config()
    yield
    structlog.configure(**saved)


@pytest.fixture
def gl() -> Iterator[FakeGitLab]:
    with FakeGitLab() as fake:
        yield fake
        assert fake.violations == []


def write_config(path: Path, *runners: dict[str, Any], **top: Any) -> Path:
    doc = {"concurrent": 3, "system_id": "r_testagent001", **top, "runners": list(runners)}
    path.write_text(yaml.safe_dump(doc))
    path.chmod(0o600)
    return path


def entry(name: str, url: str, token: str, **extra: Any) -> dict[str, Any]:
    return {"name": name, "url": url, "token": token, "image": "localhost/busybox:latest",
            **extra}


def test_list_shows_each_runner_with_its_short_token_only(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    config = write_config(tmp_path / "agent.yml",
                          entry("ci-1", "https://gitlab.example.com/", "glrt-t1_AbCdEfGhIjKlMn",
                                id=12, limit=2),
                          entry("ci-2", "https://other.example.com/", "glrt-ZyXwVuTsRqPo"))
    assert main(["list", "--config", str(config)]) == 0
    out = capsys.readouterr().out
    assert out.splitlines() == [
        f"runner: 2 runner(s) in {config} (concurrent 3, system_id r_testagent001)",
        "ci-1  url=https://gitlab.example.com/  token=AbCdEfGhI  id=12  limit=2  "
        "image=localhost/busybox:latest",
        "ci-2  url=https://other.example.com/  token=ZyXwVuTsR  id=-  limit=none  "
        "image=localhost/busybox:latest",
    ]
    assert "IjKlMn" not in out and "glrt-" not in out


def test_list_of_a_broken_config_names_file_line_and_key(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    config = tmp_path / "agent.yml"
    config.write_text("concurrent: 1\nrunners:\n  - name: a\n    url: https://x.example/\n"
                      "    tokn: glrt-abc\n")
    assert main(["list", "--config", str(config)]) == 2
    err = capsys.readouterr().err
    assert "Traceback" not in err
    assert f"{config}:5" in err and "tokn" in err


def test_verify_reports_each_runner_and_fails_for_a_deleted_one(
        gl: FakeGitLab, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    config = write_config(tmp_path / "agent.yml", entry("alive", gl.url, DEFAULT_RUNNER_TOKEN),
                          entry("gone", gl.url, DEAD_TOKEN))
    assert main(["verify", "--config", str(config)]) == 4
    out = capsys.readouterr().out
    assert "alive (" in out and ": valid: is alive" in out
    assert "gone (" in out and ": invalid: " in out
    assert "runner verify --delete" in out
    assert [r.name for r in load(config).runners] == ["alive", "gone"]  # nothing removed
    assert {v["token"] for v in gl.verifications} == {DEFAULT_RUNNER_TOKEN, DEAD_TOKEN}
    assert all(v["system_id"] == "r_testagent001" for v in gl.verifications)
    assert DEAD_TOKEN not in out


def test_verify_delete_removes_only_the_runners_gitlab_refused(
        gl: FakeGitLab, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    down = f"http://127.0.0.1:{free_port()}/"  # nothing listens: cannot tell, so kept
    config = write_config(tmp_path / "agent.yml", entry("alive", gl.url, DEFAULT_RUNNER_TOKEN),
                          entry("gone", gl.url, DEAD_TOKEN),
                          entry("far", down, "glrt-t1_FarAwayToken000"))
    assert main(["verify", "--delete", "--config", str(config)]) == 4  # 'far' unreachable
    out = capsys.readouterr().out
    assert "far (" in out and ": unreachable: " in out
    assert f"runner: removed gone from {config}" in out
    after = load(config)
    assert [r.name for r in after.runners] == ["alive", "far"]
    assert after.system_id == "r_testagent001"
    assert config.stat().st_mode & 0o777 == 0o600


def test_verify_delete_with_all_reachable_exits_0(
        gl: FakeGitLab, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    config = write_config(tmp_path / "agent.yml", entry("alive", gl.url, DEFAULT_RUNNER_TOKEN),
                          entry("gone", gl.url, DEAD_TOKEN))
    assert main(["verify", "--delete", "--config", str(config)]) == 0
    assert [r.name for r in load(config).runners] == ["alive"]


def test_verify_one_by_name_and_an_unknown_name(
        gl: FakeGitLab, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    config = write_config(tmp_path / "agent.yml", entry("alive", gl.url, DEFAULT_RUNNER_TOKEN),
                          entry("gone", gl.url, DEAD_TOKEN))
    assert main(["verify", "--name", "alive", "--config", str(config)]) == 0
    assert [v["token"] for v in gl.verifications] == [DEFAULT_RUNNER_TOKEN]
    capsys.readouterr()
    assert main(["verify", "--name", "nope", "--config", str(config)]) == 2
    assert "no runner named 'nope'" in capsys.readouterr().err


def test_check_config_of_a_good_config_contacts_no_one(
        gl: FakeGitLab, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    config = write_config(tmp_path / "agent.yml", entry("ci-1", gl.url, DEFAULT_RUNNER_TOKEN),
                          data_dir=str(tmp_path / "data"))
    assert main(["agent", "--check-config", "--config", str(config)]) == 0
    out = capsys.readouterr().out
    assert f"runner: {config} is good: 1 runner(s) (ci-1), concurrent 3" in out
    assert gl.requests == []
    assert not (tmp_path / "data").exists()


@pytest.mark.parametrize(("text", "wanted"), [
    ("concurrent: 0\nrunners: []\n", ":1"),
    ("concurrent: 1\n", "lists no runners"),
    ("runners:\n  - name: a\n    url: ftp://x\n    token: glrt-x\n", ":3"),
])
def test_check_config_of_a_bad_config_exits_2_with_the_place(
        tmp_path: Path, capsys: pytest.CaptureFixture[str], text: str, wanted: str) -> None:
    config = tmp_path / "agent.yml"
    config.write_text(text)
    config.chmod(0o600)
    assert main(["agent", "--check-config", "--config", str(config)]) == 2
    err = capsys.readouterr().err
    assert "Traceback" not in err and wanted in err, err


def test_check_config_refuses_a_config_others_can_read(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    config = write_config(tmp_path / "agent.yml",
                          entry("ci-1", "https://gitlab.example.com/", DEFAULT_RUNNER_TOKEN))
    config.chmod(0o644)
    assert main(["agent", "--check-config", "--config", str(config)]) == 2
    assert f"chmod 600 {config}" in capsys.readouterr().err


@pytest.mark.parametrize("command", [["list"], ["verify"], ["agent", "--check-config"]])
def test_a_missing_config_says_how_to_create_one(
        tmp_path: Path, capsys: pytest.CaptureFixture[str], command: list[str]) -> None:
    assert main([*command, "--config", str(tmp_path / "nope.yml")]) == 2
    err = capsys.readouterr().err
    assert f"no agent config at {tmp_path / 'nope.yml'}" in err and "runner register" in err
    assert "pipeline" not in err
