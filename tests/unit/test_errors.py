"""The error tree's user-facing parts: many problems at once, and how the CLI shows them."""

from __future__ import annotations

import pytest

from runner.cli import error_text
from runner.errors import (
    PipelineError,
    PipelineErrors,
    SourceSpot,
    UsageError,
    collecting,
    combined,
    raise_all,
)

A = PipelineError(SourceSpot("p.yml", 3, 5, "jobs.a.x"), "unknown key 'x'")
B = PipelineError(SourceSpot("p.yml", 9, 1, "jobs.b"), "job 'b' has no script")


def test_several_problems_are_one_error_listing_each() -> None:
    error = PipelineErrors([A, B])
    assert str(error) == ("2 problems in p.yml:\n"
                          "  p.yml:3:5 (key 'jobs.a.x'): unknown key 'x'\n"
                          "  p.yml:9:1 (key 'jobs.b'): job 'b' has no script")
    assert (error.spot, error.message) == (A.spot, A.message)
    assert PipelineErrors([error, A]).errors == (A, B, A)  # nested ones are flattened


def test_one_problem_stays_itself_and_none_raises_nothing() -> None:
    assert combined([A]) is A
    raise_all([])
    with pytest.raises(PipelineErrors):
        raise_all([A, B])


def test_collecting_keeps_going() -> None:
    errors: list[PipelineError] = []
    for error in (A, B):
        with collecting(errors):
            raise error
    assert errors == [A, B]


def test_the_cli_shows_no_class_name_and_the_hint_on_its_own_line() -> None:
    assert error_text(UsageError("--concurrency must be at least 1")) == (
        "runner: error: --concurrency must be at least 1")
    hinted = UsageError("no pipeline here").with_hint("pass the file: runner exec FILE")
    assert error_text(hinted) == ("runner: error: no pipeline here\n"
                                  "runner: hint: pass the file: runner exec FILE")
