"""Judges ``HostFacts``: one ``Finding`` per check, each problem with the command that fixes it.

``evaluate`` is pure so every verdict is unit-tested with synthetic facts;
``runner doctor`` prints all findings, the executor calls ``ensure_ready``
and refuses to start on errors (warnings only cost speed or limits).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import PurePath
from typing import Literal

from runner.errors import HostSetupError
from runner.host.facts import SLICE, Binary, HostFacts, IdRange

Severity = Literal["error", "warning"]

_USER_CONF = "~/.config/containers"
_STORAGE_TEXT = r"""'[storage]\ndriver = "overlay"\n'"""
_ENGINE_TEXT = r"""'[engine]\nruntime = "runc"\n'"""
_V2_FIX = (
    "echo 'GRUB_CMDLINE_LINUX=\"$GRUB_CMDLINE_LINUX systemd.unified_cgroup_hierarchy=1\"'"
    " | sudo tee /etc/default/grub.d/cgroup-v2.cfg && sudo update-grub && sudo reboot"
)
_DELEGATE_FIX = (
    "sudo mkdir -p /etc/systemd/system/user@.service.d && printf '[Service]\\nDelegate=memory pids"
    " cpu io\\n' | sudo tee /etc/systemd/system/user@.service.d/delegate.conf"
    " && sudo systemctl daemon-reload"
)


@dataclass(frozen=True)
class Finding:
    """The verdict of one check; ``severity`` says how bad it is when ``ok`` is False."""

    check: str
    ok: bool
    severity: Severity
    detail: str
    fix: str = ""


def _good(check: str, detail: str, severity: Severity = "error") -> Finding:
    return Finding(check, True, severity, detail)


def _bad(check: str, severity: Severity, detail: str, fix: str) -> Finding:
    return Finding(check, False, severity, detail, fix)


def _user(f: HostFacts) -> Finding:
    if f.is_root:
        return _bad(
            "user",
            "error",
            "running as root; runner only runs containers as an unprivileged user",
            "runuser -u runner -- .venv/bin/runner doctor",
        )
    return _good("user", f"{f.user} (uid {f.uid})")


def _mapper(name: str, b: Binary, cap_bit: int) -> Finding:
    if b.path is None:
        detail = f"{name} not found; podman cannot map ids"
        return _bad(name, "error", detail, "sudo apt-get install uidmap")
    if (b.setuid and b.owner_uid == 0) or b.file_caps & (1 << cap_bit):
        return _good(name, f"{b.path} ({'setuid root' if b.setuid else 'file capabilities'})")
    return _bad(
        name,
        "error",
        f"{b.path} is neither setuid root nor has file capabilities",
        f"sudo chown root:root {b.path} && sudo chmod u+s {b.path}",
    )


def _subids(kind: str, f: HostFacts, ranges: tuple[IdRange, ...]) -> Finding:
    check = f"sub{kind}"
    total = sum(r.count for r in ranges)
    jobs = total // SLICE
    start = f.subid_free_start
    end = start + 64 * SLICE - 1
    fix = f"sudo usermod --add-sub{kind}s {start}-{end} {f.user} && podman system migrate"
    spans = ", ".join(f"{r.start}-{r.start + r.count - 1}" for r in ranges) or "none"
    if total < SLICE:
        detail = f"{total} {kind}s for {f.user} ({spans}); each job needs a slice of {SLICE}"
        return _bad(check, "error", detail, fix)
    detail = f"{total} {kind}s ({spans}): about {jobs} concurrent job(s) fit"
    if jobs < 4:
        return _bad(check, "warning", detail + "; concurrency is limited", fix)
    return _good(check, detail)


def _tool(name: str, b: Binary, severity: Severity) -> Finding:
    if b.path is None:
        return _bad(name, severity, f"{name} not found", f"sudo apt-get install {name}")
    return _good(name, f"{b.version or 'version not gathered'} ({b.path})", severity)


def _cgroups(f: HostFacts) -> Finding:
    if f.limits_enforceable:
        return _good("cgroups", "v2, memory and pids delegated: limits are enforced", "warning")
    if f.cgroup == "v2":
        have = " ".join(sorted(f.delegated_controllers)) or "none"
        detail = f"v2 but only [{have}] delegated: memory/pids limits cannot be enforced rootless"
        return _bad("cgroups", "warning", detail, _DELEGATE_FIX)
    detail = f"{f.cgroup}: memory/pids limits cannot be enforced rootless (needs cgroup v2)"
    return _bad("cgroups", "warning", detail, _V2_FIX)


def _tun(f: HostFacts) -> Finding:
    if not f.tun_exists:
        return _bad(
            "tun", "error", "/dev/net/tun missing: job networking fails", "sudo modprobe tun"
        )
    if not f.tun_usable:
        detail = f"/dev/net/tun not read-writable by {f.user}: job networking fails (slirp4netns)"
        return _bad("tun", "error", detail, "sudo chmod 666 /dev/net/tun")
    return _good("tun", "/dev/net/tun usable")


def _runc_engine(f: HostFacts) -> Finding:
    if not f.runc_engine_missing:
        return _good("engine", "runc engine usable: jobs start without podman", "warning")
    fix = ("sudo chmod 666 /dev/fuse" if f.runc_engine_missing == ("/dev/fuse not read-writable",)
           else "sudo apt-get install runc util-linux fuse-overlayfs slirp4netns "
                "containers-common && sudo chmod 666 /dev/fuse")
    detail = (f"runc engine unusable ({'; '.join(f.runc_engine_missing)}): job containers "
              "start with podman, ~0.15 s more each")
    return _bad("engine", "warning", detail, fix)


def _propagation(f: HostFacts) -> Finding:
    if f.root_shared:
        return _good("mounts", "/ is a shared mount", "warning")
    detail = "/ is not a shared mount: podman warns on every run and mounts do not propagate"
    return _bad("mounts", "warning", detail, "sudo mount --make-rshared /")


def _conf_target(from_env: bool, conf: str | None, name: str) -> str:
    """Where a fix should write: the file an env var forces, else the user's own file."""
    if from_env and conf:
        return conf
    return f"{_USER_CONF}/{name}"


def _write_fix(target: str, text: str) -> str:
    prefix = f"mkdir -p {_USER_CONF} && " if target.startswith(_USER_CONF) else ""
    return f"{prefix}printf {text} > {target}"


def _storage(f: HostFacts) -> Finding:
    driver, source = f.storage_driver, f.storage_conf or "no storage.conf"
    if driver not in (None, "vfs"):
        return _good("storage-driver", f"{driver} (from {source})", "warning")
    detail = (
        f"{driver or 'unset'} (from {source}): podman falls back to vfs, which copies every layer"
        " and makes job starts 3-20x slower; existing images need `podman system reset` after"
        " switching"
    )
    if f.storage_conf == "STORAGE_DRIVER":
        return _bad("storage-driver", "warning", detail, "unset STORAGE_DRIVER")
    target = _conf_target(f.storage_conf_from_env, f.storage_conf, "storage.conf")
    return _bad("storage-driver", "warning", detail, _write_fix(target, _STORAGE_TEXT))


def _runtime(f: HostFacts) -> Finding:
    name = PurePath(f.oci_runtime).name if f.oci_runtime else "crun"
    source = f.runtime_conf or "podman's default"
    if name == "crun" and f.cgroup != "v2":
        detail = f"{name} (from {source}) fails on cgroup {f.cgroup} hosts; configure runc"
        target = _conf_target(f.runtime_conf_from_env, f.runtime_conf, "containers.conf")
        return _bad("oci-runtime", "error", detail, _write_fix(target, _ENGINE_TEXT))
    return _good("oci-runtime", f"{name} (from {source})")


def _runtime_dir(f: HostFacts) -> Finding:
    d, want = f.runtime_dir, f"/run/user/{f.uid}"
    create = f"sudo install -d -m 0700 -o {f.uid} -g {f.gid} {want}"
    create += f" && export XDG_RUNTIME_DIR={want}"
    if d.path is None:
        return _bad("runtime-dir", "error", "XDG_RUNTIME_DIR is not set", create)
    if not d.exists:
        return _bad("runtime-dir", "error", f"XDG_RUNTIME_DIR={d.path} is not a directory", create)
    if d.owner_uid != f.uid:
        detail = f"XDG_RUNTIME_DIR={d.path} is owned by uid {d.owner_uid}, not {f.uid}"
        return _bad("runtime-dir", "error", detail, create)
    mode = d.mode or 0
    if mode & 0o077 & ~0o011:
        # Search-only bits (0711) are fine: podman adds them itself when a
        # container's uid slice must traverse to a run root below this dir.
        detail = (f"XDG_RUNTIME_DIR={d.path} has mode {mode:04o}: other users can read or "
                  "write podman's locks and sockets; it must be 0700 (or 0711)")
        return _bad("runtime-dir", "error", detail, f"chmod 0700 {d.path}")
    return _good("runtime-dir", f"{d.path} ({mode:04o}, owned by {f.user})")


def _config_files(f: HostFacts) -> Finding:
    if not f.config_errors:
        return _good("config-files", "containers configuration parses")
    broken = [e.split(": ", 1)[0] for e in f.config_errors]
    fix = " && ".join(f"mv {p} {p}.broken" for p in broken)
    return _bad("config-files", "error", "; ".join(f.config_errors), fix)


_CHECKS: tuple[Callable[[HostFacts], Finding], ...] = (
    _user,
    lambda f: _mapper("newuidmap", f.newuidmap, 7),  # CAP_SETUID
    lambda f: _mapper("newgidmap", f.newgidmap, 6),  # CAP_SETGID
    lambda f: _subids("uid", f, f.subuids),
    lambda f: _subids("gid", f, f.subgids),
    lambda f: _tool("podman", f.podman, "error"),
    lambda f: _tool("buildah", f.buildah, "warning"),
    lambda f: _tool("runc", f.runc, "error"),
    _cgroups,
    _tun,
    _runc_engine,
    _propagation,
    _storage,
    _runtime,
    _runtime_dir,
    _config_files,
)


def evaluate(facts: HostFacts) -> list[Finding]:
    """Every check's verdict, in a fixed order (pure: no I/O)."""
    return [check(facts) for check in _CHECKS]


def errors(findings: Iterable[Finding]) -> list[Finding]:
    """The findings that stop runner from running jobs."""
    return [f for f in findings if not f.ok and f.severity == "error"]


_TAGS = {"ok": ("ok", "32"), "warning": ("warn", "33"), "error": ("FAIL", "31")}


def render(findings: Iterable[Finding], color: bool) -> str:
    """One line per check, and below each problem its fix command, indented."""
    lines = []
    for f in findings:
        tag, code = _TAGS["ok" if f.ok else f.severity]
        shown = f"\x1b[{code}m{tag:<4}\x1b[0m" if color else f"{tag:<4}"
        lines.append(f"{shown}  {f.check:<15} {f.detail}")
        if not f.ok and f.fix:
            lines.append(f"      {'fix:':<15} {f.fix}")
    return "\n".join(lines)


def ensure_ready(facts: HostFacts) -> None:
    """Raise ``HostSetupError`` listing every error finding and its fix; warnings pass."""
    bad = errors(evaluate(facts))
    if bad:
        raise HostSetupError(
            "this host is not ready for rootless jobs (`runner doctor` shows everything):\n"
            + render(bad, color=False)
        )
