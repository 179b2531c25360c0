"""Pure builders of the argv that start, signal and remove runc job containers (no I/O).

Everything runs inside podman's rootless user and mount namespace, entered
with ``nsenter`` through the namespace helper's pid: there the runner is
root over all its subordinate ids, so runc can give a job its UID slice
and fuse-overlayfs can show the image's files as owned by that slice.

One monitor shell per container plays the part of ``podman run --rm``: it
mounts the root file system, runs ``runc run`` in the foreground (whose
``createRuntime`` hook gives the job's network namespace slirp4netns),
and when the container has ended stops slirp4netns and unmounts, so its
exit means nothing of the container is left.
"""

from __future__ import annotations

from pathlib import Path

from runner.engine.childenv import DEFAULT_PATH

SLIRP_OPTIONS = ("--configure", "--mtu=65520", "--disable-host-loopback", "--enable-sandbox",
                 "--enable-seccomp", "--enable-ipv6")
"""podman 4.3's slirp4netns options for a rootless container."""


def nsenter(ns_pid: int, command: list[str]) -> list[str]:
    """``command`` inside the user and mount namespace of process ``ns_pid``."""
    return ["nsenter", "--target", str(ns_pid), "--user", "--mount", "--preserve-credentials",
            "--", *command]


def overlay_options(layers: list[Path], upper: Path, work: Path, id_base: int,
                    id_size: int) -> str:
    """fuse-overlayfs's ``-o``: image layers (top first) shown as owned by the job's slice.

    On disk the layers keep podman's ids (0 and up); fuse-overlayfs presents
    id N as ``id_base + N``, so the job's root owns the image's root files
    without a per-slice copy of the image.
    """
    for path in (*layers, upper, work):
        if any(c in str(path) for c in ",:"):
            raise ValueError(f"path {path} has a ',' or ':', which fuse-overlayfs cannot take")
    mapping = f"0:{id_base}:{id_size}"
    return (f"lowerdir={':'.join(map(str, layers))},upperdir={upper},workdir={work},"
            f"uidmapping={mapping},gidmapping={mapping}")


MONITOR_SCRIPT = r"""b=$1 merged=$2 opts=$3 root=$4 id=$5 pidfile=$6 base=$7
cleanup() {
  [ -s "$b/slirp.pid" ] && kill "$(cat "$b/slirp.pid")" 2>/dev/null
  umount "$merged" 2>/dev/null || umount -l "$merged" 2>/dev/null
  rmdir "$merged" "${merged%/*}" 2>/dev/null
}
chown "$base:$base" "$b"/etc/hosts "$b"/etc/hostname "$b"/etc/resolv.conf || exit 125
mkdir "$merged" || exit 125
fuse-overlayfs -o "$opts" "$merged" || { rmdir "$merged" "${merged%/*}"; exit 125; }
trap cleanup EXIT
runc --root "$root" run --bundle "$b" --pid-file "$pidfile" "$id"
"""
"""``podman run --rm``'s part: mount, run in the foreground, always clean up.

The files runc binds over /etc are handed to the job's root first, as
podman does: jobs append to /etc/hosts.

No signal is ignored here: a disposition ignored at exec is inherited by
the container's PID 1, and a shell cannot trap a signal ignored on entry.
The monitor runs in its own session, so a terminal's Ctrl-C never reaches it.
"""

SLIRP_HOOK_SCRIPT = r"""b=$1
pid=$(tr -d ' \n' | sed -n 's/.*"pid":\([0-9]*\).*/\1/p')
[ -n "$pid" ] || { echo "runner: no pid in runc's state" >&2; exit 1; }
rm -f "$b/ready"; mkfifo "$b/ready"
unshare --mount --propagation private slirp4netns OPTIONS --ready-fd=3 "$pid" tap0 \
  3>"$b/ready" </dev/null >"$b/slirp.log" 2>&1 &
echo $! > "$b/slirp.pid"
ok=$(head -c 1 < "$b/ready")
[ "$ok" = 1 ] || { echo "runner: slirp4netns failed:" >&2; cat "$b/slirp.log" >&2; exit 1; }
"""
"""runc's ``createRuntime`` hook: slirp4netns on the new network namespace, ready before start.

The hook runs in podman's mount namespace, where ``$XDG_RUNTIME_DIR/netns``
(every pod's network namespace) is a shared mount. slirp4netns's sandbox
makes ``/`` private only non-recursively and then detaches the old root, so
started there it unmounted every pod's namespace file, in podman's namespace
too: pods could no longer be removed and ``podman ps`` failed. So it starts
in a mount namespace of its own made private recursively first (``unshare``
execs it: ``$!`` is slirp4netns), as podman does. Its output goes to a file:
runc waits for the hook's pipes to close.
"""

SLIRP_RUN_VAR = "RUNNER_RUN"
"""Set in slirp4netns's environment to the run's id: the sweep of a crashed run finds that
run's slirp4netns by it once the pid file went with the scratch dir (``runc.stop_slirps``)."""


def slirp_hook(bundle: Path, run_id: str) -> dict[str, object]:
    """The OCI hook entry that networks the container (see ``SLIRP_HOOK_SCRIPT``)."""
    script = SLIRP_HOOK_SCRIPT.replace("OPTIONS", " ".join(SLIRP_OPTIONS))
    return {"path": "/bin/sh", "args": ["sh", "-c", script, "hook", str(bundle)],
            "env": [f"PATH={DEFAULT_PATH}", f"{SLIRP_RUN_VAR}={run_id}"],
            "timeout": 30}


def monitor_argv(ns_pid: int, bundle: Path, merged: Path, *, overlay: str, runc_root: Path,
                 container_id: str, pidfile: Path, id_base: int) -> list[str]:
    """The long-lived process of one runc job container (see ``MONITOR_SCRIPT``).

    ``bundle`` holds ``config.json``, the overlay's ``upper`` and ``work``
    dirs and the ``etc`` files; ``merged`` (made and removed by the monitor)
    is the mount point; ``id_base`` is the job's root.
    """
    return nsenter(ns_pid, ["sh", "-c", MONITOR_SCRIPT, "monitor", str(bundle), str(merged),
                            overlay, str(runc_root), container_id, str(pidfile),
                            str(id_base)])


def kill_argv(ns_pid: int, runc_root: Path, container_id: str, signal: str) -> list[str]:
    """Signal the container's PID 1 (our supervisor)."""
    return nsenter(ns_pid, ["runc", "--root", str(runc_root), "kill", container_id, signal])


def delete_argv(ns_pid: int, runc_root: Path, container_ids: list[str]) -> list[str]:
    """Kill and forget containers at once; unknown ids are not an error."""
    script = 'r=$1; shift; for c; do runc --root "$r" delete --force "$c" 2>/dev/null; done; :'
    return nsenter(ns_pid, ["sh", "-c", script, "delete", str(runc_root), *container_ids])


def list_argv(ns_pid: int, runc_root: Path) -> list[str]:
    """Ids of every container runc knows under ``runc_root``."""
    return nsenter(ns_pid, ["runc", "--root", str(runc_root), "list", "--quiet"])
