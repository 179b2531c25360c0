"""What this host offers rootless podman, gathered cheaply and without judging it.

``gather_quick`` only reads files (so the executor can afford it before every
run); ``gather_full`` adds the ``--version`` subprocesses that ``runner doctor``
shows. Every system path is read below ``root`` and every environment value
comes from ``environ``, so unit tests build fake hosts under ``tmp_path``.
Judging the facts is ``runner.host.doctor``'s job.
"""

from __future__ import annotations

import dataclasses
import os
import pwd
import subprocess
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path

from runner.host import confs, probes
from runner.host.probes import SLICE, Binary, IdRange, RuntimeDir

__all__ = ["SLICE", "Binary", "HostFacts", "IdRange", "RuntimeDir", "gather_full", "gather_quick"]


@dataclass(frozen=True)
class HostFacts:
    """Everything ``runner.host.doctor.evaluate`` judges; no field needs podman to run."""

    user: str
    uid: int
    gid: int
    is_root: bool
    newuidmap: Binary
    newgidmap: Binary
    subuids: tuple[IdRange, ...]
    subgids: tuple[IdRange, ...]
    subid_free_start: int
    """First 65536-aligned id above every range in both files: where a new range fits."""
    podman: Binary
    buildah: Binary
    runc: Binary
    cgroup: str
    """Cgroup mode: "v2", "hybrid" or "v1"."""
    delegated_controllers: frozenset[str]
    tun_exists: bool
    tun_usable: bool
    root_shared: bool
    storage_driver: str | None
    storage_conf: str | None
    """The file (or ``STORAGE_DRIVER``) that decided ``storage_driver``; None: no file."""
    storage_conf_from_env: bool
    oci_runtime: str | None
    """``[engine] runtime`` as configured; None means podman's built-in default, crun."""
    runtime_conf: str | None
    runtime_conf_from_env: bool
    runtime_dir: RuntimeDir
    config_errors: tuple[str, ...] = ()
    runc_engine_missing: tuple[str, ...] = ()
    """Why job containers cannot be started with runc directly (empty: they can)."""

    @property
    def limits_enforceable(self) -> bool:
        """Rootless memory/pids limits need cgroup v2 with both controllers delegated."""
        return self.cgroup == "v2" and {"memory", "pids"} <= self.delegated_controllers


def gather_quick(
    root: Path = Path("/"), environ: Mapping[str, str] = os.environ, uid: int | None = None
) -> HostFacts:
    """Facts from file reads only: cheap enough to check before every run."""
    uid = os.geteuid() if uid is None else uid
    user, gid, home = _account(root, uid)
    subuid, subgid = probes.read(root / "etc/subuid"), probes.read(root / "etc/subgid")
    driver, storage_conf, storage_errors = confs.storage_driver(root, environ, home)
    runtime, runtime_conf, runtime_errors = confs.oci_runtime(root, environ, home)

    def find(name: str, *, system_dirs: bool = True) -> Binary:
        return probes.binary(probes.which(name, root, environ, system_dirs=system_dirs))

    return HostFacts(
        user=user,
        uid=uid,
        gid=gid,
        is_root=uid == 0,
        newuidmap=find("newuidmap"),
        newgidmap=find("newgidmap"),
        subuids=probes.parse_subids(subuid, user, uid),
        subgids=probes.parse_subids(subgid, user, uid),
        subid_free_start=probes.free_subid_start(subuid, subgid),
        podman=find("podman", system_dirs=False),  # runner itself runs "podman" from PATH
        buildah=find("buildah", system_dirs=False),
        runc=find("runc"),
        cgroup=probes.cgroup_version(root),
        delegated_controllers=probes.delegated_controllers(root, uid),
        tun_exists=(root / "dev/net/tun").exists(),
        tun_usable=probes.openable(root / "dev/net/tun"),
        root_shared=probes.root_shared(root),
        storage_driver=driver,
        storage_conf=storage_conf,
        storage_conf_from_env=bool(environ.get("CONTAINERS_STORAGE_CONF")),
        oci_runtime=runtime,
        runtime_conf=runtime_conf,
        runtime_conf_from_env=bool(environ.get("CONTAINERS_CONF")),
        runtime_dir=probes.runtime_dir(environ.get("XDG_RUNTIME_DIR")),
        config_errors=storage_errors + runtime_errors,
        runc_engine_missing=_runc_engine_missing(root, find),
    )


def _runc_engine_missing(root: Path, find: Callable[[str], Binary]) -> tuple[str, ...]:
    """What the runc engine (``runner.engine.runc``) needs and this host lacks."""
    missing = [f"{name} not found" for name in ("runc", "nsenter", "unshare", "fuse-overlayfs",
                                                 "slirp4netns") if find(name).path is None]
    if not probes.openable(root / "dev/fuse"):
        missing.append("/dev/fuse not read-writable")
    if not (root / "usr/share/containers/seccomp.json").is_file():
        missing.append("/usr/share/containers/seccomp.json missing")
    return tuple(missing)


def gather_full(
    root: Path = Path("/"), environ: Mapping[str, str] = os.environ, uid: int | None = None
) -> HostFacts:
    """``gather_quick`` plus tool versions (three short subprocesses, for ``runner doctor``)."""
    facts = gather_quick(root, environ, uid)
    env = dict(environ)
    return dataclasses.replace(
        facts,
        podman=_with_version(facts.podman, env),
        buildah=_with_version(facts.buildah, env),
        runc=_with_version(facts.runc, env),
    )


def _with_version(binary: Binary, env: dict[str, str]) -> Binary:
    """First line of ``binary --version``; a binary that cannot say is still reported."""
    if binary.path is None:
        return binary
    try:
        out = subprocess.run(
            [binary.path, "--version"],
            check=False,
            capture_output=True,
            text=True,
            timeout=15,
            env=env,
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        return dataclasses.replace(binary, version=f"unknown ({exc})")
    lines = (out.stdout or out.stderr).strip().splitlines()
    return dataclasses.replace(binary, version=lines[0] if lines else "unknown")


def _account(root: Path, uid: int) -> tuple[str, int, Path]:
    """Name, primary gid and home of ``uid``: the tree's passwd first, then NSS on a real root."""
    for line in probes.read(root / "etc/passwd").splitlines():
        fields = line.split(":")
        if len(fields) >= 6 and fields[2] == str(uid) and fields[3].isdigit():
            return fields[0], int(fields[3]), Path(fields[5])
    if root == Path("/"):
        try:
            entry = pwd.getpwuid(uid)
        except KeyError:
            pass
        else:
            return entry.pw_name, entry.pw_gid, Path(entry.pw_dir)
    return str(uid), uid, Path("/nonexistent")
