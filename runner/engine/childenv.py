"""The environment of runner's long-lived helper processes: only what they need (no I/O).

runner's own environment holds whatever its user exported: deploy tokens,
cloud keys, the variables a pipeline names as secrets. A child inherits all
of it by default and keeps it in ``/proc/PID/environ`` for its whole life,
readable by anything of the same uid. The runc engine's processes (the
namespace helper, each container's monitor shell, runc, fuse-overlayfs and
the slirp4netns its hook starts) read no configuration from the
environment, so they get this short list instead. podman keeps the user's
environment (its configuration comes from there: ``CONTAINERS_CONF``,
``REGISTRY_AUTH_FILE``, proxies...), minus the variables secrets are read
from (``runner.execute.secrets.withhold_from_children``).
"""

from __future__ import annotations

from collections.abc import Mapping

DEFAULT_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

KEPT = ("PATH", "HOME", "USER", "LOGNAME", "LANG", "LC_ALL", "LC_CTYPE", "TZ", "TMPDIR",
        "XDG_RUNTIME_DIR")
"""Where to find programs, whose they are, how to read text, where scratch space is."""


def helper_env(environ: Mapping[str, str], **extra: str) -> dict[str, str]:
    """``environ`` cut down to ``KEPT`` (PATH always set), plus ``extra``."""
    env = {name: environ[name] for name in KEPT if name in environ}
    env.setdefault("PATH", DEFAULT_PATH)
    return {**env, **extra}


def with_only(env: Mapping[str, str], command: list[str]) -> list[str]:
    """``command`` run with exactly ``env`` (``env -i``): for a process another tool starts,
    which would otherwise pass on that tool's whole environment."""
    return ["env", "-i", *(f"{name}={value}" for name, value in sorted(env.items())), *command]
