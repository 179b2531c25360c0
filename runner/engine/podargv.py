"""Pure builders of podman argv for a job's pod and its service containers (no I/O).

A job with services gets its own pod: one network namespace (services on
localhost, aliases in /etc/hosts) and one user namespace, the job's UID
slice, which every container of the pod shares (podman refuses a uidmap on a
container that joins a pod, so the slice is set on the pod).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

from runner.engine.argv import (
    LABEL_JOB,
    LABEL_RUN,
    Resources,
    StoreSpec,
    cgroup_mask_options,
    global_options,
    hardening_options,
    store_options,
)
from runner.engine.imageref import ImageRef

LABEL_SERVICE = "io.github.runner.service"


@dataclass(frozen=True)
class PodSpec:
    """Everything that decides the ``podman pod create`` of one job."""

    name: str
    run_id: str
    job: str
    id_base: int
    id_size: int = 65536
    hosts: tuple[str, ...] = ()
    """Service aliases: each resolves to 127.0.0.1 in every container of the pod."""
    network: str | None = None
    runtime: str | None = None
    store: StoreSpec | None = None
    """The tenant's store when the job's images are there; None: the user's own."""


@dataclass(frozen=True)
class ServiceSpec:
    """One service container of a pod."""

    name: str
    image: ImageRef
    env_file: Path
    """Its variables, in a 0600 file: values never go on a command line."""
    entrypoint: tuple[str, ...] | None = None
    command: tuple[str, ...] | None = None
    pull: str = "missing"
    resources: Resources = field(default_factory=Resources)
    """The job's limits apply to each of its services too."""


def pod_create_argv(spec: PodSpec) -> list[str]:
    """``podman pod create`` with the job's slice, network and service host names."""
    mapping = f"0:{spec.id_base}:{spec.id_size}"
    argv = ["podman", *global_options(spec.runtime, spec.store), "pod", "create",
            f"--name={spec.name}"]
    argv += ["--label", f"{LABEL_RUN}={spec.run_id}", "--label", f"{LABEL_JOB}={spec.job}"]
    argv += ["--uidmap", mapping, "--gidmap", mapping]
    if spec.network:
        argv += ["--network", spec.network]
    for host in spec.hosts:
        argv.append(f"--add-host={host}:127.0.0.1")
    return argv


def service_argv(pod: PodSpec, spec: ServiceSpec) -> list[str]:
    """``podman run --detach`` of a service in ``pod``; its log stays for a failure report."""
    argv = ["podman", *global_options(pod.runtime, pod.store), "run", "--detach",
            f"--pod={pod.name}"]
    argv += [f"--name={spec.name}", "--label", f"{LABEL_RUN}={pod.run_id}"]
    argv += ["--label", f"{LABEL_JOB}={pod.job}", "--label", f"{LABEL_SERVICE}={spec.image}"]
    argv += [*hardening_options(), f"--pull={spec.pull}"]
    argv += ["--env-file", str(spec.env_file), *spec.resources.options()]
    argv += cgroup_mask_options(spec.resources)
    if spec.entrypoint is not None:
        argv.append(f"--entrypoint={json.dumps(list(spec.entrypoint))}")
    argv += ["--", spec.image]
    if spec.command is not None:
        argv += list(spec.command)
    return argv


def pod_remove_argv(name: str, runtime: str | None = None,
                    store: StoreSpec | None = None) -> list[str]:
    """Remove a pod and every container in it at once; an unknown pod is not an error."""
    return ["podman", *global_options(runtime, store), "pod", "rm", "--force", "--ignore",
            "--time", "0", "--", name]


def run_pods_argv(run_id: str, store: StoreSpec | None = None) -> list[str]:
    """Names of every pod of run ``run_id`` (to sweep after a crashed run)."""
    return ["podman", *store_options(store), "pod", "ps", "--filter",
            f"label={LABEL_RUN}={run_id}", "--format", "{{.Name}}"]


def exposed_ports_argv(images: list[ImageRef], store: StoreSpec | None = None) -> list[str]:
    """Each image's exposed ports (``{"5432/tcp":{}}``), one JSON object per line."""
    return ["podman", *store_options(store), "image", "inspect", "--format",
            "{{json .Config.ExposedPorts}}", "--", *images]


REBIND_NETNS_SCRIPT = (
    'for f; do grep -qF " $f " /proc/self/mountinfo || unshare --net mount --bind'
    ' /proc/self/ns/net "$f"; done')
"""Put an empty network namespace on each netns file that is no longer a mount."""


def rebind_netns_argv(paths: list[Path]) -> list[str]:
    """In podman's namespace, mount a fresh network namespace on netns files podman lost.

    A pod's netns file under ``$XDG_RUNTIME_DIR/netns`` is a bind mount of the
    namespace, in podman's mount namespace. When the mount is gone (a run
    killed at the wrong moment, ``/run`` cleaned, or a process that detached
    it), podman refuses every later call on the pod: "unknown FS magic".
    An empty namespace there is enough for podman to tear the pod down.
    """
    return ["podman", "unshare", "sh", "-c", REBIND_NETNS_SCRIPT, "sh", *map(str, paths)]


def logs_argv(name: str, tail: int, store: StoreSpec | None = None) -> list[str]:
    """The last ``tail`` lines a container wrote."""
    return ["podman", *store_options(store), "logs", "--tail", str(tail), "--", name]


def state_argv(name: str, store: StoreSpec | None = None) -> list[str]:
    """A container's state and exit code, e.g. ``running 0`` or ``exited 1``."""
    return ["podman", *store_options(store), "inspect", "--format",
            "{{.State.Status}} {{.State.ExitCode}}", "--", name]


HEALTH_SCRIPT = ('c=; while IFS= read -r l || [ -n "$l" ]; do c="$c$l\n"; done; '
                 'exec </dev/null; eval "$c"')
"""Read the health command from stdin, then run it as ``sh -c`` would, with no stdin left."""


def health_exec_argv(name: str, runtime: str | None = None,
                     store: StoreSpec | None = None) -> list[str]:
    """Run a service's health command in it once, as docker's CMD-SHELL check (``/bin/sh``).

    The command goes in on stdin (``HEALTH_SCRIPT`` reads it with shell builtins
    only), never in argv: it is the workflow's text, and an expression in it
    may have put a secret there. ``podman exec`` rather than podman's own
    ``--health-cmd``: rootless podman schedules its checks with systemd
    timers (none without a user session), and on the test host (podman 4.3,
    cgroup v1) ``podman healthcheck run`` said "unhealthy" even for ``true``.
    Measured there, an exec takes 0.13 s and a ``healthcheck run`` 0.11 s:
    the same cost, and the exec answers truly. The command runs as the
    service's user, with its environment, in its namespaces.
    """
    return ["podman", *global_options(runtime, store), "exec", "--interactive", "--", name,
            "/bin/sh", "-c", HEALTH_SCRIPT]
