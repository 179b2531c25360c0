"""``runner exec``'s output options: colour (``--color``, ``NO_COLOR``) and ``--timestamps``."""

from __future__ import annotations

import argparse

import pytest

from runner.cli import build_parser
from runner.cli.exec_ import use_color


@pytest.mark.parametrize(("choice", "tty", "environ", "expected"), [
    ("auto", True, {}, True),
    ("auto", False, {}, False),
    ("auto", True, {"NO_COLOR": "1"}, False),
    ("auto", True, {"NO_COLOR": ""}, True),     # set but empty: no effect (no-color.org)
    ("always", False, {"NO_COLOR": "1"}, True),  # an explicit --color always wins
    ("never", True, {}, False),
])
def test_use_color(choice: str, tty: bool, environ: dict[str, str], expected: bool) -> None:
    assert use_color(choice, isatty=tty, environ=environ) is expected


def _exec_help() -> str:
    parser = build_parser()
    sub = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    return sub.choices["exec"].format_help()


def test_help_documents_color_no_color_and_timestamps() -> None:
    text = " ".join(_exec_help().split())
    assert "--color {auto,always,never}" in text
    assert "NO_COLOR" in text
    assert "--timestamps" in text
