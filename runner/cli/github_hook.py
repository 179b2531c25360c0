"""``runner github-hook``: actions/runner's container hooks (``runner.ghhook``)."""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
from pathlib import Path

from runner.cli.helptext import explain


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add the ``github-hook`` subcommand."""
    parser = sub.add_parser(
        "github-hook", help="be GitHub's self-hosted runner's container hooks (stdin JSON)")
    explain(parser, "github-hook")
    parser.add_argument("--network", default=None, metavar="MODE",
                        help="podman network mode of each job's pod (default: podman's "
                        "rootless default, slirp4netns without host loopback)")
    parser.set_defaults(func=handle)


def handle(args: argparse.Namespace) -> int:
    """Read the hook input, run its command; the exit status actions/runner judges."""
    from runner.ghhook.context import HookContext  # noqa: PLC0415 - keep --help fast
    from runner.ghhook.hookinput import parse_input  # noqa: PLC0415
    from runner.ghhook.jobdir import hook_root  # noqa: PLC0415
    from runner.ghhook.main import NEEDS_SLICES, run_hook, stdout_sink  # noqa: PLC0415

    inp = parse_input(sys.stdin.read())
    environ = dict(os.environ)
    runtime = environ.get("XDG_RUNTIME_DIR")
    ctx = HookContext(
        environ=environ, root=hook_root(environ),
        slot_dir=(Path(runtime) if runtime else Path.home() / ".cache") / "runner" / "slots",
        subordinate_ids=_subordinate_ids() if inp.command in NEEDS_SLICES else 0,
        sink=stdout_sink, network=args.network)
    return asyncio.run(run_hook(inp, ctx))


def _subordinate_ids() -> int:
    """How many ids the user may map (each job's slice takes 65,536 of them)."""
    from runner.host import facts  # noqa: PLC0415

    found = facts.gather_quick()
    return min(sum(r.count for r in found.subuids), sum(r.count for r in found.subgids))
