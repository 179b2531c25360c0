"""Shell text that runs inside job containers: the supervisor and the job scripts.

Why a supervisor: a ``podman exec`` per step costs ~150 ms here, a job
container start ~160 ms. So each job gets exactly one container, started
before its needs are met, whose PID 1 is this small POSIX-sh supervisor.
It reports the container's user-namespace base ("ready"), then runs one
script file per line it reads on stdin and reports each exit status.

Each script runs in a fresh shell (``script`` then ``after_script``, as
GitLab does), with stdin at /dev/null so a step can never eat the commands
meant for the supervisor. Signals reach the supervisor through podman's
signal proxy: TERM/INT stop the running script gracefully, USR2 kills
every process in the container except the supervisor, so after_script can
still run afterwards. The job can stop the supervisor (``ptrace`` of PID 1),
so none of this is relied on: a script still running a grace period after
USR2 has its whole container killed from outside (``JobContainer.kill``).

A job script may record the number of the line it is at in ``<script>.step``
(``job_script``'s ``step_file``); the supervisor adds it to the script's exit
status, so a failure can be traced to the line of the pipeline file that
failed. It is a courtesy to the job's user, like every frame (see below).

On ``exit`` (or end of input) the supervisor SIGKILLs every other process
in the container and exits, which ends the container at once.

Framing: supervisor lines start with the ASCII record separator and a
per-container nonce, so job output cannot be mistaken for them by accident.
They are not a security boundary: the job runs as root in the container and
can read the nonce, so it can forge its own exit status (lying only about
itself). Nothing that protects the host relies on a frame: results are
collected only once the kernel says PID 1 has ended (see ``initwatch``) or
podman itself has exited, and every section runs under a timeout enforced
from outside.
"""

from __future__ import annotations

import shlex
from collections.abc import Sequence

RS = "\x1e"

_SUPERVISOR = r"""n={nonce}
s=/bin/sh
for b in /bin/bash /usr/bin/bash; do [ -x "$b" ] && s=$b && break; done
u=; g=
while read -r a b c; do [ "$a" = 0 ] && u=$b; done < /proc/self/uid_map
while read -r a b c; do [ "$a" = 0 ] && g=$b; done < /proc/self/gid_map
trap 'kill -TERM -1 2>/dev/null' TERM INT
trap 'kill -KILL -1 2>/dev/null' USR2
printf '\036%s ready %s %s\n' "$n" "$u" "$g"
while IFS= read -r f; do
  [ "$f" = exit ] && break
  "$s" "$f" </dev/null 2>&1 &
  c=$!
  while :; do wait "$c"; r=$?; kill -0 "$c" 2>/dev/null || break; done
  t=; [ -f "$f.step" ] && read -r t < "$f.step"
  printf '\036%s rc %s %s\n' "$n" "$r" "$t"
done
kill -KILL -1 2>/dev/null
"""


def supervisor_script(nonce: str) -> str:
    """The supervisor's source for ``sh -c``; ``nonce`` must be ``[A-Za-z0-9]+``."""
    if not nonce.isalnum():
        raise ValueError(f"nonce must be alphanumeric, got {nonce!r}")
    return _SUPERVISOR.format(nonce=nonce)


_ECHO_COLOR = "\x1b[32;1m"
_RESET = "\x1b[0m"


def step_file(script: str) -> str:
    """Where the script at path ``script`` records its current line (the supervisor reads it)."""
    return f"{script}.step"


def job_script(
    lines: Sequence[str],
    *,
    workdir: str,
    env: Sequence[tuple[str, str]],
    color: bool,
    step_file: str | None = None,
) -> str:
    """One shell script for a job section, GitLab style.

    Every line is echoed (``$ line``) before it runs, a ``cd`` or ``export``
    carries over to the next line because they share one shell, and the first
    failing line ends the script with its exit status (``set -e``; ``pipefail``
    where the shell has it). Variables are exported at the top rather than put
    on podman's command line, so secret values never appear in any argv.

    With ``step_file``, the 1-based number of each line is written there just
    before the line runs (a builtin write, microseconds), so after a failure
    it names the failing line. A write that fails is ignored: the job runs on.
    """
    out = [
        "set -e",
        "(set -o pipefail) 2>/dev/null && set -o pipefail",
        f"cd {shlex.quote(workdir)}",
    ]
    out += [f"export {name}={shlex.quote(value)}" for name, value in env]
    for number, line in enumerate(lines, 1):
        shown = f"$ {line}"
        if color:
            shown = f"{_ECHO_COLOR}{shown}{_RESET}"
        if step_file is not None:
            out.append(f"{{ printf '%s\\n' {number} > {shlex.quote(step_file)}; }} "
                       "2>/dev/null || :")
        out.append(f"printf '%s\\n' {shlex.quote(shown)}")
        out.append(line)
    return "\n".join(out) + "\n"


def _shell_line(argv: Sequence[str], body: str) -> str:
    return "exec " + " ".join(shlex.quote(arg.replace("{0}", body)) for arg in argv)


def step_wrapper(
    *,
    shell: Sequence[str],
    fallback: Sequence[str] | None,
    body: str,
    workdir: str,
    env: Sequence[tuple[str, str]],
    path: Sequence[str] = (),
) -> str:
    """The script the supervisor runs for one step of a stepped job: its own process.

    It enters ``workdir``, exports ``env`` (so values never reach an argv), puts
    ``path`` before the image's ``PATH``, and replaces itself with ``shell``
    running the step's script file ``body`` (``{0}`` in ``shell``). With
    ``fallback``, that shell runs instead when ``shell[0]`` is not installed
    (GitHub's default: bash, else sh). Names that are not shell identifiers
    cannot be exported by a shell and are left out (the dialect warns). A ``HOME``
    that does not exist yet is created (GitHub gives container jobs /github/home).
    """
    out = [
        f"cd -- {shlex.quote(workdir)} 2>/dev/null || {{ printf '%s\\n' "
        f"{shlex.quote(f'runner: working directory {workdir} does not exist')} >&2; exit 1; }}",
    ]
    out += [f"export {name}={shlex.quote(value)}" for name, value in env
            if name.isidentifier() and name.isascii()]
    if path:
        out.append(f"export PATH={shlex.quote(':'.join(path))}:\"$PATH\"")
    if any(name == "HOME" for name, _ in env):  # GitHub's is /github/home: make it exist
        out.append('mkdir -p -- "$HOME" 2>/dev/null || :')
    if fallback is not None:
        out.append(f"if command -v {shlex.quote(shell[0])} >/dev/null 2>&1; then")
        out.append("  " + _shell_line(shell, body))
        out.append("fi")
        out.append(_shell_line(fallback, body))
    else:
        out.append(_shell_line(shell, body))
    return "\n".join(out) + "\n"
