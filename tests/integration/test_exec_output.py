"""`runner exec` output people can act on (issue 15): the summary's wall time and failure
details, durations that count the image pull, after_script's header, the failing line's
file:line, NO_COLOR and --timestamps."""

from __future__ import annotations

import json
import os
import pty
import re
import subprocess
import sys
import textwrap

import pytest

from tests.integration.harness import REPO, Project, said

pytestmark = pytest.mark.podman

IMAGE = "localhost/busybox:latest"

NATIVE = f"""\
version: 1
image: {IMAGE}
jobs:
  ok:
    script: ["echo fine"]
  broken:
    script:
      - echo line-one
      - echo line-two
      - sh -c "exit 2"
      - echo never-printed
    after_script:
      - echo cleaning up
"""


def _line_of(text: str, needle: str) -> int:
    """1-based number of the first line of ``text`` containing ``needle``."""
    return next(n for n, line in enumerate(text.splitlines(), 1) if needle in line)


def _summary(out: str) -> str:
    """What follows the job output: the table and everything under it."""
    return out[out.index("\njob "):]


def test_failed_job_summary_and_failing_line(project: Project) -> None:
    """The summary says how long the run took, and for the failed job its exit status, its
    log and its last lines; the log names the failing command's pipeline.yml line, and
    after_script has a header of its own."""
    project.write(NATIVE)
    run = project.run()
    assert run.code == 1, run.err
    line = _line_of(NATIVE, 'sh -c "exit 2"')
    failed = (f"runner: the job failed at pipeline.yml:{line} ('sh -c \"exit 2\"'): "
              "exit status 2")
    assert said(run.out, "broken", failed)
    assert said(run.out, "broken", "runner: running after_script (CI_JOB_STATUS=failed)")
    log = project.log("broken")
    assert failed in log
    assert log.index("runner: running after_script") < log.index("cleaning up")
    summary = _summary(run.out)
    assert re.search(r"^2 jobs in \d+\.\d\ds \(wall time\): 1 success, 1 failed$", summary,
                     re.MULTILINE), summary
    assert "\nbroken failed (exit status 2); log: .runner/logs/broken.log\n" in summary
    tail = summary.split("log: .runner/logs/broken.log\n", 1)[1].splitlines()
    assert "  | line-two" in tail
    assert f"  | {failed}" in tail
    assert "  | cleaning up" in tail
    assert all(row.startswith("  | ") for row in tail if row)
    doc = json.loads((project.state / "result.json").read_text())
    assert doc["result_version"] == 1
    assert isinstance(doc["duration_s"], float) and doc["duration_s"] > 0
    jobs = {job["name"]: job for job in doc["jobs"]}
    assert jobs["broken"]["failed_at"] == f"pipeline.yml:{line}"
    assert jobs["ok"]["failed_at"] is None


def test_failed_pull_counts_its_time(project: Project) -> None:
    """A job whose image cannot be had still took the time spent trying (not 0.00s), even
    when that was over long before its needs were done (its container starts early)."""
    project.write(f"""
        version: 1
        jobs:
          first:
            image: {IMAGE}
            script: ["sleep 8"]  # longer than the failed pull takes
          ghost:
            needs: [first]
            image: localhost/runner-test-no-such-image:latest
            script: ["true"]
        """)
    run = project.run()
    assert run.code == 1, run.err
    row = next(line for line in _summary(run.out).splitlines() if line.startswith("ghost "))
    assert "failed" in row and "0.00s" not in row, row
    doc = json.loads((project.state / "result.json").read_text())
    assert doc["jobs"][1]["duration_s"] > 0.01


GITLAB = f"""\
image: {IMAGE}
default:
  before_script:
    - echo from-default
unit:
  script:
    - echo testing
    - test -e no-such-file
  after_script:
    - echo tidy
    - sh -c "exit 5"
"""


def test_gitlab_failing_line_and_after_script(project: Project) -> None:
    """The GitLab dialect names .gitlab-ci.yml lines, after a before_script from default;
    a failing after_script names its own line and does not change the job's status."""
    (project.root / ".gitlab-ci.yml").write_text(GITLAB)
    run = project.run(".gitlab-ci.yml")
    assert run.code == 1, run.err
    line = _line_of(GITLAB, "test -e no-such-file")
    after = _line_of(GITLAB, 'sh -c "exit 5"')
    assert said(run.out, "unit", f"runner: the job failed at .gitlab-ci.yml:{line} "
                "('test -e no-such-file'): exit status 1")
    assert said(run.out, "unit", "runner: running after_script (CI_JOB_STATUS=failed)")
    assert said(run.out, "unit", f"runner: after_script failed at .gitlab-ci.yml:{after} "
                "('sh -c \"exit 5\"'): exit status 5")
    assert "unit failed (exit status 1); log: .runner/logs/unit.log" in run.out


def test_timestamps_on_the_console_not_in_the_log(project: Project) -> None:
    """--timestamps: each console line starts with a time; the log file keeps the bytes."""
    project.write(f"""
        version: 1
        jobs:
          t:
            image: {IMAGE}
            script: ["echo hello"]
        """)
    run = project.run("--timestamps")
    assert run.code == 0, run.err
    job_lines = [line for line in run.out.splitlines() if " t | " in line]
    assert job_lines
    for line in job_lines:
        assert re.match(r"\d\d:\d\d:\d\d\.\d{3} t \| ", line), line
    assert re.search(r"^\d\d:\d\d:\d\d\.\d{3} t \| hello$", run.out, re.MULTILINE)
    log = project.log("t")
    assert "hello\n" in log
    assert not any(re.match(r"\d\d:\d\d:\d\d\.\d{3} ", line) for line in log.splitlines())


def _on_a_tty(project: Project, *args: str, **env: str) -> bytes:
    """``runner exec ARGS`` with stdout on a pseudo-terminal; what it printed there."""
    argv = [sys.executable, "-m", "runner", "exec", "--cache-dir", str(project.cache), *args]
    controller, terminal = pty.openpty()
    environ = {key: value for key, value in os.environ.items() if key != "NO_COLOR"}
    environ.update(PYTHONPATH=str(REPO), **env)
    proc = subprocess.Popen(argv, cwd=project.root, env=environ, stdout=terminal,
                            stderr=subprocess.PIPE, stdin=subprocess.DEVNULL)
    os.close(terminal)
    out = b""
    while True:
        try:
            chunk = os.read(controller, 65536)
        except OSError:  # EIO: the terminal's last writer is gone
            break
        if not chunk:
            break
        out += chunk
    os.close(controller)
    _, err = proc.communicate(timeout=180)  # waits, and closes the stderr pipe
    assert proc.returncode == 0, err
    return out


def test_no_color_on_a_terminal(project: Project) -> None:
    """NO_COLOR (set, non-empty) turns colour off on a terminal; --color always wins."""
    project.write(textwrap.dedent(f"""
        version: 1
        jobs:
          c:
            image: {IMAGE}
            script: ["echo hi"]
        """))
    assert b"\x1b[" in _on_a_tty(project)
    assert b"\x1b[" not in _on_a_tty(project, NO_COLOR="1")
    assert b"\x1b[" in _on_a_tty(project, "--color", "always", NO_COLOR="1")
