"""Root refusal and the runuser re-exec, with the exec itself injected."""

from __future__ import annotations

import os
import pwd
import sys
from pathlib import Path
from types import SimpleNamespace

import pytest

from runner.errors import HostSetupError
from runner.host import identity


def test_reexec_argv_runs_the_command_as_the_user() -> None:
    """runuser keeps cwd and environment; env adds the runtime dir and the loop guard."""
    argv = identity.reexec_argv("runner", 1001, ["/v/bin/python", "/v/bin/runner", "exec", "p.yml"])
    assert argv == [
        "runuser", "-u", "runner", "--",
        "env", "XDG_RUNTIME_DIR=/run/user/1001", "RUNNER_REEXECUTED=1",
        "/v/bin/python", "/v/bin/runner", "exec", "p.yml",
    ]  # fmt: skip


def test_current_command_reruns_this_interpreter() -> None:
    """The re-exec uses the absolute interpreter and the original arguments."""
    assert identity.current_command() == [sys.executable, *sys.orig_argv[1:]]


def test_unprivileged_user_passes_through() -> None:
    """Non-root callers are left alone."""
    identity.refuse_root({"RUNNER_USER": "runner"}, euid=1001, execvp=pytest.fail)


def test_root_without_runner_user_is_refused() -> None:
    """Root without RUNNER_USER gets an explanation and both ways out."""
    with pytest.raises(HostSetupError) as caught:
        identity.refuse_root({}, euid=0, execvp=pytest.fail)
    message = str(caught.value)
    assert "never runs containers as root" in message
    assert "runuser -u runner -- .venv/bin/runner exec" in message
    assert "RUNNER_USER=runner" in message


def test_root_with_runner_user_reexecs(monkeypatch: pytest.MonkeyPatch) -> None:
    """With RUNNER_USER set, root re-executes the same command line via runuser."""
    monkeypatch.setattr(pwd, "getpwnam", lambda name: SimpleNamespace(pw_uid=1234))
    calls: list[tuple[str, list[str]]] = []
    identity.refuse_root({"RUNNER_USER": "ci"}, euid=0, execvp=lambda f, a: calls.append((f, a)))
    assert calls == [("runuser", identity.reexec_argv("ci", 1234, identity.current_command()))]


def test_reexec_loop_guard_and_bad_users(monkeypatch: pytest.MonkeyPatch) -> None:
    """Still root after a re-exec, an unknown user, or RUNNER_USER=root all fail clearly."""
    with pytest.raises(HostSetupError, match="still root"):
        identity.refuse_root({"RUNNER_USER": "ci", "RUNNER_REEXECUTED": "1"}, euid=0)
    with pytest.raises(HostSetupError, match="does not exist"):
        identity.refuse_root({"RUNNER_USER": "no-such-user-xyz"}, euid=0, execvp=pytest.fail)
    monkeypatch.setattr(pwd, "getpwnam", lambda name: SimpleNamespace(pw_uid=0))
    with pytest.raises(HostSetupError, match="is root"):
        identity.refuse_root({"RUNNER_USER": "root"}, euid=0, execvp=pytest.fail)


@pytest.mark.parametrize(("mode", "adopted"), [(0o700, True), (0o711, True), (0o755, True),
                                                (0o775, False), (0o777, False)])
def test_runtime_dir_is_adopted_only_when_it_is_the_users_own(
        tmp_path: Path, mode: int, adopted: bool) -> None:
    """As podman does: /run/user/<uid> when unset, if it is a dir of ours others cannot write."""
    uid = os.getuid()
    (tmp_path / str(uid)).mkdir()
    (tmp_path / str(uid)).chmod(mode)
    environ: dict[str, str] = {}
    identity.adopt_runtime_dir(environ, uid, tmp_path)
    assert environ == ({"XDG_RUNTIME_DIR": str(tmp_path / str(uid))} if adopted else {})


def test_runtime_dir_is_left_alone_when_set_missing_or_not_a_dir(tmp_path: Path) -> None:
    uid = os.getuid()
    environ = {"XDG_RUNTIME_DIR": "/elsewhere"}
    identity.adopt_runtime_dir(environ, uid, tmp_path)
    assert environ == {"XDG_RUNTIME_DIR": "/elsewhere"}
    empty: dict[str, str] = {}
    identity.adopt_runtime_dir(empty, uid, tmp_path)  # no such dir
    (tmp_path / str(uid)).symlink_to(tmp_path)
    identity.adopt_runtime_dir(empty, uid, tmp_path)  # a link, not a dir
    assert empty == {}
    identity.adopt_runtime_dir(empty, uid + 1, tmp_path / "x")
    assert empty == {}
