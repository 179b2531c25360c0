"""Pure podman argv builders for ``runner github-hook`` (no I/O): tests assert whole lists.

A GitHub job's containers live in one pod: the job container, its services
and its container-action steps, so they share the job's network (services by
alias on localhost) and its uid slice. As with ``runner exec``'s jobs, every
id of the container, root included, is one of the slice's: the runner user is
not mapped in. The dirs actions/runner shares with the job are handed to the
slice and given back (``runner.ghhook.workdirs``). See docs/github-runner.md
and docs/security.md.
"""

from __future__ import annotations

from dataclasses import dataclass

from runner.engine.argv import (
    LABEL_JOB,
    LABEL_RUN,
    Resources,
    bounded_writes_options,
    cgroup_mask_options,
    global_options,
    hardening_options,
)
from runner.engine.imageref import ImageRef
from runner.pipeline.model import Health

LABEL_GITHUB_RUNNER = "io.github.runner.github-runner"
"""hex(RUNNER_NAME): what a later ``prepare_job`` of the same runner sweeps."""
HOOK_JOB = "github-hook"


@dataclass(frozen=True)
class Bind:
    """A host directory at ``target`` (the runner's ``_work``, externals, ...)."""

    source: str
    target: str
    read_only: bool = False

    def option(self) -> str:
        return f"--volume={self.source}:{self.target}{':ro' if self.read_only else ''}"


@dataclass(frozen=True)
class VolumeMount:
    """A named podman volume, private to the job (``<job>-<name>``)."""

    name: str
    target: str
    read_only: bool = False

    def option(self) -> str:
        return f"--volume={self.name}:{self.target}{':ro' if self.read_only else ''}"


@dataclass(frozen=True)
class Publish:
    """A service port published on the host's loopback (``host_port`` None: any free one)."""

    host_port: int | None
    container_port: int
    proto: str = "tcp"

    def option(self) -> str:
        host = "" if self.host_port is None else str(self.host_port)
        return f"--publish=127.0.0.1:{host}:{self.container_port}/{self.proto}"


@dataclass(frozen=True)
class HookPod:
    """The pod of one hook job."""

    name: str
    job: str
    runner_label: str
    id_base: int
    id_size: int = 65536
    hosts: tuple[str, ...] = ()
    publish: tuple[Publish, ...] = ()
    network: str | None = None
    runtime: str | None = None


def id_maps(id_base: int, id_size: int = 65536) -> list[str]:
    """Every id, root included, is the job's slice; the user (podman's id 0) is not mapped."""
    mapping = f"0:{id_base}:{id_size}"
    return ["--uidmap", mapping, "--gidmap", mapping]


def labels(job: str, runner_label: str) -> list[str]:
    return ["--label", f"{LABEL_RUN}={job}", "--label", f"{LABEL_JOB}={HOOK_JOB}",
            "--label", f"{LABEL_GITHUB_RUNNER}={runner_label}"]


def pod_argv(spec: HookPod) -> list[str]:
    """``podman pod create`` with the slice, service aliases and published ports."""
    argv = ["podman", *global_options(spec.runtime), "pod", "create", f"--name={spec.name}"]
    argv += labels(spec.job, spec.runner_label)
    argv += id_maps(spec.id_base, spec.id_size)
    if spec.network:
        argv.append(f"--network={spec.network}")
    argv += [f"--add-host={host}:127.0.0.1" for host in spec.hosts]
    argv += [publish.option() for publish in spec.publish]
    return argv


@dataclass(frozen=True)
class HookRun:
    """One container of a hook job: the job container, a service, or an action step."""

    name: str
    image: ImageRef
    job: str
    runner_label: str
    pod: str | None
    """The job's pod; None for an action step of a job without a job container."""
    id_base: int = 0
    """The slice, when not in a pod (a pod carries its own)."""
    env_file: str | None = None
    binds: tuple[Bind, ...] = ()
    volumes: tuple[VolumeMount, ...] = ()
    workdir: str | None = None
    entrypoint: str | None = None
    args: tuple[str, ...] = ()
    user: str | None = None
    health: Health | None = None
    detach: bool = False
    pidfile: str | None = None
    preserve_fds: int = 0
    """Passed-on descriptors from 3 up: the job container holds its slice's lease."""
    runtime: str | None = None
    network: str | None = None
    service: bool = False


def run_argv(spec: HookRun) -> list[str]:
    """``podman run`` of one hook container; every tenant value is joined to its option.

    ``--pull=never``: images were fetched first, with the job's registry
    credentials in a 0600 auth file (never in argv).
    """
    argv = ["podman", *global_options(spec.runtime), "run"]
    argv += ["--detach"] if spec.detach else ["--rm"]
    argv.append(f"--name={spec.name}")
    argv += labels(spec.job, spec.runner_label)
    if spec.pod is not None:
        argv.append(f"--pod={spec.pod}")
    else:
        argv += id_maps(spec.id_base)
        if spec.network:
            argv.append(f"--network={spec.network}")
    argv += hardening_options()
    argv += ["--pull=never", *bounded_writes_options_for(spec)]
    if not spec.service:  # output reaches the step log through runner, never a log file
        argv += ["--log-driver", "none"]
    if spec.pidfile is not None:
        argv += ["--pidfile", spec.pidfile]
    if spec.preserve_fds:
        argv.append(f"--preserve-fds={spec.preserve_fds}")
    if spec.env_file is not None:
        argv += ["--env-file", spec.env_file]
    argv += [bind.option() for bind in spec.binds]
    argv += [volume.option() for volume in spec.volumes]
    if spec.user is not None:
        argv.append(f"--user={spec.user}")
    if spec.workdir is not None:
        argv.append(f"--workdir={spec.workdir}")
    if spec.health is not None:
        argv += health_options(spec.health)
    if spec.entrypoint is not None:
        argv.append(f"--entrypoint={spec.entrypoint}")
    argv += ["--", spec.image, *spec.args]
    return argv


def bounded_writes_options_for(spec: HookRun) -> list[str]:
    """As ``runner exec``'s jobs; a service keeps its image's volumes (its data lives there)."""
    if spec.service:
        return cgroup_mask_options(Resources())
    return bounded_writes_options(Resources())


def health_options(health: Health) -> list[str]:
    """docker's ``--health-*`` options, which ``prepare_job`` polls with ``healthcheck run``."""
    return [f"--health-cmd={health.command}", f"--health-interval={health.interval_s:g}s",
            f"--health-timeout={health.timeout_s:g}s", f"--health-retries={health.retries}",
            f"--health-start-period={health.start_period_s:g}s"]


def healthcheck_argv(name: str) -> list[str]:
    """Run a service's health command once: exit 0 healthy."""
    return ["podman", "healthcheck", "run", "--", name]


def pod_ports_argv(pod: str) -> list[str]:
    """The pod's published ports as JSON (``{"80/tcp":[{"HostPort":"40123"}]}``)."""
    return ["podman", "pod", "inspect", "--format", "{{json .InfraConfig.PortBindings}}",
            "--", pod]


def runner_pods_argv(runner_label: str) -> list[str]:
    """Names of the pods a runner's earlier jobs left (its label)."""
    return ["podman", "pod", "ps", "--filter", f"label={LABEL_GITHUB_RUNNER}={runner_label}",
            "--format", "{{.Name}}"]


def runner_containers_argv(runner_label: str) -> list[str]:
    """Names of every container (pod or not) a runner's jobs left."""
    return ["podman", "ps", "--all", "--filter",
            f"label={LABEL_GITHUB_RUNNER}={runner_label}", "--format", "{{.Names}}"]


def volume_remove_argv(names: list[str]) -> list[str]:
    return ["podman", "volume", "rm", "--force", "--", *names]


def kill_argv(name: str, signal: str) -> list[str]:
    return ["podman", "kill", "--signal", signal, "--", name]


def pid_argv(name: str) -> list[str]:
    """A container's PID 1 as the host numbers it."""
    return ["podman", "inspect", "--format", "{{.State.Pid}}", "--", name]


def stop_argv(name: str, grace_s: int) -> list[str]:
    """Stop a container: TERM, then KILL after ``grace_s``; a gone one is not an error."""
    return ["podman", "stop", "--ignore", "--time", str(grace_s), "--", name]
