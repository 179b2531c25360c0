"""Tests of runner.pipeline.github.shells: GitHub's ``shell:`` table on Linux."""

from __future__ import annotations

import pytest

from runner.pipeline.github.shells import INVALID_SHELL, ShellError, script_for
from runner.pipeline.steps import RunScript


def test_default_is_bash_e_falling_back_to_sh_e() -> None:
    """No shell: ``bash -e {0}``, without bash ``sh -e {0}`` (no pipefail, unlike ``bash``)."""
    assert script_for(None, "make") == RunScript(
        "make", ("bash", "-e", "{0}"), fallback=("sh", "-e", "{0}"), extension=".sh"
    )


@pytest.mark.parametrize(
    ("shell", "argv", "extension"),
    [
        ("bash", ("bash", "--noprofile", "--norc", "-e", "-o", "pipefail", "{0}"), ".sh"),
        ("sh", ("sh", "-e", "{0}"), ".sh"),
        ("bash -x {0}", ("bash", "-x", "{0}"), ".sh"),
        ("perl {0}", ("perl", "{0}"), ""),
        ("node --experimental '{0}'", ("node", "--experimental", "{0}"), ""),
    ],
)
def test_named_and_custom_shells(shell: str, argv: tuple[str, ...], extension: str) -> None:
    """Built-in names use GitHub's arguments; a custom line's first word is the program."""
    assert script_for(shell, "x") == RunScript("x", argv, extension=extension)


def test_python_falls_back_to_python3() -> None:
    """``python`` runs ``python {0}``, or ``python3 {0}`` in images without ``python``."""
    assert script_for("python", "x") == RunScript(
        "x", ("python", "{0}"), fallback=("python3", "{0}"), extension=".py"
    )
    custom = script_for("python -u {0}", "x")
    assert custom.fallback == ("python3", "-u", "{0}")


def test_program_without_format_is_refused_with_githubs_message() -> None:
    """A bare program GitHub has no arguments for is refused with its message."""
    with pytest.raises(ShellError) as info:
        script_for("perl", "x")
    assert str(info.value) == INVALID_SHELL
    with pytest.raises(ShellError):
        script_for("bash -c", "x")


@pytest.mark.parametrize("shell", ["pwsh", "powershell", "cmd", "pwsh -command {0}"])
def test_windows_shells_are_refused_by_name(shell: str) -> None:
    """PowerShell and cmd are refused with a message naming them."""
    with pytest.raises(ShellError, match="is not supported"):
        script_for(shell, "x")
