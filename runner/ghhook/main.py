"""One hook call: run the command, write the response, say the exit status.

Each call is a new process, and a step's whole cost is mostly Python's start:
so each command imports only its own module.
"""

from __future__ import annotations

import sys

from runner.ghhook import jobdir
from runner.ghhook.context import HookContext
from runner.ghhook.hookinput import HookInput

NEEDS_SLICES = ("prepare_job", "run_container_step")
"""Commands that may lease a uid slice (the others never read the subordinate ids)."""


async def run_hook(inp: HookInput, ctx: HookContext) -> int:
    """The exit status actions/runner sees: 0 success, non-zero a failed step or call."""
    # One import per command, inside its branch: see the module's docstring.
    if inp.command == "run_script_step":
        from runner.ghhook.scriptstep import run_script_step  # noqa: PLC0415

        return await run_script_step(inp, ctx)
    if inp.command == "prepare_job":
        from runner.ghhook.prepare import prepare_job  # noqa: PLC0415

        jobdir.write_response(inp.response_file, await prepare_job(inp, ctx))
        return 0
    if inp.command == "cleanup_job":
        from runner.ghhook.cleanup import cleanup_job  # noqa: PLC0415

        await cleanup_job(inp, ctx)
        return 0
    from runner.ghhook.containerstep import run_container_step  # noqa: PLC0415

    return await run_container_step(inp, ctx)


def stdout_sink(data: bytes) -> None:
    """The step log: every chunk at once, so output is live."""
    sys.stdout.buffer.write(data)
    sys.stdout.buffer.flush()
