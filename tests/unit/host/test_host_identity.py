"""Root refusal and the runuser re-exec, with the exec itself injected."""

from __future__ import annotations

import pwd
import sys
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
