"""``runner doctor``: check this host for rootless jobs and print how to fix what is not right."""

from __future__ import annotations

import argparse
import dataclasses
import json
import sys

from runner.cli import EXIT_HOST_SETUP, EXIT_OK
from runner.cli.helptext import explain
from runner.host import doctor, facts


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add the ``doctor`` subcommand."""
    parser = subparsers.add_parser(
        "doctor",
        help="check the host for rootless podman and print fixes",
        description="Check this host for rootless jobs; every problem comes with the command "
        "that fixes it. Exit code 0 when jobs can run (warnings allowed), 3 otherwise.",
    )
    explain(parser, "doctor")
    parser.add_argument("--json", action="store_true", help="print the findings as JSON")
    parser.set_defaults(func=handle)


def handle(args: argparse.Namespace) -> int:
    """Gather, judge and print; runs as root too, which it then reports as an error."""
    findings = doctor.evaluate(facts.gather_full())
    if args.json:
        print(json.dumps([dataclasses.asdict(f) for f in findings], indent=2))
    else:
        print(doctor.render(findings, color=sys.stdout.isatty()))
        warned = sum(not f.ok and f.severity == "warning" for f in findings)
        failed = len(doctor.errors(findings))
        verdict = "jobs can run" if not failed else "jobs cannot run"
        print(f"\n{failed} error(s), {warned} warning(s): {verdict}")
    return EXIT_HOST_SETUP if doctor.errors(findings) else EXIT_OK
