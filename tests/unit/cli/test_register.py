"""``runner register`` and ``runner unregister`` in-process, against the GitLab fake."""

from __future__ import annotations

import os
import stat
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import structlog

from runner.agent.config import SYSTEM_ID, load
from runner.cli import main
from tests.agent.fake_gitlab import DEFAULT_REGISTRATION_TOKEN, DEFAULT_RUNNER_TOKEN, FakeGitLab


@pytest.fixture(autouse=True)
def _keep_logging() -> Iterator[None]:
    """``main`` configures structlog onto the captured stderr; put the old set-up back."""
    saved: dict[str, Any] = structlog.get_config()
    yield
    structlog.configure(**saved)


@pytest.fixture
def gl() -> Iterator[FakeGitLab]:
    with FakeGitLab() as fake:
        yield fake
        assert fake.violations == []


@pytest.fixture
def config(tmp_path: Path) -> Path:
    return tmp_path / "conf" / "agent.yml"


def register(gl: FakeGitLab, config: Path, *extra: str, token: str = DEFAULT_RUNNER_TOKEN
             ) -> int:
    return main(["register", "--url", gl.url, "--token", token, "--config", str(config),
                 "--name", "ci-1", *extra])


def one_paragraph_error(err: str) -> str:
    """The CLI's error: one line, no traceback."""
    assert "Traceback" not in err
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    assert lines[0].startswith("runner: ")
    return lines[0]


# --- register with a runner authentication token (glrt-) ----------------------------------


def test_register_with_a_runner_token(gl: FakeGitLab, config: Path,
                                      capsys: pytest.CaptureFixture[str]) -> None:
    assert register(gl, config) == 0
    assert stat.S_IMODE(config.stat().st_mode) == 0o600
    assert stat.S_IMODE(config.parent.stat().st_mode) == 0o700
    cfg = load(config)
    assert SYSTEM_ID.fullmatch(cfg.system_id)
    (entry,) = cfg.runners
    assert (entry.name, entry.url, entry.token, entry.id) == ("ci-1", gl.url,
                                                              DEFAULT_RUNNER_TOKEN, 7)
    assert (entry.limit, entry.image, entry.ca_file) == (0, "busybox:latest", None)
    (verified,) = gl.verifications
    assert verified["token"] == DEFAULT_RUNNER_TOKEN
    assert verified["system_id"] == cfg.system_id
    assert gl.registered == []
    out, err = capsys.readouterr()
    assert "registered 'ci-1'" in out
    assert f"runner agent --config {config}" in out
    assert DEFAULT_RUNNER_TOKEN not in out + err


def test_register_keeps_when_the_token_was_obtained_and_when_it_expires(
        gl: FakeGitLab, config: Path) -> None:
    """Both set the token's reset time (75 % of its lifetime), as gitlab-runner's register."""
    expires = gl.expire_token_in(gl.runner_token, 30 * 86400)
    before = datetime.now(UTC).replace(microsecond=0)
    assert register(gl, config) == 0
    (entry,) = load(config).runners
    assert entry.token_expires_at == expires
    assert entry.token_obtained_at is not None
    obtained = datetime.fromisoformat(entry.token_obtained_at)
    assert before <= obtained <= datetime.now(UTC)


def test_register_token_from_the_environment(gl: FakeGitLab, config: Path,
                                             monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("RUNNER_TOKEN", DEFAULT_RUNNER_TOKEN)
    assert register(gl, config, token="-") == 0
    assert load(config).runners[0].token == DEFAULT_RUNNER_TOKEN
    assert gl.verifications[0]["token"] == DEFAULT_RUNNER_TOKEN


def test_register_token_dash_without_the_variable(gl: FakeGitLab, config: Path,
                                                  monkeypatch: pytest.MonkeyPatch,
                                                  capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.delenv("RUNNER_TOKEN", raising=False)
    assert register(gl, config, token="-") == 2
    assert "$RUNNER_TOKEN" in one_paragraph_error(capsys.readouterr().err)
    assert gl.verifications == []
    assert not config.exists()


def test_register_with_a_bad_token(gl: FakeGitLab, config: Path,
                                   capsys: pytest.CaptureFixture[str]) -> None:
    assert register(gl, config, token="glrt-wrongToken000000") == 4
    line = one_paragraph_error(capsys.readouterr().err)
    assert line.startswith("runner: error: GitLab refused checking the runner token: "
                           "HTTP 403, the token is not valid")
    assert "glrt-wrongToken000000" not in line
    assert not config.exists()


def test_register_with_gitlab_down(config: Path, capsys: pytest.CaptureFixture[str],
                                   monkeypatch: pytest.MonkeyPatch) -> None:
    from runner.coordinator.gitlab import retry  # noqa: PLC0415

    monkeypatch.setattr(retry, "backoff_s", lambda _attempt, _rng=None: 0.0)
    with FakeGitLab() as gl:
        url = gl.url
    code = main(["register", "--url", url, "--token", DEFAULT_RUNNER_TOKEN, "--config",
                 str(config)])
    assert code == 4
    assert "could not be reached" in one_paragraph_error(capsys.readouterr().err)
    assert not config.exists()


def test_register_with_a_bad_url(config: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["register", "--url", "gitlab.example.com", "--token", DEFAULT_RUNNER_TOKEN,
                 "--config", str(config)])
    assert code == 2  # a bad option, not GitLab's refusal (issue 15, bug 6: this was 4)
    assert ("--url 'gitlab.example.com' is not a URL; write it with its scheme:"
            " https://gitlab.example.com") in one_paragraph_error(capsys.readouterr().err)
    assert not config.exists()


def test_register_writes_0600_under_a_permissive_umask_and_mends_a_0644_config(
        gl: FakeGitLab, config: Path) -> None:
    """The config holds tokens: 0600 whatever the umask, and a re-register mends a 0644 one."""
    old = os.umask(0)
    try:
        assert register(gl, config) == 0
        assert config.stat().st_mode & 0o777 == 0o600
        config.chmod(0o644)
        assert register(gl, config) == 0
    finally:
        os.umask(old)
    assert config.stat().st_mode & 0o777 == 0o600


def test_register_options_reach_the_config(gl: FakeGitLab, config: Path, tmp_path: Path) -> None:
    ca = tmp_path / "ca.pem"
    ca.write_text(_ca_bundle())
    assert register(gl, config, "--concurrent", "3", "--limit", "2", "--image", "alpine:3.20",
                    "--ca-file", str(ca)) == 0
    cfg = load(config)
    assert cfg.concurrent == 3
    (entry,) = cfg.runners
    assert (entry.limit, entry.image, entry.ca_file) == (2, "alpine:3.20", ca)


def test_register_again_adds_or_replaces_by_name(gl: FakeGitLab, config: Path) -> None:
    assert register(gl, config) == 0
    first = load(config)
    assert main(["register", "--url", gl.url, "--token", DEFAULT_RUNNER_TOKEN,
                 "--config", str(config), "--name", "ci-2", "--image", "alpine"]) == 0
    assert register(gl, config, "--image", "debian") == 0
    cfg = load(config)
    assert cfg.system_id == first.system_id  # one machine, one manager
    assert [(r.name, r.image) for r in cfg.runners] == [("ci-2", "alpine"), ("ci-1", "debian")]
    assert {v["system_id"] for v in gl.verifications} == {first.system_id}


@pytest.mark.parametrize("bad", [["--concurrent", "0"], ["--limit", "-1"], ["--name", ""],
                                 ["--image", " "], ["--ca-file", "/nonexistent/ca.pem"]])
def test_bad_options_are_refused_before_gitlab_is_asked(
        gl: FakeGitLab, config: Path, capsys: pytest.CaptureFixture[str], bad: list[str]) -> None:
    """A legacy registration creates the runner in GitLab: refusing after it orphans one."""
    code = main(["register", "--url", gl.url, "--registration-token",
                 DEFAULT_REGISTRATION_TOKEN, "--config", str(config), "--name", "ci-1", *bad])
    assert code == 2
    one_paragraph_error(capsys.readouterr().err)
    assert gl.registered == []
    assert not config.exists()


def test_register_needs_exactly_one_token(gl: FakeGitLab, config: Path,
                                          capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["register", "--url", gl.url, "--config", str(config)]) == 2
    assert main(["register", "--url", gl.url, "--config", str(config), "--token", "a",
                 "--registration-token", "b"]) == 2
    assert "not allowed with argument" in capsys.readouterr().err
    assert not config.exists()


# --- register with a legacy registration token ----------------------------------------------


def test_register_with_a_registration_token(gl: FakeGitLab, config: Path) -> None:
    code = main(["register", "--url", gl.url, "--registration-token",
                 DEFAULT_REGISTRATION_TOKEN, "--config", str(config), "--name", "old-style",
                 "--description", "the old way", "--tag-list", "linux,podman",
                 "--run-untagged", "--locked"])
    assert code == 0
    (registered,) = gl.registered
    assert registered["registration_token"] == DEFAULT_REGISTRATION_TOKEN
    assert registered["description"] == "the old way"
    assert registered["tag_list"] == "linux,podman"
    assert registered["run_untagged"] is True
    assert registered["locked"] is True
    assert registered["access_level"] == "not_protected"
    assert registered["paused"] is False
    assert "features" in registered["info"]
    (entry,) = load(config).runners
    assert entry.token == registered["token"]
    assert entry.token != DEFAULT_REGISTRATION_TOKEN
    assert entry.id == registered["id"]
    assert stat.S_IMODE(config.stat().st_mode) == 0o600


def test_registration_token_defaults(gl: FakeGitLab, config: Path) -> None:
    assert main(["register", "--url", gl.url, "--registration-token",
                 DEFAULT_REGISTRATION_TOKEN, "--config", str(config), "--name", "box"]) == 0
    (registered,) = gl.registered
    assert registered["description"] == "box"
    assert registered["tag_list"] == ""
    assert registered["run_untagged"] is False
    assert registered["locked"] is False


def test_registration_token_from_the_environment(gl: FakeGitLab, config: Path,
                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("REGISTRATION_TOKEN", DEFAULT_REGISTRATION_TOKEN)
    assert main(["register", "--url", gl.url, "--registration-token", "-",
                 "--config", str(config), "--name", "x"]) == 0
    assert gl.registered[0]["registration_token"] == DEFAULT_REGISTRATION_TOKEN


def test_bad_registration_token(gl: FakeGitLab, config: Path,
                                capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["register", "--url", gl.url, "--registration-token", "GR1348941nope",
                 "--config", str(config), "--name", "x"])
    assert code == 4
    line = one_paragraph_error(capsys.readouterr().err)
    assert "the registration token is not valid" in line
    assert "GR1348941nope" not in line
    assert not config.exists()


# --- unregister ------------------------------------------------------------------------------


def test_unregister_removes_this_manager_and_the_entry(gl: FakeGitLab, config: Path,
                                                       capsys: pytest.CaptureFixture[str]
                                                       ) -> None:
    assert register(gl, config) == 0
    system_id = load(config).system_id
    assert main(["unregister", "--config", str(config)]) == 0
    assert gl.unregistered == [{"endpoint": "managers", "token": DEFAULT_RUNNER_TOKEN,
                                "system_id": system_id}]
    cfg = load(config)
    assert cfg.runners == ()
    assert cfg.system_id == system_id
    assert stat.S_IMODE(config.stat().st_mode) == 0o600
    assert "unregistered 'ci-1'" in capsys.readouterr().out


def test_unregister_a_legacy_token_removes_the_runner(config: Path) -> None:
    with FakeGitLab(runner_token="legacyRunnerToken1234") as gl:
        assert register(gl, config, token="legacyRunnerToken1234") == 0
        assert main(["unregister", "--config", str(config), "--name", "ci-1"]) == 0
        assert gl.unregistered == [{"endpoint": "runners", "token": "legacyRunnerToken1234",
                                    "system_id": None}]
        assert gl.violations == []
    assert load(config).runners == ()


def test_unregister_picks_by_name(gl: FakeGitLab, config: Path,
                                  capsys: pytest.CaptureFixture[str]) -> None:
    assert register(gl, config) == 0
    assert main(["register", "--url", gl.url, "--token", DEFAULT_RUNNER_TOKEN,
                 "--config", str(config), "--name", "ci-2"]) == 0
    capsys.readouterr()
    assert main(["unregister", "--config", str(config)]) == 2
    assert "several runners (ci-1, ci-2); pick one with --name" in one_paragraph_error(
        capsys.readouterr().err)
    assert main(["unregister", "--config", str(config), "--name", "nope"]) == 2
    assert "no runner named 'nope'" in one_paragraph_error(capsys.readouterr().err)
    assert gl.unregistered == []
    assert main(["unregister", "--config", str(config), "--name", "ci-2"]) == 0
    assert [r.name for r in load(config).runners] == ["ci-1"]


def test_unregister_refused_keeps_the_entry(gl: FakeGitLab, config: Path,
                                            capsys: pytest.CaptureFixture[str]) -> None:
    assert register(gl, config) == 0
    assert main(["unregister", "--config", str(config)]) == 0
    assert register(gl, config) == 0  # verify makes the manager again
    gl.inject(r"/runners/managers$", 403, method="DELETE")
    capsys.readouterr()
    assert main(["unregister", "--config", str(config)]) == 4
    assert "already unregistered?" in one_paragraph_error(capsys.readouterr().err)
    assert [r.name for r in load(config).runners] == ["ci-1"]


def test_unregister_without_a_config(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["unregister", "--config", str(tmp_path / "none.yml")]) == 2
    assert "does not exist" in one_paragraph_error(capsys.readouterr().err)


def _ca_bundle() -> str:
    """Some CA certificate in PEM form (any will do: the file only has to load)."""
    import ssl  # noqa: PLC0415

    paths = ssl.get_default_verify_paths()
    for candidate in (paths.cafile, paths.openssl_cafile):
        if candidate and Path(candidate).is_file():
            text = Path(candidate).read_text()
            end = text.find("-----END CERTIFICATE-----")
            if end != -1:
                start = text.rfind("-----BEGIN CERTIFICATE-----", 0, end)
                return text[start:end] + "-----END CERTIFICATE-----\n"
    pytest.skip("no system CA bundle to borrow a certificate from")


def test_relative_ca_file_is_saved_absolute(gl: FakeGitLab, config: Path, tmp_path: Path,
                                            monkeypatch: pytest.MonkeyPatch) -> None:
    """The agent runs from another directory (a systemd unit: the home directory)."""
    (tmp_path / "ca.pem").write_text(_ca_bundle())
    monkeypatch.chdir(tmp_path)
    assert register(gl, config, "--ca-file", "ca.pem") == 0
    assert load(config).runners[0].ca_file == tmp_path / "ca.pem"


def test_ca_file_that_is_not_pem(gl: FakeGitLab, config: Path, tmp_path: Path,
                                 capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "ca.pem").write_text("not a certificate\n")
    assert register(gl, config, "--ca-file", str(tmp_path / "ca.pem")) == 2
    assert "--ca-file" in one_paragraph_error(capsys.readouterr().err)
    assert gl.verifications == []
