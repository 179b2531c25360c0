"""Runner never runs containers as root: refuse, or hand over to the configured user.

Rootless podman as root is not rootless at all, and files a root run leaves
behind break the next unprivileged run. ``refuse_root`` is called first thing
by commands that start containers; with ``RUNNER_USER`` set it re-executes the
very same command line as that user instead of failing.
"""

from __future__ import annotations

import os
import pwd
import stat
import sys
from collections.abc import Callable, Mapping, MutableMapping, Sequence
from pathlib import Path

from runner.errors import HostSetupError

REEXEC_MARK = "RUNNER_REEXECUTED"
"""Set in the re-executed process so a runuser that did not drop root cannot loop."""


def reexec_argv(user: str, uid: int, command: Sequence[str]) -> list[str]:
    """The argv that runs ``command`` as ``user`` with its runtime dir (pure).

    ``runuser`` keeps the cwd and the environment (except HOME, SHELL, USER,
    LOGNAME); ``env`` adds the two variables the child needs.
    """
    return [
        "runuser", "-u", user, "--",
        "env", f"XDG_RUNTIME_DIR=/run/user/{uid}", f"{REEXEC_MARK}=1",
        *command,
    ]  # fmt: skip


def adopt_runtime_dir(environ: MutableMapping[str, str], uid: int,
                      base: Path = Path("/run/user")) -> None:
    """Set ``XDG_RUNTIME_DIR`` to ``/run/user/<uid>`` when it is unset and that dir is ours.

    ``runuser -u runner --`` and ``su - runner`` leave it unset, and podman
    itself then uses ``/run/user/<uid>`` if it exists and belongs to the user.
    runner does the same, silently, so the documented commands work; the
    children it starts (podman, buildah) get the same value. Anything else
    (no such dir, another owner, writable by others) is left for ``runner
    doctor`` to explain with the command that fixes it.
    """
    if environ.get("XDG_RUNTIME_DIR"):
        return
    candidate = base / str(uid)
    try:
        info = candidate.lstat()
    except OSError:
        return
    if stat.S_ISDIR(info.st_mode) and info.st_uid == uid and not info.st_mode & 0o022:
        environ["XDG_RUNTIME_DIR"] = str(candidate)


def current_command() -> list[str]:
    """This process's command line, runnable again (``python -m runner`` and scripts alike)."""
    return [sys.executable, *sys.orig_argv[1:]]


def refuse_root(
    environ: Mapping[str, str] = os.environ,
    *,
    euid: int | None = None,
    execvp: Callable[[str, list[str]], object] = os.execvp,
) -> None:
    """Return if unprivileged; as root re-exec as ``$RUNNER_USER`` or raise ``HostSetupError``."""
    if (os.geteuid() if euid is None else euid) != 0:
        return
    user = environ.get("RUNNER_USER")
    if not user:
        raise HostSetupError(
            "runner never runs containers as root: rootless podman as root is neither rootless nor"
            " isolated. Run it as the unprivileged user, e.g. `runuser -u runner --"
            " .venv/bin/runner exec ...`, or set RUNNER_USER=runner to have runner re-execute"
            " itself as that user."
        )
    if environ.get(REEXEC_MARK):
        raise HostSetupError(f"re-executed as RUNNER_USER={user} but still root; giving up")
    try:
        uid = pwd.getpwnam(user).pw_uid
    except KeyError:
        raise HostSetupError(
            f"RUNNER_USER={user} does not exist; create it with `sudo deploy/setup-host.sh`"
        ) from None
    if uid == 0:
        raise HostSetupError(f"RUNNER_USER={user} is root; name an unprivileged user")
    sys.stdout.flush()
    sys.stderr.flush()
    execvp("runuser", reexec_argv(user, uid, current_command()))
