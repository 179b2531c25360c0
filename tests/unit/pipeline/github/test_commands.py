"""Tests of runner.pipeline.github.commands: parsing ``::cmd k=v::data`` as actions/runner does."""

from __future__ import annotations

from runner.pipeline.github import commands
from runner.pipeline.github.commands import Command


def test_plain_command_with_properties_and_escapes() -> None:
    """Properties split on commas and unescape ``%2C %3A``; data unescapes ``%0A %25``."""
    parsed = commands.parse("::error file=a%2Cb.py,line=3,title=x%3Ay::bad%0Athing 100%25")
    assert parsed == Command(
        "error", "bad\nthing 100%", {"file": "a,b.py", "line": "3", "title": "x:y"}
    )


def test_leading_blanks_and_case_insensitive_name() -> None:
    """Leading blanks are allowed and the name is case-insensitive."""
    assert commands.parse("   ::Add-Mask::s3cret") == Command("add-mask", "s3cret")


def test_unregistered_or_malformed_lines_are_output() -> None:
    """Unknown names, a missing second ``::`` and text before ``::`` are plain output."""
    assert commands.parse("::unknown::x") is None
    assert commands.parse("::error") is None
    assert commands.parse("say ::error::x") is None
    assert commands.parse("std::vector") is None


def test_percent_25_is_unescaped_last() -> None:
    """``%250A`` becomes the text ``%0A``, not a newline, because ``%25`` goes last."""
    parsed = commands.parse("::debug::%250A")
    assert parsed is not None
    assert parsed.data == "%0A"


def test_properties_without_value_are_dropped() -> None:
    """``k=`` and ``=v`` property items are dropped, as the runner's Split does."""
    parsed = commands.parse("::warning k=,=v,line=2::m")
    assert parsed == Command("warning", "m", {"line": "2"})


def test_legacy_form_anywhere_in_line() -> None:
    """``##[name k=v;k=v]data`` is a command wherever it stands in the line."""
    parsed = commands.parse("prefix ##[set-output name=x%3B]a%5Db")
    assert parsed == Command("set-output", "a]b", {"name": "x;"})


def test_registered_set_given() -> None:
    """A stop token is a command only while registered."""
    assert commands.parse("::tok::", {"tok"}) == Command("tok", "")
    assert commands.parse("::tok::") is None


def test_annotation_where() -> None:
    """Files in the workspace are shown relative; ``endLine`` stands in for ``line``."""
    where = commands.annotation_where
    assert where({"file": "/w/src/a.py", "line": "3", "col": "5"}, "/w") == "src/a.py:3:5"
    assert where({"file": "b.py", "endline": "9"}, "/w") == "b.py:9"
    assert where({"file": "c.py", "col": "4"}, "/w") == "c.py"
    assert where({"line": "3"}, "/w") is None
