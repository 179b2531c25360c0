"""Command line entry: ``run()`` owns SystemExit, ``main(argv)`` does the work.

Every subcommand lives in its own module exposing ``register(subparsers)``;
its handler takes the parsed namespace and returns an exit code. Exit codes
for errors are decided here and nowhere else.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence

from runner.errors import Fault, RunnerError
from runner.host.identity import adopt_runtime_dir

EXIT_OK = 0
EXIT_JOB_FAILED = 1
EXIT_USER_INPUT = 2
EXIT_HOST_SETUP = 3
EXIT_COORDINATOR = 4
EXIT_INTERNAL = 70
EXIT_INTERRUPTED = 130

_FAULT_EXIT = {
    Fault.USER_INPUT: EXIT_USER_INPUT,
    Fault.HOST_SETUP: EXIT_HOST_SETUP,
    Fault.COORDINATOR: EXIT_COORDINATOR,
    Fault.JOB: EXIT_JOB_FAILED,
}


def exit_code_for(error: RunnerError) -> int:
    """The exit code for an explained error: whose fault it is decides."""
    return _FAULT_EXIT[error.fault]


def error_text(error: RunnerError) -> str:
    """``runner: error: ...`` and, if the error has one, ``runner: hint: ...`` (no class names:
    they tell the person at the terminal nothing)."""
    text = f"runner: error: {error}"
    return text if error.hint is None else f"{text}\nrunner: hint: {error.hint}"


class _VersionAction(argparse.Action):
    """``--version``: runner's version, then the container tools' (asked only when wanted)."""

    def __init__(self, option_strings: Sequence[str], dest: str,
                 help: str | None = None) -> None:
        super().__init__(option_strings, dest, nargs=0, default=argparse.SUPPRESS, help=help)

    def __call__(self, parser: argparse.ArgumentParser, namespace: argparse.Namespace,
                 values: object, option_string: str | None = None) -> None:
        from runner.engine.versions import tool_versions, version_text  # noqa: PLC0415

        print(version_text(tool_versions()))
        parser.exit()


def build_parser() -> argparse.ArgumentParser:
    """The argparse tree with every subcommand registered."""
    from runner.cli import (  # noqa: PLC0415
        agent,
        build,
        doctor,
        exec_,
        prune,
        runners,
        setuphost,
    )

    parser = argparse.ArgumentParser(
        prog="runner",
        description="Rootless, daemonless CI: run pipelines in per-job user-namespaced containers.",
    )
    parser.add_argument("--version", action=_VersionAction,
                        help="show runner's version and podman's, buildah's and runc's")
    parser.add_argument(
        "-v", "--verbose", action="count", default=0, help="more runner diagnostics on stderr"
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    exec_.register(sub)
    build.register(sub)
    doctor.register(sub)
    agent.register(sub)
    runners.register(sub)
    setuphost.register(sub)
    prune.register(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Parse ``argv`` and run the chosen subcommand; returns the exit code."""
    from runner import log  # noqa: PLC0415

    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:  # argparse already printed its one-paragraph error
        return EXIT_OK if exc.code == 0 else EXIT_USER_INPUT
    log.configure(verbosity=args.verbose)
    if os.geteuid() != 0:  # root is refused or re-executed with the user's own (refuse_root)
        adopt_runtime_dir(os.environ, os.getuid())
    try:
        code: int = args.func(args)
    except RunnerError as exc:
        print(error_text(exc), file=sys.stderr)
        return exit_code_for(exc)
    except KeyboardInterrupt:
        print("runner: interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED
    except Exception:
        import traceback  # noqa: PLC0415

        print("runner: internal error (a bug in runner, not in your pipeline); details follow "
              "for a bug report:", file=sys.stderr)
        traceback.print_exc(file=sys.stderr)
        return EXIT_INTERNAL
    return code


def run() -> None:
    """Console-script entry point."""
    sys.exit(main())
