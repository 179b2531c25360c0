"""Shell text for a hook job's container: a supervisor fed through FIFOs, and step scripts.

actions/runner starts a new hook process for every step, so the pipe that
feeds ``runner exec``'s supervisor (``boot``) cannot outlive a call. This
supervisor reads step numbers from the FIFO ``in`` in its control dir
(mounted at ``/.runner``): for step ``N`` it runs ``N.sh`` with its output
into the FIFO ``N.out`` and writes the exit status into the FIFO ``N.rc``.
The hook process made both FIFOs and holds them open before it writes ``N``,
so a step costs two FIFO opens instead of a ``podman exec`` (~150 ms).

At start it reports ``ready <alpine>`` into the FIFO ``ready`` (``alpine``
is 1 on Alpine, whose musl cannot run the runner's glibc node). Descriptor
3 is the lease of the job's uid slice, held for as long as the container
lives; steps get it closed. TERM or INT (a cancelled step) stop every
process but the supervisor, as in ``boot``. None of this is a security
boundary: the job could rewrite it all, and only fool itself.
"""

from __future__ import annotations

import re
import shlex
from collections.abc import Sequence

HOOK_CONTROL = "/.runner"

HOOK_SUPERVISOR = r"""d=/.runner
exec 4<>"$d/in"
a=0
cat /etc/*release* 2>/dev/null | grep -qi '^ID=.*alpine' && a=1
trap 'kill -TERM -1 2>/dev/null' TERM INT
printf 'ready %s\n' "$a" >"$d/ready"
while IFS= read -r n <&4; do
  [ "$n" = exit ] && break
  case "$n" in *[!0-9]*|'') continue;; esac
  /bin/sh "$d/$n.sh" >"$d/$n.out" 2>&1 </dev/null 3>&- 4>&- &
  c=$!
  while :; do wait "$c"; r=$?; kill -0 "$c" 2>/dev/null || break; done
  printf '%s\n' "$r" >"$d/$n.rc"
done
kill -KILL -1 2>/dev/null
"""
_SHELL_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


def step_script(entry_point: str, args: Sequence[str], env: Sequence[tuple[str, str]],
                prepend_path: Sequence[str], workdir: str) -> str:
    """The script the supervisor runs for one ``run_script_step``, as ``docker exec`` would.

    ``cd`` to the working directory (a step fails if it is missing, as
    docker's does), export the step's variables (values never on a command
    line), put ``prependPath`` before the container's own ``PATH``, then
    ``exec`` the entry point. A name the shell cannot export (``INPUT_MY-KEY``
    from an action input with a dash) goes through ``env``.
    """
    out = [f"cd -- {shlex.quote(workdir)} || exit 1"]
    odd: list[str] = []
    for name, value in env:
        if name == "PATH":
            continue
        if _SHELL_NAME.fullmatch(name):
            out.append(f"export {name}={shlex.quote(value)}")
        else:
            odd.append(shlex.quote(f"{name}={value}"))
    if prepend_path:
        out.append(f'PATH={shlex.quote(":".join(prepend_path))}:"$PATH"; export PATH')
    command = " ".join(shlex.quote(word) for word in [entry_point, *args])
    out.append(f"exec env {' '.join(odd)} {command}" if odd else f"exec {command}")
    return "\n".join(out) + "\n"


def split_args(args: Sequence[str]) -> list[str]:
    """actions/runner's ``entryPointArgs`` re-split with POSIX rules.

    The runner splits its argument string on single spaces and keeps the
    quotes (``["\"/__w/_actions/o/r/v1/dist/index.js\""]``), so a path with a
    space arrives in pieces; joined and split again it is whole, unquoted.
    """
    try:
        return shlex.split(" ".join(args))
    except ValueError:
        return list(args)
