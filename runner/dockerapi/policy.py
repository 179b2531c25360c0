"""What a job may ask of its Docker API, and a ``docker run`` turned into podman's own spec.

Pure functions, no I/O. A compat container-create is refused if it asks for
anything that would leave the job's sandbox (privileged, added capabilities,
devices, host namespaces, host paths outside the workspace, security
options). What remains becomes a libpod create in the job's pod: the pod
gives the container the job's uid slice and network namespace, which the
compat API cannot express (podman refuses ``container:`` modes on a pod's
container from outside the pod, and joining a user namespace by path leaves
the image's files unmapped).
"""

from __future__ import annotations

import posixpath
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from runner.engine.argv import CONTAINER_CAPS, LABEL_JOB, LABEL_RUN, Resources

LABEL_DIND = "io.github.runner.dind"
"""Set on every container a job's Docker API makes: its token (listing and pruning filter)."""


class Refused(Exception):
    """A request the job may not make; the text goes to the docker CLI (and so the job log)."""


@dataclass(frozen=True)
class Scope:
    """One job's Docker API: its pod, workspace and identity."""

    pod: str
    token: str
    """Per-job random label value: which containers are this job's."""
    run_id: str
    job: str
    project_dir: str
    """The workspace's path in the job container (``/builds/group/project``)."""
    resources: Resources = field(default_factory=Resources)


@dataclass(frozen=True)
class Bind:
    """A bind mount the job asked for, its source a path inside its workspace."""

    rel: str
    """Path below the workspace ('' for the workspace itself); never has '..' or links."""
    dest: str
    options: tuple[str, ...]


@dataclass
class CreatePlan:
    """A compat create, translated: the libpod spec minus the bind sources, still to pin."""

    spec: dict[str, Any]
    binds: list[Bind]
    hosts: list[str]
    """Names the job may reach this container by (its name, network aliases)."""


_HOST_MODES = ("PidMode", "IpcMode", "UTSMode", "UsernsMode", "CgroupnsMode")
_REFUSED_TRUTHY = {
    "Privileged": "--privileged",
    "CapAdd": "--cap-add",
    "Devices": "--device",
    "DeviceRequests": "--gpus",
    "DeviceCgroupRules": "--device-cgroup-rule",
    "SecurityOpt": "--security-opt",
    "Sysctls": "--sysctl",
    "CgroupParent": "--cgroup-parent",
    "VolumesFrom": "--volumes-from",
    "Links": "--link",
    "Runtime": "--runtime",
    "OomScoreAdj": "--oom-score-adj",
}
_NAME = re.compile(r"[a-zA-Z0-9][a-zA-Z0-9_.-]{0,100}")
_VOLUME = re.compile(r"[a-zA-Z0-9][a-zA-Z0-9_.-]*")


def refuse_option(option: str) -> Refused:
    """The one message every refused option gets."""
    return Refused(f"runner: {option} is not allowed: this Docker API runs the job's "
                   "containers rootless in the job's own sandbox (see docs/docker-jobs.md)")


def plan_create(body: Mapping[str, Any], name: str | None, scope: Scope) -> CreatePlan:
    """A compat ``POST /containers/create`` body as a libpod spec in the job's pod."""
    host = body.get("HostConfig") or {}
    if not isinstance(host, dict):
        raise Refused("runner: HostConfig must be an object")
    check_host(host)
    binds, volumes = _binds(host.get("Binds") or [], scope)
    more_binds, mounts = _mounts(host.get("Mounts") or [], scope)
    env: dict[str, str] = {}
    for item in body.get("Env") or []:
        key, _, value = str(item).partition("=")
        env[key] = value
    labels = {str(k): str(v) for k, v in (body.get("Labels") or {}).items()}
    labels.update({LABEL_DIND: scope.token, LABEL_RUN: scope.run_id, LABEL_JOB: scope.job})
    spec: dict[str, Any] = {
        "pod": scope.pod, "image": _text(body.get("Image"), "Image"),
        "env": env, "labels": labels, "terminal": bool(body.get("Tty")),
        "stdin": bool(body.get("OpenStdin")), "remove": bool(host.get("AutoRemove")),
        "cap_drop": ["ALL"], "cap_add": list(CONTAINER_CAPS), "no_new_privileges": True,
        "httpproxy": False, "mounts": mounts, "volumes": volumes,
        "read_only_filesystem": bool(host.get("ReadonlyRootfs")),
    }
    if name:
        spec["name"] = name
    spec.update(_process(body))
    spec.update(_host_options(host, scope.resources))
    hosts = [name] if name else []
    endpoints = (body.get("NetworkingConfig") or {}).get("EndpointsConfig") or {}
    for endpoint in endpoints.values():
        hosts += [str(a) for a in (endpoint or {}).get("Aliases") or []]
    return CreatePlan(spec, binds + more_binds,
                      [h for h in dict.fromkeys(hosts) if _NAME.fullmatch(h)])


def check_host(host: Mapping[str, Any]) -> None:
    """Refuse every HostConfig option that would leave the job's sandbox."""
    for key, option in _REFUSED_TRUTHY.items():
        if host.get(key):
            raise refuse_option(option)
    for key in _HOST_MODES:
        mode = str(host.get(key) or "")
        if mode not in ("", "private", "default", "shareable"):
            raise refuse_option(f"--{key[:-4].lower()}={mode}")
    network = str(host.get("NetworkMode") or "default")
    if network in ("host", "none") or ":" in network:
        raise refuse_option(f"--network={network}")
    _check_ports(host.get("PortBindings") or {})


def _process(body: Mapping[str, Any]) -> dict[str, Any]:
    """Command, entrypoint, working dir, user, stop timeout."""
    spec: dict[str, Any] = {}
    for key, name in (("Cmd", "command"), ("Entrypoint", "entrypoint")):
        value = body.get(key)
        if value is not None:
            spec[name] = [str(v) for v in ([value] if isinstance(value, str) else value)]
    for key, name in (("WorkingDir", "work_dir"), ("User", "user")):
        if body.get(key):
            spec[name] = str(body[key])
    if body.get("StopTimeout") is not None:
        spec["stop_timeout"] = int(body["StopTimeout"])
    return spec


def _host_options(host: Mapping[str, Any], job: Resources) -> dict[str, Any]:
    """The harmless HostConfig options, and the job's limits."""
    spec: dict[str, Any] = {}
    if host.get("Init"):
        spec["init"] = True
    if host.get("ShmSize"):
        spec["shm_size"] = int(host["ShmSize"])
    if host.get("GroupAdd"):
        spec["groups"] = [str(g) for g in host["GroupAdd"]]
    resources = _resources(host, job)
    if resources:
        spec["resource_limits"] = resources
    return spec


def _text(value: object, key: str) -> str:
    if not isinstance(value, str) or not value:
        raise Refused(f"runner: {key} must be a non-empty string")
    return value


def _check_ports(bindings: Mapping[str, Any]) -> None:
    """Published ports: the container already listens in the job's network namespace, so
    only ``-p N:N`` (or ``-p N``) means the same thing as with DinD."""
    for port, hosts in bindings.items():
        inside = str(port).split("/")[0]
        for binding in hosts or []:
            outside = str((binding or {}).get("HostPort") or "")
            if outside not in ("", inside):
                raise Refused(f"runner: -p {outside}:{inside} is not supported: containers "
                              f"share the job's network, so the container's port {inside} is "
                              f"already reachable as docker:{inside} and localhost:{inside}; "
                              f"use -p {inside}:{inside} (see docs/docker-jobs.md)")


def workspace_rel(source: str, scope: Scope) -> str:
    """Where a bind source lies in the workspace; refused outside it."""
    norm = posixpath.normpath(source)
    top = scope.project_dir.rstrip("/")
    if not source.startswith("/") or ".." in source.split("/"):
        raise Refused(f"runner: bind mount {source!r} not allowed: only paths in the job's "
                      f"workspace {top} can be mounted")
    if norm == top:
        return ""
    if not norm.startswith(top + "/"):
        raise Refused(f"runner: bind mount {source!r} not allowed: only paths in the job's "
                      f"workspace {top} can be mounted")
    return norm[len(top) + 1:]


def _binds(binds: list[Any], scope: Scope) -> tuple[list[Bind], list[dict[str, Any]]]:
    """``-v SRC:DEST[:opts]``: workspace paths to pin, named volumes as they are."""
    found: list[Bind] = []
    volumes: list[dict[str, Any]] = []
    for item in binds:
        parts = str(item).split(":")
        if len(parts) < 2 or len(parts) > 3:
            raise Refused(f"runner: volume {item!r} not understood")
        source, dest = parts[0], parts[1]
        options = tuple(o for o in (parts[2].split(",") if len(parts) == 3 else []) if o)
        _check_dest(dest)
        bad = [o for o in options if o not in ("ro", "rw", "z", "Z")]
        if bad:
            raise Refused(f"runner: volume option {','.join(bad)} not allowed")
        keep = tuple(o for o in options if o in ("ro", "rw"))
        if source.startswith("/"):
            found.append(Bind(workspace_rel(source, scope), dest, keep))
        elif _VOLUME.fullmatch(source):
            volumes.append({"Name": source, "Dest": dest, "Options": list(keep)})
        else:
            raise Refused(f"runner: volume {item!r} not understood")
    return found, volumes


def _mounts(mounts: list[Any], scope: Scope) -> tuple[list[Bind], list[dict[str, Any]]]:
    """``--mount``: binds in the workspace, plain volumes and tmpfs only."""
    found: list[Bind] = []
    specs: list[dict[str, Any]] = []
    for mount in mounts:
        kind = str(mount.get("Type") or "")
        dest = str(mount.get("Target") or "")
        _check_dest(dest)
        options = ["ro"] if mount.get("ReadOnly") else []
        if kind == "bind":
            if mount.get("BindOptions"):
                raise refuse_option("--mount bind options")
            found.append(Bind(workspace_rel(str(mount.get("Source") or ""), scope), dest,
                              tuple(options)))
        elif kind == "volume":
            volume_options = mount.get("VolumeOptions") or {}
            if volume_options.get("DriverConfig") or not _VOLUME.fullmatch(
                    str(mount.get("Source") or "")):
                raise refuse_option("--mount volume driver options")
            specs.append({"type": "volume", "source": str(mount["Source"]),
                          "destination": dest, "options": options})
        elif kind == "tmpfs":
            specs.append({"type": "tmpfs", "source": "tmpfs", "destination": dest,
                          "options": options})
        else:
            raise refuse_option(f"--mount type={kind}")
    volumes = [{"Name": s["source"], "Dest": s["destination"], "Options": s["options"]}
               for s in specs if s["type"] == "volume"]
    return found, [*volumes, *(s for s in specs if s["type"] == "tmpfs")]


def _check_dest(dest: str) -> None:
    if not dest.startswith("/") or ".." in dest.split("/"):
        raise Refused(f"runner: mount destination {dest!r} must be an absolute path")


def _resources(host: Mapping[str, Any], job: Resources) -> dict[str, Any]:
    """The job's limits, or the container's own if lower (OCI LinuxResources)."""
    memory = _lowest(job.memory, host.get("Memory"))
    pids = _lowest(job.pids, host.get("PidsLimit"))
    out: dict[str, Any] = {}
    if memory is not None:
        out["memory"] = {"limit": memory, "swap": memory}
    if pids is not None:
        out["pids"] = {"limit": pids}
    if job.cpus is not None:
        out["cpu"] = {"quota": int(job.cpus * 100000), "period": 100000}
    return out


def _lowest(job: int | None, asked: object) -> int | None:
    mine = int(asked) if isinstance(asked, int) and asked > 0 else None
    if job is None:
        return mine
    return job if mine is None else min(job, mine)


def check_exec(body: Mapping[str, Any]) -> None:
    """``docker exec --privileged`` is refused like ``run --privileged``."""
    if body.get("Privileged"):
        raise refuse_option("docker exec --privileged")


def check_volume(body: Mapping[str, Any]) -> None:
    """``docker volume create`` with driver options could bind any host path: refused."""
    if body.get("DriverOpts") or str(body.get("Driver") or "local") != "local":
        raise refuse_option("docker volume create with a driver or --opt")


def check_build(networkmode: str | None) -> None:
    """``docker build --network host`` (or another container's network) is refused."""
    if networkmode and (networkmode == "host" or ":" in networkmode):
        raise refuse_option(f"docker build --network={networkmode}")
