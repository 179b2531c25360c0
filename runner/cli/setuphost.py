"""``runner setup-host``: prepare this host for rootless jobs (``runner.host.setup``).

So that a pip-installed runner can set its host up without the checkout;
``runner doctor`` is the read-only judge, this is the fixer.
"""

from __future__ import annotations

import argparse
import sys

from runner.cli import EXIT_HOST_SETUP, EXIT_OK
from runner.cli.helptext import explain


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add ``setup-host``."""
    from runner.host.setup import options  # noqa: PLC0415

    parser = explain(sub.add_parser("setup-host", help="prepare this host for rootless jobs"
                                    " (as root; --check only reports)"), "setup-host")
    options(parser)
    parser.add_argument("--agent-unit", action="store_true",
                        help="also install the agent's systemd system unit for --user "
                        "(/etc/systemd/system/runner-agent.service)")
    parser.set_defaults(func=handle)


def handle(args: argparse.Namespace) -> int:
    """Run every step; exit 3 when --check found something to do."""
    from runner.host.setup import Setup, setup_host  # noqa: PLC0415

    setup = Setup(user=args.user, check=args.check, dev=args.dev,
                  say=lambda line: print(line, file=sys.stderr))
    done = setup_host(setup)
    if args.agent_unit:
        from runner.host.units import install_agent_unit  # noqa: PLC0415

        install_agent_unit(done)
    if done.needed:
        print(f"runner: {len(done.needed)} thing(s) to do; run as root without --check to "
              "do them", file=sys.stderr)
        return EXIT_HOST_SETUP
    print(f"runner: host ready for {args.user}"
          + (f" ({len(done.changed)} change(s) made)" if done.changed else ""), file=sys.stderr)
    return EXIT_OK
