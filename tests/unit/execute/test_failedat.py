"""The runner's line that names the failing command of a job, and where it is written."""

from __future__ import annotations

from runner.execute.failedat import failed_at, failed_line
from runner.pipeline.model import Spot


def test_names_file_line_and_command() -> None:
    """With spots, the failing line is named by the file and line it is written on."""
    spots = (Spot("pipeline.yml", 8, 11), Spot("pipeline.yml", 12, 11))
    assert failed_at(("make", "make test"), spots, 2) == "pipeline.yml:12 ('make test')"
    assert (failed_line("the job", ("make", "make test"), spots, 2, 2)
            == "runner: the job failed at pipeline.yml:12 ('make test'): exit status 2")


def test_without_a_file_names_the_script_line_number() -> None:
    """The agent's jobs come from GitLab's payload: no file, so the line's number instead."""
    assert failed_at(("a", "b", "c"), (), 3) == "script line 3 ('c')"


def test_long_or_multi_line_commands_are_cut() -> None:
    """A block of many lines is shown by its first line; a long line is cut short."""
    assert failed_at(("make \\\n  test\n",), (), 1) == "script line 1 ('make \\ …')"
    long = "echo " + "x" * 200
    shown = failed_at((long,), (), 1)
    assert len(shown) < 100 and shown.endswith("…')")


def test_unknown_step_says_only_the_status() -> None:
    """No step (the script failed before its first line, or the step was garbled)."""
    assert failed_line("the job", ("a",), (), None, 1) == "runner: the job failed: exit status 1"
    assert failed_line("the job", ("a",), (), 7, 1) == "runner: the job failed: exit status 1"
