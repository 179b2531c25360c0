"""``runner exec``'s options for GitHub workflows: the simulated event, inputs, vars, platforms.

``--platform LABEL=IMAGE`` (act's ``-P``) maps a ``runs-on`` label to the image its
jobs run in; ``platforms:`` in the user's runner config gives defaults, and the
command line wins. ``--var`` sets the ``vars`` context (the variables files'
plain variables are vars too); ``--secret`` and masked variables are ``secrets``.
"""

from __future__ import annotations

import argparse
import re
from collections.abc import Mapping
from pathlib import Path

from runner.errors import UsageError
from runner.execute.report import shown

_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


def add_github_options(parser: argparse.ArgumentParser) -> None:
    """The GitHub-only options of ``runner exec``."""
    parser.add_argument("--event", default="push", metavar="NAME",
                        help="GitHub workflows: the event to simulate (default push); the "
                        "workflow must trigger on it")
    parser.add_argument("--eventpath", type=Path, metavar="FILE",
                        help="GitHub workflows: the event payload (JSON) for github.event "
                        "(default: a minimal one for the event, as act makes)")
    parser.add_argument("--platform", action="append", default=[], metavar="LABEL=IMAGE",
                        help="GitHub workflows: run jobs whose runs-on is LABEL in IMAGE; "
                        "repeatable (default: 'platforms:' in ~/.config/runner/config.yml)")
    parser.add_argument("--var", action="append", default=[], metavar="NAME=VALUE",
                        help="GitHub workflows: a configuration variable (the vars context); "
                        "repeatable")


def github_options(args: argparse.Namespace, environ: Mapping[str, str]) -> object:
    """The ``GithubOptions`` the command line and the runner config give."""
    from runner.cli.exec_images import runner_config  # noqa: PLC0415
    from runner.engine.imageref import why_not  # noqa: PLC0415
    from runner.pipeline.github.translate import GithubOptions  # noqa: PLC0415

    platforms = []
    for item in getattr(args, "platform", []):
        label, sep, image = item.partition("=")
        if not sep or not label.strip() or not image:
            raise UsageError(f"--platform {item!r}: write it as LABEL=IMAGE "
                             "(ubuntu-latest=localhost/runner-ci:bookworm)")
        if (problem := why_not(image)) is not None:
            raise UsageError(f"--platform {item!r}: {problem}")
        platforms.append((label.strip(), image))
    variables = []
    for item in getattr(args, "var", []):
        name, sep, value = item.partition("=")
        if not sep or not _NAME.fullmatch(name):
            raise UsageError(f"--var {item!r}: write it as NAME=VALUE, NAME made of letters, "
                             "digits and '_'")
        variables.append((name, value))
    config = runner_config(environ)
    inputs = tuple((k.strip(), v) for k, _, v in (i.partition("=") for i in args.input))
    return GithubOptions(
        event=getattr(args, "event", "push"), event_path=getattr(args, "eventpath", None),
        inputs=inputs, vars=tuple(variables), platforms=(*platforms, *config.platforms),
        platform_hint=shown(config.path, Path.cwd()),
    )


def list_workflow(path: Path, root: Path, options: object) -> str:
    """``--list`` of a GitHub workflow; its notes go to stderr, as for other files."""
    from runner.execute.run import stderr_notice  # noqa: PLC0415
    from runner.pipeline.github.preview import render_list  # noqa: PLC0415
    from runner.pipeline.load import LoadOptions, load_github  # noqa: PLC0415

    assert isinstance(options, LoadOptions)
    workflow = load_github(path, root, options)
    for note in workflow.pipeline.notes:  # a branch filter that does not match, and the like
        stderr_notice(note)
    return render_list(workflow)
