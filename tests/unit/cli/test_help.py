"""Every subcommand's --help says what it is for and shows an example (issue 15)."""

from __future__ import annotations

import pytest

from runner.cli import build_parser, main
from runner.cli.helptext import COMMANDS


def test_every_subcommand_has_examples() -> None:
    registered = set(build_parser()._subparsers._group_actions[0].choices)  # type: ignore[union-attr]
    assert registered == set(COMMANDS)


@pytest.mark.parametrize("command", COMMANDS)
def test_help_has_a_paragraph_and_an_example(command: str,
                                             capsys: pytest.CaptureFixture[str]) -> None:
    assert main([command, "--help"]) == 0
    out = capsys.readouterr().out
    description = out.split("\n\n")[1]
    assert len(description.split()) >= 8, out  # a paragraph, not a title
    examples = out.split("examples:\n", 1)[1]
    assert examples.startswith(f"  runner {command}") or f"runner {command}" in examples, out
