"""Job containers started with runc directly: podman's work for a job, without podman per job.

A ``podman run`` costs ~160 ms of podman's own time here (three at once
~0.45 s), most of a short pipeline. ``RuncContainer`` is a ``JobContainer``
whose process is a small monitor (see ``runcargv``) instead of ``podman
run --rm``: the supervisor, its frames, the pidfd watch and the way a job
ends are the same. podman still owns the images: their layers are read
where podman stored them, found once per image id (``ImageInfo``).

Only images in the user's own store, run as root, by jobs without
services or resource limits take this path (``eligible``); everything
else keeps podman, which pulls, makes pods and sets cgroups.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import platform
import signal
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from runner.engine import argv as podman_argv
from runner.engine import childenv, ocispec, runcargv, seccomp, store_index
from runner.engine.imageref import ImageRef
from runner.engine.podman import JobContainer, run_captured
from runner.errors import EngineError

SECCOMP_PROFILE = Path("/usr/share/containers/seccomp.json")


@dataclass(frozen=True)
class ImageInfo:
    """What runc needs of an image podman stored: its layer dirs (top first) and config."""

    image_id: str
    layers: tuple[Path, ...]
    env: tuple[str, ...]
    user: str

    def runs_as_root(self) -> bool:
        return self.user in ("", "root", "0", "0:0", "root:root")

    def to_json(self) -> dict[str, Any]:
        return {"id": self.image_id, "layers": [str(p) for p in self.layers],
                "env": list(self.env), "user": self.user}

    @classmethod
    def from_json(cls, doc: object) -> ImageInfo | None:
        if not isinstance(doc, dict):
            return None
        try:
            return cls(str(doc["id"]), tuple(Path(p) for p in doc["layers"]),
                       tuple(str(e) for e in doc["env"]), str(doc["user"]))
        except (KeyError, TypeError):
            return None


def parse_inspect(text: str) -> ImageInfo:
    """``podman image inspect`` JSON (one image) as ``ImageInfo``; raises on anything else."""
    try:
        doc = json.loads(text)[0]
        data = doc["GraphDriver"]["Data"]
        if doc["GraphDriver"]["Name"] != "overlay":
            raise EngineError(f"image store driver is {doc['GraphDriver']['Name']}, not overlay")
        lower = [p for p in (data.get("LowerDir") or "").split(":") if p]
        config = doc.get("Config") or {}
        return ImageInfo(str(doc["Id"]), tuple(Path(p) for p in [data["UpperDir"], *lower]),
                         tuple(config.get("Env") or ()), str(config.get("User") or ""))
    except (ValueError, KeyError, IndexError, TypeError) as exc:
        raise EngineError(f"unexpected podman image inspect output: {exc}") from exc


async def image_info(ref: ImageRef, cache_dir: Path) -> ImageInfo | None:
    """``ref``'s layers and config; None if podman's store does not have it.

    Kept per reference under ``cache_dir`` and trusted while the store's own
    index still gives the reference the same id and the layers exist: a
    podman call (~70 ms) only when an image is new or its tag moved.
    """
    name = ImageRef(store_index.tagged(ref))
    path = cache_dir / (hashlib.sha256(name.encode()).hexdigest()[:32] + ".json")
    try:
        cached = ImageInfo.from_json(json.loads(path.read_text(encoding="utf-8")))
    except (OSError, ValueError):
        cached = None
    if cached is not None and cached.layers:
        store_root = cached.layers[0].parents[2]
        if (store_index.listed_id(store_root, "overlay", name) == cached.image_id
                and all(layer.is_dir() for layer in cached.layers)):
            return cached
    code, out = await run_captured(podman_argv.image_inspect_argv(name))
    if code:
        return None
    info = parse_inspect(out)
    cache_dir.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(f".{os.getpid()}.tmp")
    tmp.write_text(json.dumps(info.to_json()), encoding="utf-8")
    tmp.replace(path)
    return info


@dataclass(frozen=True)
class RuncHost:
    """Per-run facts the runc engine needs, looked up once."""

    ns_pid: int
    """A process inside podman's user and mount namespace (the namespace helper)."""
    state_root: Path
    seccomp: dict[str, Any]
    resolv_conf: str
    nofile: int


def host_seccomp() -> dict[str, Any]:
    """podman's default profile in OCI form, for this machine and the jobs' capabilities."""
    try:
        profile = seccomp.load_profile(SECCOMP_PROFILE.read_text(encoding="utf-8"))
        return seccomp.oci_seccomp(profile, podman_argv.CONTAINER_CAPS, platform.machine(),
                                   platform.release())
    except (OSError, ValueError) as exc:
        raise EngineError(f"cannot use seccomp profile {SECCOMP_PROFILE}: {exc}") from exc


class RuncContainer(JobContainer):
    """A job container run by runc under a monitor shell (same life cycle as podman's)."""

    def __init__(self, spec: podman_argv.ContainerSpec, bundle: Path, image: ImageInfo,
                 host: RuncHost, hold_fds: tuple[int, ...] = ()) -> None:
        super().__init__(spec, hold_fds)
        self.image_info = image
        self.host = host
        self.bundle = bundle
        self.merged = Path("/nonexistent")
        """The root file system's mount point, in a new 0711 dir in /tmp: runc's init, as the
        job's root, must reach it along a path that uid may traverse, and a project dir (or
        a 0700 home) need not allow that. The monitor removes both when it is done."""
        """A new dir whose parents others may traverse; the monitor gives it to the job's root."""
        self._config: dict[str, Any] = {}

    async def start(self, timeout_s: float) -> None:
        mount_dir = Path(tempfile.mkdtemp(prefix="runner-root-"))
        mount_dir.chmod(0o711)
        self.merged = mount_dir / "rootfs"
        try:
            self._write_bundle()
            await super().start(timeout_s)
        except BaseException:
            with contextlib.suppress(OSError):
                mount_dir.rmdir()  # only if the monitor never made the mount point
            raise

    def _write_bundle(self) -> None:
        spec, bundle = self.spec, self.bundle
        bundle.mkdir(mode=0o700)
        for sub in ("upper", "work", "etc"):
            (bundle / sub).mkdir()
        networked = spec.network != "none"
        hostname = spec.name[-63:].lstrip("-.") or "runner"
        files = {
            "hosts": ocispec.hosts_file(hostname, networked),
            "hostname": hostname + "\n",
            "resolv.conf": ocispec.resolv_conf(self.host.resolv_conf, networked),
            "containerenv": ocispec.containerenv(spec.name, spec.image),
        }
        for name, text in files.items():
            (bundle / "etc" / name).write_text(text, encoding="utf-8")
            (bundle / "etc" / name).chmod(0o644)
        config = ocispec.oci_config(ocispec.RuncSpec(
            rootfs=self.merged, hostname=hostname, env=self.image_info.env,
            id_base=spec.id_base, id_size=spec.id_size, workspace=spec.workspace,
            project_dir=spec.project_dir, control=spec.control, etc=bundle / "etc",
            args=(), nofile=self.host.nofile), self.host.seccomp)
        if networked:
            config["hooks"] = {"createRuntime": [runcargv.slirp_hook(bundle, spec.run_id)]}
        self._config = config

    def _launch_argv(self, supervisor: str) -> list[str]:
        bundle = self.bundle
        self._config["process"]["args"] = ["/bin/sh", "-c", supervisor]
        (bundle / "config.json").write_text(json.dumps(self._config), encoding="utf-8")
        overlay = runcargv.overlay_options(list(self.image_info.layers), bundle / "upper",
                                           bundle / "work", self.spec.id_base,
                                           self.spec.id_size)
        return runcargv.monitor_argv(self.host.ns_pid, bundle, self.merged, overlay=overlay,
                                     runc_root=self.host.state_root, container_id=self.spec.name,
                                     pidfile=self.spec.pidfile, id_base=self.spec.id_base)

    def _child_env(self) -> dict[str, str]:
        """The monitor, runc and fuse-overlayfs read nothing of runner's environment."""
        return childenv.helper_env(os.environ)

    def _signal_argv(self, signal_name: str) -> list[str]:
        return runcargv.kill_argv(self.host.ns_pid, self.host.state_root, self.spec.name,
                                  signal_name)

    async def _remove(self) -> None:
        code, out = await run_captured(runcargv.delete_argv(
            self.host.ns_pid, self.host.state_root, [self.spec.name]), env=self._child_env())
        if code:
            raise EngineError(f"runc could not remove container {self.spec.name}: "
                              f"{out.strip()}")

    async def written_dirs(self) -> list[Path]:
        """The overlay upper dir and the dir of the /etc files bind-mounted read-write."""
        return [self.bundle / "upper", self.bundle / "etc"]


def state_root(environ: Mapping[str, str]) -> Path:
    """runc's state dir for runner's containers: per user, in a tmpfs, gone at reboot."""
    runtime = environ.get("XDG_RUNTIME_DIR")
    return (Path(runtime) if runtime else Path.home() / ".cache") / "runner" / "runc"


async def remove_run_containers(ns_pid: int, state_root: Path, run_id: str) -> list[str]:
    """Remove every runc container of run ``run_id`` (one whose runner died) and stop the
    slirp4netns its containers' hooks started (``stop_slirps``)."""
    env = childenv.helper_env(os.environ)
    code, out = await run_captured(runcargv.list_argv(ns_pid, state_root), env=env)
    ids: list[str] = []
    if not code:
        prefix = f"runner-{run_id}-"
        ids = [line.strip() for line in out.splitlines() if line.strip().startswith(prefix)]
    if ids:
        await run_captured(runcargv.delete_argv(ns_pid, state_root, ids), env=env)
    stop_slirps(run_id)
    return ids


def stop_slirps(run_id: str, proc: Path = Path("/proc")) -> list[int]:
    """SIGKILL each slirp4netns started for run ``run_id``; the pids signalled.

    Only for a run that is gone: its monitors may have died before they could
    stop slirp4netns, or lost its pid file with the scratch dir. A process is
    recognised by its environment (``runcargv.SLIRP_RUN_VAR``), read after a
    pidfd pins it, so a reused pid is never signalled and no other run's
    slirp4netns is touched.
    """
    mark = f"{runcargv.SLIRP_RUN_VAR}={run_id}".encode()
    stopped = []
    for entry in proc.iterdir():
        if not entry.name.isdigit():
            continue
        try:
            if (entry / "comm").read_text().strip() != "slirp4netns":
                continue
            pidfd = os.pidfd_open(int(entry.name))
        except OSError:
            continue
        try:
            if mark in (entry / "environ").read_bytes().split(b"\0"):
                signal.pidfd_send_signal(pidfd, signal.SIGKILL)
                stopped.append(int(entry.name))
        except OSError:
            pass  # gone meanwhile, or not ours to read
        finally:
            os.close(pidfd)
    return stopped
