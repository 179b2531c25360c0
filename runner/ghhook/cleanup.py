"""``cleanup_job``: remove the job's pod (services, job container, steps), volumes and dir.

Works the same after a crashed or killed step: removal is by name and
label, never by asking a process that may be gone. Once no container of the
job is left, the dirs it was handed are given back to the user (``workdirs``).
"""

from __future__ import annotations

import contextlib
import json

from runner.engine import hookrun
from runner.engine.podman import remove_run_containers
from runner.ghhook import jobdir, workdirs
from runner.ghhook.context import HookContext
from runner.ghhook.hookinput import HookInput


async def cleanup_job(inp: HookInput, ctx: HookContext) -> dict[str, object]:
    state = jobdir.JobState.from_state(inp.state)
    if state is not None:
        await remove_job(state, ctx)
    return {}


async def remove_job(state: jobdir.JobState, ctx: HookContext) -> None:
    """Everything of job ``state.job``; safe to call twice, and for a half-started job."""
    if state.pod is not None:
        await hookrun.remove_pod(state.pod)
    await remove_run_containers(state.job)
    await hookrun.remove_volumes(state.volumes)
    await workdirs.take_back(jobdir.job_dir(ctx.root, state.job))
    if state.slot is not None:
        marker = ctx.slot_dir / f"slot-{state.slot}.pod"
        with contextlib.suppress(OSError, ValueError):
            if json.loads(marker.read_text()).get("pod") == state.pod:
                marker.unlink()
    jobdir.remove_job_dir(ctx.root, state.job)
