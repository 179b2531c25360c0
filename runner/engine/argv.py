"""Pure builders of podman argv lists: no I/O, no environment reads.

Tests assert whole lists, so any change to what we ask podman for shows up
in review as a changed expectation.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from pathlib import Path

from runner.engine.imageref import ImageRef

LABEL_RUN = "io.github.runner.run"
LABEL_JOB = "io.github.runner.job"
CONTAINER_CAPS = ("CHOWN", "DAC_OVERRIDE", "FOWNER", "FSETID", "KILL", "NET_BIND_SERVICE",
                  "SETFCAP", "SETGID", "SETPCAP", "SETUID", "SYS_CHROOT")
"""The capabilities a job's root has, inside its own user namespace only (docs/security.md).

podman 4.3's defaults, pinned so a containers.conf cannot widen them: what
package managers need (CHOWN, DAC_OVERRIDE, FOWNER, FSETID, SETUID, SETGID,
SETFCAP for dpkg), SYS_CHROOT for in-job ``buildah --isolation chroot``, KILL,
SETPCAP and NET_BIND_SERVICE. No NET_RAW, MKNOD, AUDIT_WRITE or SYS_ADMIN.
"""
CONTROL_DIR = "/.runner"
"""Where a job container sees its control directory (scripts written by us)."""


@dataclass(frozen=True)
class StoreSpec:
    """A containers-storage store other than the user's default: a tenant's build store.

    Images a build job makes live only there, so one tenant's layers never
    feed another's build; jobs that run such an image use the same store.
    """

    root: Path
    runroot: Path
    driver: str = "overlay"

    def to_json(self) -> dict[str, str]:
        """For files that must name the store again later (slice markers, job records)."""
        return {"root": str(self.root), "runroot": str(self.runroot), "driver": self.driver}

    @classmethod
    def from_json(cls, doc: object) -> StoreSpec | None:
        """The store ``to_json`` wrote; None for anything else."""
        if not isinstance(doc, dict):
            return None
        try:
            return cls(Path(doc["root"]), Path(doc["runroot"]), str(doc["driver"]))
        except (KeyError, TypeError):
            return None


def store_options(store: StoreSpec | None) -> list[str]:
    """Global podman/buildah options selecting ``store`` (none for the default store)."""
    if store is None:
        return []
    return ["--root", str(store.root), "--runroot", str(store.runroot),
            "--storage-driver", store.driver]


@dataclass(frozen=True)
class Resources:
    """cgroup limits to ask podman for (only those the host can enforce rootless)."""

    memory: int | None = None
    pids: int | None = None
    cpus: float | None = None

    def options(self) -> list[str]:
        """``--memory`` (swap included: ``--memory-swap`` equal), ``--pids-limit``, ``--cpus``."""
        argv: list[str] = []
        if self.memory is not None:
            argv += ["--memory", str(self.memory), "--memory-swap", str(self.memory)]
        if self.pids is not None:
            argv += ["--pids-limit", str(self.pids)]
        if self.cpus is not None:
            argv += ["--cpus", f"{self.cpus:g}"]
        return argv


@dataclass(frozen=True)
class ContainerSpec:
    """Everything that decides the ``podman run`` of one job container."""

    name: str
    image: ImageRef
    run_id: str
    job: str
    workspace: Path
    project_dir: str
    control: Path
    pidfile: Path
    """Host path (never mounted into the container) where podman writes PID 1's host pid."""
    id_base: int
    """First id of the job's slice in podman's rootless namespace (see ``slices``)."""
    id_size: int = 65536
    network: str | None = None
    runtime: str | None = None
    pull: str = "missing"
    store: StoreSpec | None = None
    """Where the image is (a tenant's build store); None: the user's default store."""
    pod: str | None = None
    """The job's pod (when it has services): the slice and network are the pod's."""
    resources: Resources = field(default_factory=Resources)
    mounts: tuple[tuple[Path, str], ...] = ()
    """More (host path, container path) binds: a Docker job's socket and certificates."""


def global_options(runtime: str | None, store: StoreSpec | None = None) -> list[str]:
    """Options placed before the podman subcommand."""
    return [*store_options(store), *(["--runtime", runtime] if runtime else [])]


def hardening_options() -> list[str]:
    """Options every job and service container gets, whatever containers.conf says.

    Capabilities pinned to ``CONTAINER_CAPS``; no new privileges through
    setuid binaries; and no ``--http-proxy`` pass-through, which would hand
    the runner's own proxy settings (credentials included) to every job.
    """
    return ["--cap-drop", "all", "--cap-add", ",".join(CONTAINER_CAPS),
            "--security-opt", "no-new-privileges", "--http-proxy=false"]


def job_container_argv(spec: ContainerSpec, supervisor: str) -> list[str]:
    """``podman run`` for a job container whose PID 1 is the supervisor.

    ``--uidmap``/``--gidmap`` give each job its own UID/GID slice (leased by
    ``slices``, which explains why not ``--userns=auto``); the workspace and
    control dirs are chowned into that slice once the supervisor reports it.
    ``no-new-privileges`` stops setuid binaries from gaining anything.
    ``--log-driver=none``: output is streamed by us, masked and written once;
    a second copy in podman's log would hold unmasked secrets. (With it,
    podman 4.3 exits on a proxied signal, so signals go via ``podman kill``.)
    ``--pidfile`` lets us watch PID 1 through a pidfd: its end proves every
    process of the container is gone, well before podman has removed it.
    Values that come from a tenant (names, the image) are joined to their
    option or follow ``--``: none can be read as an option (issue 14, H1).
    """
    argv = ["podman", *global_options(spec.runtime, spec.store), "run", "--rm", "--interactive"]
    argv.append(f"--name={spec.name}")
    argv += ["--label", f"{LABEL_RUN}={spec.run_id}", "--label", f"{LABEL_JOB}={spec.job}"]
    if spec.pod is not None:
        argv.append(f"--pod={spec.pod}")
    else:
        mapping = f"0:{spec.id_base}:{spec.id_size}"
        argv += ["--uidmap", mapping, "--gidmap", mapping]
    argv += hardening_options()
    argv += ["--log-driver", "none", f"--pull={spec.pull}", "--pidfile", str(spec.pidfile)]
    argv += spec.resources.options()
    argv += bounded_writes_options(spec.resources)
    if spec.network and spec.pod is None:
        argv += ["--network", spec.network]
    argv += ["--volume", f"{spec.workspace}:{spec.project_dir}"]
    argv += ["--volume", f"{spec.control}:{CONTROL_DIR}"]
    argv += [f"--volume={source}:{dest}" for source, dest in spec.mounts]
    argv += ["--workdir", "/", "--entrypoint", "/bin/sh", "--", spec.image, "-c", supervisor]
    return argv


def signal_argv(name: str, signal: str, runtime: str | None = None,
                store: StoreSpec | None = None) -> list[str]:
    """Send ``signal`` to a container's PID 1 (our supervisor)."""
    return ["podman", *global_options(runtime, store), "kill", "--signal", signal, "--", name]


def force_remove_argv(names: list[str], runtime: str | None = None,
                      store: StoreSpec | None = None) -> list[str]:
    """Remove containers at once (SIGKILL, no grace); unknown names are not an error."""
    return ["podman", *global_options(runtime, store), "rm", "--force", "--ignore", "--time",
            "0", "--", *names]


def list_containers_argv(label: str, store: StoreSpec | None = None) -> list[str]:
    """Names of all containers (running or not, ours or buildah's) carrying ``label``."""
    return ["podman", *store_options(store), "ps", "--all", "--external", "--filter",
            f"label={label}", "--format", "{{.Names}}"]


def cgroup_mask_options(resources: Resources) -> list[str]:
    """Hide /sys/fs/cgroup from a container without cgroup limits (see below)."""
    return [] if resources != Resources() else ["--security-opt", "mask=/sys/fs/cgroup"]


def bounded_writes_options(resources: Resources) -> list[str]:
    """Keep a job container's writes where its disk limit counts them, or small.

    An image's ``VOLUME`` would be an anonymous volume outside the overlay
    upper dir: ``--image-volume ignore`` leaves such paths in the container's
    own layer (as the runc engine does). On cgroup v1, podman puts a writable
    tmpfs without a size at /sys/fs/cgroup (RAM, half the host's, for the
    taking); masked, it is an empty read-only dir, as under the runc engine.
    A job with cgroup limits (possible only on v2, with a cgroup2 mount and no
    such tmpfs) keeps it, so that its tools can read their limits.
    """
    return ["--image-volume", "ignore", *cgroup_mask_options(resources)]


def written_paths_argv(name: str, runtime: str | None = None,
                       store: StoreSpec | None = None) -> list[str]:
    """A container's record as JSON: where its own writes go (see ``written_dirs``)."""
    return ["podman", *global_options(runtime, store), "container", "inspect", "--format",
            "json", "--", name]


@dataclass(frozen=True)
class Written:
    """Where a running container can write on the host, from podman's record of it."""

    dirs: tuple[Path, ...] = ()
    pid: int | None = None
    """Its PID 1 as the host numbers it (deleted files held open there count too)."""


def written_dirs(inspect_json: str) -> Written:
    """Host dirs holding what a container can write besides runner's own mounts.

    Its overlay upper dir; the dirs of the files podman bind-mounts
    read-write into it: /etc/hosts, /etc/resolv.conf (a pod's infra
    container's, for a job in a pod), /etc/hostname and /run/.containerenv
    (beside the hostname file); and its named and anonymous volumes (an
    image's ``VOLUME``, for a service). Empty if ``inspect_json`` is not
    podman's; podman's own warnings before the JSON are skipped.
    """
    start = re.search(r"^\[", inspect_json, re.MULTILINE)  # podman may warn first
    try:
        doc = json.loads(inspect_json[start.start() if start else 0:])[0]
        upper = ((doc.get("GraphDriver") or {}).get("Data") or {}).get("UpperDir")
        files = [doc.get(key) for key in ("HostsPath", "ResolvConfPath", "HostnamePath")]
        volumes = [mount.get("Source") for mount in doc.get("Mounts") or ()
                   if mount.get("Type") == "volume"]
        pid = (doc.get("State") or {}).get("Pid")
    except (ValueError, IndexError, TypeError, AttributeError):
        return Written()
    dirs = [Path(upper)] if isinstance(upper, str) else []
    dirs += [Path(path).parent for path in files if isinstance(path, str)]
    dirs += [Path(path) for path in volumes if isinstance(path, str)]
    return Written(
        tuple(dict.fromkeys(p for p in dirs if p.is_absolute() and p != Path("/"))),
        pid if isinstance(pid, int) and pid > 1 else None)


REMOVE_STORE_SCRIPT = (
    'awk -v r="$1/" \'index($5 "/", r) == 1 {print $5}\' /proc/self/mountinfo | sort -r |'
    ' while read -r m; do umount -l "$m" 2>/dev/null; done; shift; rm -rf -- "$@"')
"""Detach every mount under the store (deepest first), then delete: see ``remove_store_argv``."""


def remove_store_argv(store: StoreSpec) -> list[str]:
    """Delete a whole store, inside podman's namespace (its files belong to subordinate ids).

    Once podman has used a store it keeps the store's driver directory
    bind-mounted in that namespace, and a container that died uncleanly
    leaves its shm mounted there too; a plain ``rm -rf`` would fail, busy.
    They are detached lazily first (a process still in one keeps its view).
    """
    return ["podman", "unshare", "sh", "-c", REMOVE_STORE_SCRIPT, "sh", str(store.root),
            str(store.root), str(store.runroot)]


def image_inspect_argv(ref: ImageRef) -> list[str]:
    """The user's store's record of image ``ref`` (layers, config) as JSON."""
    return ["podman", "image", "inspect", "--format", "json", "--", ref]


def image_exists_argv(ref: ImageRef) -> list[str]:
    """Whether the user's store has image ``ref``: exit 0 yes, 1 no, anything else unknown."""
    return ["podman", "image", "exists", "--", ref]


def unshare_argv(command: list[str]) -> list[str]:
    """Run ``command`` inside podman's rootless user namespace (as its root)."""
    return ["podman", "unshare", *command]
