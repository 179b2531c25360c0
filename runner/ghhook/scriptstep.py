"""``run_script_step``: a ``run:`` step or a JavaScript action, in the job container.

The step goes to the container's supervisor through its FIFOs (``hookboot``),
not through ``podman exec``. Output streams live to our stdout, which is the
step log; the exit status is the step's (non-zero exactly when it failed).
A SIGINT or SIGTERM from actions/runner (a cancelled job) stops the step.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import secrets
import signal

from runner.engine.hookboot import split_args, step_script
from runner.errors import EngineError
from runner.ghhook import fifo, jobdir, workdirs
from runner.ghhook.context import HookContext
from runner.ghhook.hookinput import HookInput, HookInputError


async def run_script_step(inp: HookInput, ctx: HookContext) -> int:
    """Run the step; its exit status (0 success)."""
    state = jobdir.JobState.from_state(inp.state)
    step = inp.script
    assert step is not None
    if state is None or state.container is None:
        raise HookInputError("run_script_step needs a job container, and the hook input's "
                             "'state' names none (prepare_job did not start one)")
    path = jobdir.job_dir(ctx.root, state.job)
    ctl = path / "ctl"
    try:
        pid = int((path / "pid").read_text().strip())
    except (OSError, ValueError):
        raise EngineError(f"the job container of {state.job} is gone (its dir {path} is "
                          "missing); it may have been removed by `runner prune`") from None
    pidfd = fifo.watch_pid(pid)
    if pidfd is None:
        raise EngineError("the job container has ended; this step cannot run")
    number = str(secrets.randbelow(10**12))
    names = [ctl / f"{number}.{ext}" for ext in ("sh", "out", "rc")]
    out = fifo.make_fifo(names[1], fifo.FOR_WRITING)
    rc = fifo.make_fifo(names[2], fifo.FOR_WRITING)
    loop = asyncio.get_running_loop()
    try:
        args = split_args(step.entry_point_args)
        workdirs.open_step_files(path, step.env, args)
        jobdir.write_private(names[0], step_script(
            step.entry_point, args, step.env, step.prepend_path,
            step.working_directory), mode=0o604)
        if not fifo.send_line(ctl / "in", number):
            raise EngineError("the job container's supervisor is gone; this step cannot run")
        for signum in (signal.SIGINT, signal.SIGTERM):  # stop the step, then report it
            loop.add_signal_handler(signum, _stop, pid)
        line = await fifo.read_line(rc, pidfd, ctx.sink, out)
    finally:
        for signum in (signal.SIGINT, signal.SIGTERM):
            loop.remove_signal_handler(signum)
        for fd in (out, rc, pidfd):
            os.close(fd)
        for name in names:
            name.unlink(missing_ok=True)
    if line is None:
        ctx.notice("runner: the job container ended during this step")
        return 1
    code = int(line) if line.strip().isdigit() else 1
    return min(code, 255)


def _stop(pid: int) -> None:
    """TERM to the supervisor: it passes it to every process of the step (``hookboot``)."""
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, signal.SIGTERM)
