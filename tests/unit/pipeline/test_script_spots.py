"""Each script line keeps where it is written, so a failing line can be named by file:line."""

from __future__ import annotations

import textwrap
from pathlib import Path

from runner.pipeline.load import load_pipeline
from runner.pipeline.model import Job, Spot


def _write(path: Path, text: str) -> Path:
    path.write_text(textwrap.dedent(text))
    return path


def test_native_script_and_after_script_lines_have_spots(tmp_path: Path) -> None:
    """A list, a nested list (anchor) and a single string each give one spot per command."""
    path = _write(tmp_path / "pipeline.yml", """\
        version: 1
        image: localhost/busybox
        jobs:
          setup:
            script: &setup
              - echo setup
          a:
            script:
              - *setup
              - make
              - |
                make test
                echo more
            after_script: echo done
        """)
    job = load_pipeline(path, tmp_path).job("a")
    assert job.script == ("echo setup", "make", "make test\necho more\n")
    assert [(s.file, s.line) for s in job.script_spots] == [
        (str(path), 6), (str(path), 10), (str(path), 11)]
    assert [(s.file, s.line) for s in job.after_script_spots] == [(str(path), 14)]


def test_gitlab_before_script_comes_first_with_its_own_spots(tmp_path: Path) -> None:
    """GitLab runs before_script then script in one shell: spots follow the same order,
    and a default before_script points at the default's lines."""
    path = _write(tmp_path / ".gitlab-ci.yml", """\
        default:
          before_script:
            - echo before
        t:
          image: localhost/busybox
          script:
            - echo one
            - exit 3
          after_script:
            - echo after
        """)
    job = load_pipeline(path, tmp_path).job("t")
    assert job.script == ("echo before", "echo one", "exit 3")
    assert [s.line for s in job.script_spots] == [3, 7, 8]
    assert {s.file for s in job.script_spots} == {str(path)}
    assert [s.line for s in job.after_script_spots] == [10]


def test_spots_do_not_change_what_a_job_is() -> None:
    """Two jobs that differ only in where their lines are written are equal."""
    one = Job("a", "img", ("make",), script_spots=(Spot("x.yml", 1, 3),))
    other = Job("a", "img", ("make",), script_spots=(Spot("y.yml", 9, 3),))
    assert one == other
