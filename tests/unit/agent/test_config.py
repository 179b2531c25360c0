"""The agent config: written atomically 0600, read back identical, mistakes shown where they are."""

from __future__ import annotations

import os
import re
import stat
from pathlib import Path

import pytest

from runner.agent import config as agentconfig
from runner.agent.config import SYSTEM_ID, AgentConfig, RunnerEntry, load, save, with_runner
from runner.errors import PipelineError, UserInputError
from runner.pipeline.model import Limits

RUNNER = "runners:\n  - name: a\n    url: https://gitlab.example.com\n    token: glrt-x\n"


def write(tmp_path: Path, text: str) -> Path:
    """A config as ``register`` leaves it: 0600."""
    path = tmp_path / "agent.yml"
    path.write_text(text)
    path.chmod(0o600)
    return path


@pytest.mark.parametrize("mode", [0o644, 0o640, 0o604, 0o660])
def test_a_config_with_tokens_others_can_read_is_refused_with_the_fix(
        tmp_path: Path, mode: int) -> None:
    """As ssh refuses a private key others can read (issue 15, bug 7)."""
    path = write(tmp_path, RUNNER)
    path.chmod(mode)
    with pytest.raises(UserInputError) as caught:
        load(path)
    assert str(caught.value) == (f"{path} holds runner tokens but has mode {mode:04o}, so"
                                 f" other users can read them; run: chmod 600 {path}")
    assert load(path, private=False).runners  # register and unregister rewrite it 0600


def test_a_config_without_tokens_may_be_readable(tmp_path: Path) -> None:
    path = write(tmp_path, "concurrent: 2\n")
    path.chmod(0o644)
    assert load(path).concurrent == 2


@pytest.mark.parametrize(("url", "fix"), [
    ("gitlab.example.com", "https://gitlab.example.com"),
    ("ftp://gitlab.example.com", "https://gitlab.example.com"),
])
def test_a_runner_url_without_http_scheme_is_refused(tmp_path: Path, url: str, fix: str) -> None:
    text = RUNNER.replace("https://gitlab.example.com", url)
    message = error(tmp_path, text)
    assert message.startswith("F:3:") and "(key 'runners[0].url')" in message, message
    assert fix in message, message


def error(tmp_path: Path, text: str) -> str:
    path = write(tmp_path, text)
    with pytest.raises(UserInputError) as caught:
        load(path)
    return str(caught.value).replace(str(path), "F")


def full_config(path: Path) -> AgentConfig:
    return AgentConfig(
        path=path, system_id="s_0123456789ab", concurrent=4, check_interval_s=1.5,
        shutdown_timeout_s=120.0, listen_address="127.0.0.1:9252",
        data_dir=path.parent / "data",
        runners=(
            RunnerEntry(name="fast", url="https://gitlab.example.com", token="glrt-t1_abc",
                        id=42, token_obtained_at="2026-12-01T00:00:00Z",
                        token_expires_at="2027-01-01T00:00:00.000Z", limit=2,
                        output_limit_kib=8192, ca_file=path.parent / "ca.pem",
                        image="alpine:3.20", network="slirp4netns", runtime="crun",
                        limits=Limits(memory=512 << 20, pids=256, cpus=1.5, disk=2 << 30)),
            RunnerEntry(name="plain", url="https://other.example.com/", token="legacy123"),
        ),
    )


# --- save / load -----------------------------------------------------------------------------


def test_round_trip(tmp_path: Path) -> None:
    config = full_config(tmp_path / "agent.yml")
    save(config)
    assert load(config.path) == config


def test_round_trip_of_the_defaults(tmp_path: Path) -> None:
    config = AgentConfig(path=tmp_path / "agent.yml", system_id="r_abcdefABCDEF")
    save(config)
    assert load(config.path) == config
    config = with_runner(config, RunnerEntry(name="a", url="https://h", token="t"))
    save(config)
    assert load(config.path) == config


def test_saved_file_is_private_and_says_so(tmp_path: Path) -> None:
    path = tmp_path / "conf" / "runner" / "agent.yml"
    save(full_config(path))
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700
    text = path.read_text()
    assert text.startswith("# runner agent configuration")
    assert "0600" in text.splitlines()[0]


def test_saving_over_a_readable_file_makes_it_private(tmp_path: Path) -> None:
    path = write(tmp_path, "concurrent: 1\n")
    path.chmod(0o644)
    inode = path.stat().st_ino
    save(full_config(path))
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert path.stat().st_ino != inode  # replaced by rename, never rewritten in place


def test_save_leaves_no_temporary_file(tmp_path: Path) -> None:
    save(full_config(tmp_path / "agent.yml"))
    assert sorted(p.name for p in tmp_path.iterdir()) == ["agent.yml"]


def test_failed_save_keeps_the_old_config_and_no_half_file(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "agent.yml"
    old = full_config(path)
    save(old)

    def broken_dump(*_args: object, **_kwargs: object) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(agentconfig.yaml, "safe_dump", broken_dump)
    with pytest.raises(OSError, match="No space left"):
        save(with_runner(old, RunnerEntry(name="new", url="https://h", token="glrt-secret")))
    assert load(path) == old
    assert sorted(p.name for p in tmp_path.iterdir()) == ["agent.yml"]  # tokens not left behind
    monkeypatch.undo()
    save(old)  # and saving again works
    assert load(path) == old


def test_save_never_follows_a_planted_temporary_symlink(tmp_path: Path) -> None:
    path = tmp_path / "agent.yml"
    target = tmp_path / "elsewhere"
    (tmp_path / f".agent.yml.{os.getpid()}.tmp").symlink_to(target)
    with pytest.raises(OSError):
        save(full_config(path))
    assert not target.exists()


def test_missing_file_with_missing_ok_is_an_empty_config(tmp_path: Path) -> None:
    config = load(tmp_path / "nope.yml", missing_ok=True)
    assert config.runners == ()
    assert SYSTEM_ID.fullmatch(config.system_id)


def test_missing_file_without_missing_ok(tmp_path: Path) -> None:
    with pytest.raises(UserInputError, match="does not exist"):
        load(tmp_path / "nope.yml")


@pytest.mark.parametrize("text", ["", "\n  \n", "# just a comment\n", "# a\n\n# b\n"])
def test_empty_file_is_an_empty_config(tmp_path: Path, text: str) -> None:
    config = load(write(tmp_path, text))
    assert config.runners == ()
    assert config.concurrent == 1


def test_system_id_is_persisted(tmp_path: Path) -> None:
    path = tmp_path / "agent.yml"
    first = load(path, missing_ok=True)
    save(first)
    assert load(path).system_id == first.system_id
    assert f"system_id: {first.system_id}" in path.read_text()


def test_new_system_ids_look_like_gitlab_runners() -> None:
    ids = {agentconfig.new_system_id() for _ in range(50)}
    assert len(ids) == 50
    assert all(re.fullmatch(r"r_[0-9a-zA-Z]{12}", i) for i in ids)


def test_defaults(tmp_path: Path) -> None:
    config = load(write(tmp_path, RUNNER))
    assert (config.concurrent, config.check_interval_s, config.shutdown_timeout_s,
            config.listen_address, config.data_dir) == (1, 3.0, 30.0, None, None)
    (entry,) = config.runners
    assert entry == RunnerEntry(name="a", url="https://gitlab.example.com", token="glrt-x")
    assert (entry.limit, entry.output_limit_kib, entry.image) == (0, 4096, "busybox:latest")


def test_token_is_not_in_the_repr() -> None:
    entry = RunnerEntry(name="a", url="https://h", token="glrt-verysecret")
    assert "verysecret" not in repr(entry)
    assert "verysecret" not in repr(AgentConfig(path=Path("x"), system_id="r_abcdefABCDEF",
                                                runners=(entry,)))


def test_limits_sizes(tmp_path: Path) -> None:
    text = RUNNER + "    limits: {memory: 512m, disk: 2GiB, pids: 100, cpus: 0.5}\n"
    (entry,) = load(write(tmp_path, text)).runners
    assert entry.limits == Limits(memory=512 << 20, pids=100, cpus=0.5, disk=2 << 30)


def test_limits_bytes_as_a_number(tmp_path: Path) -> None:
    (entry,) = load(write(tmp_path, RUNNER + "    limits: {memory: 1048576}\n")).runners
    assert entry.limits == Limits(memory=1 << 20)


def test_paths_expand_the_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    config = load(write(tmp_path, "data_dir: ~/ci\n" + RUNNER + "    ca_file: ~/ca.pem\n"))
    assert config.data_dir == tmp_path / "home" / "ci"
    assert config.runners[0].ca_file == tmp_path / "home" / "ca.pem"


def test_work_root(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    config = AgentConfig(path=tmp_path / "a.yml", system_id="r_abcdefABCDEF")
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "xdg"))
    assert config.work_root() == tmp_path / "xdg" / "runner" / "agent"
    monkeypatch.delenv("XDG_DATA_HOME")
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    assert config.work_root() == tmp_path / "home" / ".local" / "share" / "runner" / "agent"
    config = AgentConfig(path=tmp_path / "a.yml", system_id="r_abcdefABCDEF",
                         data_dir=tmp_path / "d")
    assert config.work_root() == tmp_path / "d"


def test_default_path(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "cfg"))
    assert agentconfig.default_path() == tmp_path / "cfg" / "runner" / "agent.yml"
    monkeypatch.delenv("XDG_CONFIG_HOME")
    monkeypatch.setenv("HOME", str(tmp_path))
    assert agentconfig.default_path() == tmp_path / ".config" / "runner" / "agent.yml"


def test_with_runner_replaces_by_name_and_appends_new_ones() -> None:
    config = AgentConfig(path=Path("x"), system_id="r_abcdefABCDEF", runners=(
        RunnerEntry(name="a", url="https://h", token="1"),
        RunnerEntry(name="b", url="https://h", token="2")))
    config = with_runner(config, RunnerEntry(name="a", url="https://h", token="3"))
    config = with_runner(config, RunnerEntry(name="c", url="https://h", token="4"))
    assert [(r.name, r.token) for r in config.runners] == [("b", "2"), ("a", "3"), ("c", "4")]


# --- mistakes --------------------------------------------------------------------------------


@pytest.mark.parametrize(("text", "message"), [
    ("concurent: 2\n",
     "F:1:1 (key 'concurent'): unknown key 'concurent' in the agent config; "
     "did you mean 'concurrent'?"),
    ("check_intervall: 2\n",
     "F:1:1 (key 'check_intervall'): unknown key 'check_intervall' in the agent config; "
     "did you mean 'check_interval'?"),
    ("concurrent: 2\nzzz: 1\n",
     "F:2:1 (key 'zzz'): unknown key 'zzz' in the agent config; valid keys are 'concurrent', "
     "'check_interval', 'shutdown_timeout', 'listen_address', 'data_dir', 'system_id', "
     "'runners'"),
    (RUNNER + "    imgae: alpine\n",
     "F:5:5 (key 'runners[0].imgae'): unknown key 'imgae' in a runner; did you mean 'image'?"),
    (RUNNER + "    limits: {memroy: 1g}\n",
     "F:5:14 (key 'runners[0].limits.memroy'): unknown key 'memroy' in 'limits'; "
     "did you mean 'memory'?"),
    ("concurrent: 0\n",
     "F:1:13 (key 'concurrent'): 'concurrent' of the agent config must be at least 1"),
    ("concurrent: two\n",
     "F:1:13 (key 'concurrent'): 'concurrent' of the agent config must be a number, "
     "got a string"),
    ("concurrent: true\n",
     "F:1:13 (key 'concurrent'): 'concurrent' of the agent config must be a number, "
     "got a boolean"),
    ("check_interval: 0\n",
     "F:1:17 (key 'check_interval'): 'check_interval' of the agent config must be at "
     "least 0.05"),
    ("shutdown_timeout: -1\n",
     "F:1:19 (key 'shutdown_timeout'): 'shutdown_timeout' of the agent config must be at "
     "least 0"),
    ("system_id: abc\n",
     "F:1:12 (key 'system_id'): 'system_id' of the agent config must look like r_ or s_ and "
     "12 letters or digits (delete it to get a new one)"),
    ("runners: {name: a}\n",
     "F:1:10 (key 'runners'): 'runners' of the agent config must be a list, got a mapping"),
    ("runners:\n  - just-a-name\n",
     "F:2:5 (key 'runners[0]'): a runner must be a mapping, got a string"),
    ("runners:\n  - name: a\n    url: https://h\n",
     "F:2:5 (key 'runners[0]'): a runner needs 'token'"),
    ("runners:\n  - name: ''\n    url: https://h\n    token: t\n",
     "F:2:11 (key 'runners[0].name'): 'name' of a runner must not be empty"),
    (RUNNER + "    limit: -1\n",
     "F:5:12 (key 'runners[0].limit'): 'limit' of a runner must be at least 0"),
    (RUNNER + "    output_limit: 0\n",
     "F:5:19 (key 'runners[0].output_limit'): 'output_limit' of a runner must be at least 1"),
    (RUNNER + "    limits: {memory: 12zz}\n",
     "F:5:22 (key 'runners[0].limits.memory'): expected a size like '512m', '2g' or a number "
     "of bytes, got '12zz'"),
    (RUNNER + "    limits: {disk: 0}\n",
     "F:5:20 (key 'runners[0].limits.disk'): a size must be more than zero, got '0'"),
    (RUNNER + "    limits: {pids: 0}\n",
     "F:5:20 (key 'runners[0].limits.pids'): 'pids' of a runner must be at least 1"),
    (RUNNER + "    limits: {cpus: 0}\n",
     "F:5:20 (key 'runners[0].limits.cpus'): 'cpus' of a runner must be at least 0.01"),
    (RUNNER + "    limits: 2g\n",
     "F:5:13 (key 'runners[0].limits'): 'limits' of a runner must be a mapping, got a string"),
    (RUNNER + "    token_expires_at: next week\n",
     "F:5:23 (key 'runners[0].token_expires_at'): 'token_expires_at' of a runner must be a "
     "date and time such as 2027-01-05T10:00:00Z, got 'next week'"),
    (RUNNER + "    token_obtained_at: 1700000000\n",
     "F:5:24 (key 'runners[0].token_obtained_at'): 'token_obtained_at' of a runner must be a "
     "string, got a number"),
])
def test_mistakes_name_file_line_column_and_key(tmp_path: Path, text: str, message: str) -> None:
    assert error(tmp_path, text) == message


@pytest.mark.parametrize(("text", "where"), [
    ("concurrent: 1.5\n", "F:1:13 (key 'concurrent')"),
    (RUNNER + "    limit: 2.5\n", "F:5:12 (key 'runners[0].limit')"),
    (RUNNER + "    output_limit: 100.5\n", "F:5:19 (key 'runners[0].output_limit')"),
    (RUNNER + "    id: 7.5\n", "F:5:9 (key 'runners[0].id')"),
    (RUNNER + "    limits: {pids: 10.5}\n", "F:5:20 (key 'runners[0].limits.pids')"),
])
def test_counts_must_be_whole_numbers(tmp_path: Path, text: str, where: str) -> None:
    """``concurrent: 1.5`` is a mistake to show, not a 1 to run with."""
    assert error(tmp_path, text).startswith(f"{where}: ")
    assert "whole number" in error(tmp_path, text)


def test_whole_floats_are_fine(tmp_path: Path) -> None:
    assert load(write(tmp_path, "concurrent: 2.0\n")).concurrent == 2


def test_duplicate_runner_names(tmp_path: Path) -> None:
    text = ("runners:\n"
            "  - {name: a, url: https://x, token: t}\n"
            "  - {name: b, url: https://x, token: u}\n"
            "  - {name: a, url: https://y, token: v}\n")
    assert error(tmp_path, text) == (
        "F:4:12 (key 'runners[2].name'): two runners are named 'a'; names must be unique "
        "(they name the runner's files)")


@pytest.mark.parametrize("address", ["127.0.0.1:9252", "localhost:9252", "[::1]:9252",
                                     "127.0.0.1:1", "127.0.0.1:65535"])
def test_loopback_listen_addresses(tmp_path: Path, address: str) -> None:
    assert load(write(tmp_path, f"listen_address: '{address}'\n")).listen_address == address


@pytest.mark.parametrize("address", ["0.0.0.0:9252", "192.168.1.5:9252", ":9252", "[::]:9252",
                                     "127.0.0.1", "127.0.0.1:http", "localhost:",
                                     "example.com:9252", "127.0.0.1:0", "127.0.0.1:99999"])
def test_listen_address_must_be_loopback(tmp_path: Path, address: str) -> None:
    assert error(tmp_path, f"listen_address: '{address}'\n") == (
        "F:1:17 (key 'listen_address'): 'listen_address' of the agent config must be a "
        "loopback HOST:PORT such as 127.0.0.1:9252 (metrics are not for other machines to "
        "read)")


def test_top_level_must_be_a_mapping(tmp_path: Path) -> None:
    with pytest.raises(PipelineError) as caught:
        load(write(tmp_path, "- a\n"))
    assert caught.value.spot.line == 1
    assert "must be a mapping" in str(caught.value)


def test_yaml_syntax_error_has_a_position(tmp_path: Path) -> None:
    with pytest.raises(PipelineError) as caught:
        load(write(tmp_path, "concurrent: 1\nrunners: [\n"))
    assert caught.value.spot.file == str(tmp_path / "agent.yml")
    assert caught.value.spot.line is not None


def test_a_missing_system_id_is_made_up_and_marked_for_saving(tmp_path: Path) -> None:
    path = tmp_path / "agent.yml"
    path.write_text("concurrent: 2\n")
    fresh = load(path)
    assert fresh.fresh_system_id and SYSTEM_ID.fullmatch(fresh.system_id)
    save(fresh)
    again = load(path)
    assert not again.fresh_system_id and again.system_id == fresh.system_id


@pytest.mark.parametrize("written", ["2027-01-05T10:00:00Z", "'2027-01-05T10:00:00.000Z'",
                                     "2027-01-05 10:00:00+01:00", "'2027-01-05T10:00:00'"])
def test_token_times_are_kept_as_written(tmp_path: Path, written: str) -> None:
    """GitLab's own spelling, or YAML's unquoted timestamp, kept for the next save."""
    path = write(tmp_path, RUNNER + f"    token_expires_at: {written}\n")
    (entry,) = load(path).runners
    assert entry.token_expires_at == written.strip("'")
    assert agentconfig.parse_time(entry.token_expires_at) is not None
