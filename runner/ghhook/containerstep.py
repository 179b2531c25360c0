"""``run_container_step``: a Dockerfile or ``docker://`` action, in the job's pod.

A Dockerfile action is built with buildah, rootless, with its layers cached
(the tag is per Dockerfile path, so a second run of the same action reuses
every layer). The step runs with the runner's mounts (its docker socket
left out), its env (from a 0600 file, never argv), entrypoint and args, in
the job's pod: its network and uid slice. Without a job container (a job
with no ``container:``), the step leases a slice of its own while it runs,
and the dirs it was handed are given back as soon as it ends (``workdirs``).
"""

from __future__ import annotations

import hashlib
import secrets
import shutil
from pathlib import Path

from runner.build.access import standard_authfile
from runner.engine import buildah, buildargv, hookrun
from runner.engine.buildargv import BuildSpec
from runner.engine.hookargv import HookRun
from runner.engine.hookboot import split_args
from runner.engine.imageref import ImageRef
from runner.engine.slices import Lease
from runner.errors import EngineError, JobError
from runner.execute.services import clean_slot
from runner.ghhook import images, jobdir, workdirs
from runner.ghhook.context import HookContext, owner_record
from runner.ghhook.hookinput import HookContainer, HookInput, HookInputError
from runner.ghhook.options import named_volumes, parse_options
from runner.ghhook.prepare import env_text, system_binds


async def run_container_step(inp: HookInput, ctx: HookContext) -> int:
    """Build or pull the action's image and run it; the container's exit status."""
    step = inp.container
    assert step is not None
    state = jobdir.JobState.from_state(inp.state)
    own = state is None or state.pod is None
    job = state.job if state is not None else jobdir.new_job_name(secrets.token_hex(6))
    label = state.runner if state is not None else jobdir.runner_label(ctx.environ)
    if own:  # a job of one step: owned, so prune leaves it alone while it runs
        jobdir.write_private(jobdir.make_job_dir(ctx.root, job) / "owner.json",
                             owner_record(label, []))
    path = jobdir.job_dir(ctx.root, job)
    scratch = path / f"step-{secrets.token_hex(4)}"
    scratch.mkdir(mode=0o700)
    lease = None
    try:
        image = await _image(step, scratch, ctx)
        options = parse_options(step.create_options, "args")
        env_file = scratch / "step.env"
        jobdir.write_private(env_file, env_text([*step.env, *options.env,
                                                 ("GITHUB_ACTIONS", "true"), ("CI", "true")],
                                                ctx.notice, "the action"))
        if own:
            lease = await clean_slot(ctx.slices(), None, ctx.notice)
        binds = system_binds(step)
        await workdirs.hand_over(path, workdirs.plan(binds), _slice_root(lease, path))
        workdirs.open_step_files(path, step.env, ())
        spec = HookRun(
            name=f"{job}-step{secrets.token_hex(3)}", image=image, job=job, runner_label=label,
            pod=None if own or state is None else state.pod,
            id_base=lease.base if lease is not None else 0, env_file=str(env_file),
            binds=binds, volumes=named_volumes(step.user_mounts, job, "args"),
            workdir=options.workdir or step.working_directory, entrypoint=step.entry_point,
            args=tuple(split_args(step.entry_point_args)), user=options.user,
            network=ctx.network, preserve_fds=1 if lease is not None else 0)
        return await hookrun.run_attached(spec, ctx.sink, lease.fd if lease else None)
    finally:
        if lease is not None:
            lease.release()
        shutil.rmtree(scratch, ignore_errors=True)
        if own:
            await hookrun.remove_volumes([v.name for v in named_volumes(
                step.user_mounts, job, "args")])
            await workdirs.take_back(path)  # the step's container is gone (--rm)
            jobdir.remove_job_dir(ctx.root, job)


def _slice_root(lease: Lease | None, path: Path) -> int:
    """Root of the step's slice: its own lease's, or (in the job's pod) the job's."""
    if lease is not None:
        return lease.base
    uid = workdirs.slice_root(path)
    if uid is None:
        raise EngineError(f"the job's dir {path} does not say its uid slice; it may have been "
                          "removed by `runner prune`")
    return uid


async def _image(step: HookContainer, scratch: Path, ctx: HookContext) -> ImageRef:
    """The step's image: pulled (with its credentials), or built from its Dockerfile."""
    if step.image is not None:
        try:
            await images.fetch(step.image, step.registry, scratch / "auth", sink=ctx.sink,
                               notice=ctx.notice, environ=ctx.environ)
        finally:  # registry passwords live no longer than the pull
            shutil.rmtree(scratch / "auth", ignore_errors=True)
        return step.image
    if step.dockerfile is None or not step.dockerfile.is_file():
        raise HookInputError(f"hook input key 'args.dockerfile': {step.dockerfile} is not a "
                             "file")
    tag = ImageRef("localhost/github-action:"
                   + hashlib.sha256(str(step.dockerfile).encode()).hexdigest()[:24])
    iidfile = scratch / "iid"
    ctx.notice(f"runner: building the action's image from {step.dockerfile}")
    done = await buildah.run(buildargv.build_argv(BuildSpec(
        context=step.dockerfile.parent, containerfile=step.dockerfile, iidfile=iidfile,
        tags=(tag,), access=buildargv.RegistryAccess(
            authfile=standard_authfile(ctx.environ, Path.home())))), ctx.sink)
    if done.code != 0:
        raise JobError(f"the action's Dockerfile {step.dockerfile} did not build "
                       f"(exit {done.code})")
    return ImageRef(iidfile.read_text().strip().removeprefix("sha256:"))
