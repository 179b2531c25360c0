"""``prepare_job``: the job's pod, its services and its job container; the response.

Order matters for cleanup: the slice is leased and its marker names the
pod before the pod exists, so a hook killed half-way leaves nothing that
the next lease of the slice, the next ``prepare_job`` of the same runner,
or ``runner prune`` would not remove.
"""

from __future__ import annotations

import asyncio
import os
import secrets
import shutil
from collections.abc import Callable
from pathlib import Path

from runner.engine import hookrun
from runner.engine.hookargv import Bind, HookPod, HookRun, Publish
from runner.engine.hookboot import HOOK_CONTROL, HOOK_SUPERVISOR
from runner.engine.slices import Lease
from runner.errors import EngineError
from runner.execute.services import clean_slot
from runner.ghhook import fifo, images, jobdir, workdirs
from runner.ghhook.cleanup import remove_job
from runner.ghhook.context import HookContext, owner_record
from runner.ghhook.hookinput import HookContainer, HookInput, HookInputError
from runner.ghhook.options import named_volumes, parse_options, parse_ports, service_alias
from runner.ghhook.readiness import wait_ready
from runner.ghhook.sweep import sweep_runner

START_TIMEOUT_S = 120.0
"""How long the job container's supervisor may take to say it is ready (it is ~0.1 s)."""
DOCKER_SOCKET = "/var/run/docker.sock"


async def prepare_job(inp: HookInput, ctx: HookContext) -> dict[str, object]:
    """Start the job; the response actions/runner reads (always one, even ``{}``)."""
    label = jobdir.runner_label(ctx.environ)
    await sweep_runner(ctx, label)
    if inp.container is None and not inp.services:
        return {"state": {}}
    job = jobdir.new_job_name(secrets.token_hex(6))
    state = jobdir.JobState(job=job, runner=label, pod=f"{job}-pod")
    plan = _Plan(inp, job)
    path = jobdir.make_job_dir(ctx.root, job)
    jobdir.write_private(path / "owner.json", owner_record(label, list(plan.volume_names())))
    lease: Lease | None = None
    handing: asyncio.Task[None] | None = None
    try:
        try:  # all at once, as runner exec pulls a job's services
            fetched = await asyncio.gather(*(
                images.fetch(c.image, c.registry, path / f"auth{index}", sink=ctx.sink,
                             notice=ctx.notice, environ=ctx.environ)
                for index, c in enumerate(plan.all()) if c.image is not None),
                return_exceptions=True)
        finally:  # registry passwords live no longer than the pulls
            for index in range(len(plan.all())):
                shutil.rmtree(path / f"auth{index}", ignore_errors=True)
        for failure in fetched:
            if isinstance(failure, BaseException):
                raise failure
        lease = await clean_slot(ctx.slices(), None, ctx.notice)
        state.slot = lease.slot
        if lease.pod_marker is not None:
            lease.pod_marker.write_text(f'{{"pod": "{state.pod}"}}\n')
        if plan.container is not None:  # workspace, HOME, tool cache: the slice's, while
            handing = asyncio.create_task(workdirs.hand_over(  # the pod is made
                path, workdirs.plan(system_binds(plan.container),
                                    plan.container.working_directory), lease.base))
        else:
            workdirs.record_slice(path, lease.base)
        response = await _start(plan, state, lease, path, ctx, handing=handing)
    except BaseException:
        if handing is not None:  # never give back while it is still being handed
            await asyncio.gather(handing, return_exceptions=True)
        await _undo(state, ctx)
        raise
    finally:
        if lease is not None:
            lease.release()  # the job's containers hold the lease from here on
    return response


class _Plan:
    """The job's containers, checked: options, ports, volumes and aliases."""

    def __init__(self, inp: HookInput, job: str) -> None:
        self.job = job
        self.container = inp.container
        self.services = inp.services
        if self.container is not None and self.container.image is None:
            raise HookInputError("hook input key 'args.container.image' is missing")
        self.job_options = parse_options(
            self.container.create_options if self.container else None, "args.container")
        self.service_options = [parse_options(s.create_options, f"args.services[{i}]")
                                for i, s in enumerate(self.services)]
        self.ports = [parse_ports(s, f"args.services[{i}]") for i, s in enumerate(self.services)]
        taken: set[str] = set()
        self.aliases = [service_alias(s, taken) for s in self.services]
        self.volumes = [named_volumes(c.user_mounts, job, where) for c, where in self._where()]

    def _where(self) -> list[tuple[HookContainer, str]]:
        found = [(self.container, "args.container")] if self.container is not None else []
        return found + [(s, f"args.services[{i}]") for i, s in enumerate(self.services)]

    def all(self) -> list[HookContainer]:
        return [container for container, _ in self._where()]

    def volume_names(self) -> list[str]:
        return sorted({volume.name for group in self.volumes for volume in group})

    def publish(self) -> tuple[Publish, ...]:
        return tuple(p for group in self.ports for p in group)


async def _start(plan: _Plan, state: jobdir.JobState, lease: Lease, path: Path,
                 ctx: HookContext, *, handing: asyncio.Task[None] | None,
                 ) -> dict[str, object]:
    assert state.pod is not None
    state.volumes = plan.volume_names()
    await hookrun.create_pod(HookPod(
        name=state.pod, job=state.job, runner_label=state.runner, id_base=lease.base,
        hosts=tuple(alias for alias in plan.aliases if alias), publish=plan.publish(),
        network=ctx.network))
    offset = 1 if plan.container is not None else 0
    names = [f"{state.job}-svc{index}" for index in range(len(plan.services))]
    state.services = names
    for index, (service, name) in enumerate(zip(plan.services, names, strict=True)):
        options = plan.service_options[index]
        env_file = path / f"service{index}.env"
        jobdir.write_private(env_file, env_text([*service.env, *options.env], ctx.notice,
                                                 f"service {service.image}"))
        assert service.image is not None
        await hookrun.start_detached(HookRun(
            name=name, image=service.image, job=state.job, runner_label=state.runner,
            pod=state.pod, env_file=str(env_file), volumes=plan.volumes[offset + index],
            entrypoint=service.entry_point, args=tuple(service.entry_point_args),
            user=options.user, workdir=options.workdir, health=options.health, detach=True,
            service=True, preserve_fds=1 if plan.container is None and index == 0 else 0),
            lease.fd if plan.container is None and index == 0 else None)
        env_file.unlink()
    alpine = False
    pid = 0
    if plan.container is not None:
        state.container = f"{state.job}-job"
        if handing is not None:
            await handing
        alpine, pid = await _start_job_container(plan, state, lease, path, ctx.notice)
    ports = await hookrun.pod_ports(state.pod) if plan.publish() else {}
    if plan.services:
        pid = pid or await hookrun.container_pid(names[0])
        await wait_ready(plan.services, options=plan.service_options, ports=plan.ports,
                         names=names, pid=pid, ctx=ctx)
    services = [{"id": name, "image": str(s.image), "network": state.pod,
                 "ports": {str(p.container_port): ports.get(f"{p.container_port}/{p.proto}", "")
                           for p in published}}
                for name, s, published in zip(names, plan.services, plan.ports, strict=True)]
    context: dict[str, object] = {"services": services}
    if state.container is not None:
        context["container"] = {"id": state.container, "network": state.pod}
    response: dict[str, object] = {"state": state.to_json(), "context": context}
    if plan.container is not None:
        response["isAlpine"] = alpine
    return response


async def _start_job_container(plan: _Plan, state: jobdir.JobState, lease: Lease,
                               path: Path, notice: Callable[[str], None]) -> tuple[bool, int]:
    """Start the job container with its supervisor; (isAlpine, its PID 1 on the host)."""
    container = plan.container
    assert container is not None and container.image is not None and state.container
    options = plan.job_options
    ctl = path / "ctl"
    fifo.make_fifo(ctl / "in", fifo.FOR_READING)
    ready = fifo.make_fifo(ctl / "ready", fifo.FOR_WRITING)
    env_file = path / "job.env"
    jobdir.write_private(env_file, env_text([*container.env, *options.env,
                                             ("GITHUB_ACTIONS", "true"), ("CI", "true")],
                                            notice, "the job container"))
    try:
        await hookrun.start_detached(HookRun(
            name=state.container, image=container.image, job=state.job,
            runner_label=state.runner, pod=state.pod, env_file=str(env_file),
            binds=(*system_binds(container), Bind(str(ctl), HOOK_CONTROL)),
            volumes=plan.volumes[0], workdir="/", entrypoint="/bin/sh",
            args=("-c", HOOK_SUPERVISOR), user=options.user, detach=True,
            pidfile=str(path / "pid"), preserve_fds=1), lease.fd)
        env_file.unlink()
        pid = int((path / "pid").read_text().strip() or 0)
        pidfd = fifo.watch_pid(pid)
        try:
            line = await asyncio.wait_for(fifo.read_line(ready, pidfd), START_TIMEOUT_S)
        finally:
            if pidfd is not None:
                os.close(pidfd)
    finally:
        os.close(ready)
        env_file.unlink(missing_ok=True)
    if line is None or not line.startswith("ready"):
        raise EngineError(f"the job container ({container.image}) ended at once; it needs "
                          "/bin/sh (a POSIX shell), as every GitHub container job does")
    return line.split()[-1] == "1", pid


def system_binds(container: HookContainer) -> tuple[Bind, ...]:
    """The runner's own mounts (``_work``, externals, ...); its docker socket is left out.

    There is no Docker daemon here, and the user's podman socket would hand
    the job every other job's containers.
    """
    binds = []
    for mount in container.system_mounts:
        if mount.target == DOCKER_SOCKET or mount.source is None:
            continue
        if not mount.source.startswith("/") or ":" in mount.source + mount.target:
            raise HookInputError(f"hook input: system mount {mount.source!r} -> "
                                 f"{mount.target!r} is not an absolute host path")
        binds.append(Bind(mount.source, mount.target, mount.read_only))
    return tuple(binds)


def env_text(env: list[tuple[str, str]], notice: Callable[[str], None], what: str) -> str:
    """An ``--env-file``: ``NAME=value`` lines. A value with a newline cannot be written
    there (nor on podman's command line, where others could read it): it is left out, and
    the step log says so."""
    for name in sorted({name for name, value in env if "\n" in value}):
        notice(f"runner: warning: variable {name} holds a newline, which podman's env file "
               f"cannot carry; {what} runs without it")
    return "".join(f"{name}={value}\n" for name, value in env if "\n" not in value)


async def _undo(state: jobdir.JobState, ctx: HookContext) -> None:
    await remove_job(state, ctx)
