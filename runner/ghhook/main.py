"""One hook call: read stdin, run the command, write the response, say the exit status."""

from __future__ import annotations

import sys

from runner.ghhook import jobdir
from runner.ghhook.cleanup import cleanup_job
from runner.ghhook.containerstep import run_container_step
from runner.ghhook.context import HookContext
from runner.ghhook.hookinput import HookInput
from runner.ghhook.prepare import prepare_job
from runner.ghhook.scriptstep import run_script_step


async def run_hook(inp: HookInput, ctx: HookContext) -> int:
    """The exit status actions/runner sees: 0 success, non-zero a failed step or call."""
    if inp.command == "prepare_job":
        jobdir.write_response(inp.response_file, await prepare_job(inp, ctx))
        return 0
    if inp.command == "cleanup_job":
        await cleanup_job(inp, ctx)
        return 0
    if inp.command == "run_script_step":
        return await run_script_step(inp, ctx)
    return await run_container_step(inp, ctx)


def stdout_sink(data: bytes) -> None:
    """The step log: every chunk at once, so output is live."""
    sys.stdout.buffer.write(data)
    sys.stdout.buffer.flush()
