"""The environment runner's helper processes get (``childenv``): whole-dict asserts."""

from __future__ import annotations

from runner.engine import childenv

USER_ENV = {
    "PATH": "/home/u/bin:/usr/bin", "HOME": "/home/u", "USER": "u", "LOGNAME": "u",
    "LANG": "C.UTF-8", "TMPDIR": "/var/tmp/u", "XDG_RUNTIME_DIR": "/run/user/1001",
    "DEPLOY_TOKEN": "s3cr3t-value", "AWS_SECRET_ACCESS_KEY": "k3y", "CONTAINERS_CONF": "/c",
    "LD_PRELOAD": "/tmp/evil.so", "PYTHONPATH": "/elsewhere",
}


def test_helpers_get_only_the_kept_names() -> None:
    assert childenv.helper_env(USER_ENV) == {
        "PATH": "/home/u/bin:/usr/bin", "HOME": "/home/u", "USER": "u", "LOGNAME": "u",
        "LANG": "C.UTF-8", "TMPDIR": "/var/tmp/u", "XDG_RUNTIME_DIR": "/run/user/1001",
    }


def test_path_is_always_set_and_extras_are_added() -> None:
    assert childenv.helper_env({"DEPLOY_TOKEN": "x"}, PYTHONPATH="/src") == {
        "PATH": childenv.DEFAULT_PATH, "PYTHONPATH": "/src"}


def test_with_only_runs_the_command_in_exactly_that_environment() -> None:
    assert childenv.with_only({"PATH": "/bin", "HOME": "/h"}, ["/usr/bin/python3", "-m", "m"]) == [
        "env", "-i", "HOME=/h", "PATH=/bin", "/usr/bin/python3", "-m", "m"]
