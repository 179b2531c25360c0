"""A ``run:`` step's ``shell:`` turned into the command line that runs its script.

GitHub's table (actions/runner ``Handlers/ScriptHandlerHelpers.cs`` and
``Handlers/ScriptHandler.cs``, Linux):

============  ===========================================  =========
shell         command                                      extension
============  ===========================================  =========
(unset)       ``bash -e {0}``, without bash ``sh -e {0}``  ``.sh``
bash          ``bash --noprofile --norc -e -o pipefail {0}``  ``.sh``
sh            ``sh -e {0}``                                ``.sh``
python        ``python {0}``, without python ``python3 {0}``   ``.py``
cmd, pwsh     refused: no Windows shells or PowerShell in runner's images
CMD ARGS      the first word is the program, ARGS must hold ``{0}``; no extension
              unless the program is one of the above
============  ===========================================  =========

A bare program name other than those above (``shell: perl``) has no argument
format and is refused with GitHub's message.
"""

from __future__ import annotations

import shlex

from runner.pipeline.steps import RunScript

_ARGUMENTS = {
    "bash": "--noprofile --norc -e -o pipefail {0}",
    "sh": "-e {0}",
    "python": "{0}",
}
_EXTENSIONS = {"bash": ".sh", "sh": ".sh", "python": ".py"}
_REFUSED = frozenset({"cmd", "pwsh", "powershell"})

INVALID_SHELL = (
    "Invalid shell option. Shell must be a valid built-in (bash, sh, cmd, powershell, pwsh) "
    "or a format string containing '{0}'"
)


class ShellError(Exception):
    """A ``shell:`` that cannot run here; the message is for the user."""


def _argv(program: str, arguments: str) -> tuple[str, ...]:
    try:
        words = shlex.split(arguments)
    except ValueError as error:
        raise ShellError(f"cannot split the shell's arguments '{arguments}': {error}") from None
    return (program, *words)


def script_for(shell: str | None, script: str) -> RunScript:
    """How to run ``script`` with ``shell`` (the step's, else ``defaults.run.shell``)."""
    if not shell:
        return RunScript(
            script=script,
            shell=_argv("bash", "-e {0}"),
            fallback=_argv("sh", "-e {0}"),
            extension=".sh",
        )
    program, _, arguments = shell.strip().partition(" ")
    if program.lower() in _REFUSED:
        raise ShellError(
            f"shell '{program}' is not supported: runner's job images are Linux containers "
            "without cmd or PowerShell; use bash, sh, python or a command with {0}"
        )
    arguments = arguments.strip() or _ARGUMENTS.get(program, "")
    if "{0}" not in arguments:
        raise ShellError(INVALID_SHELL)
    argv = _argv(program, arguments)
    # Debian-based images have only python3; GitHub's hosted runners have both names.
    fallback = ("python3", *argv[1:]) if program == "python" else None
    return RunScript(
        script=script, shell=argv, fallback=fallback, extension=_EXTENSIONS.get(program, "")
    )
