"""A tenant's pipeline file tries to exhaust the runner's time and memory while it is read.

The file is the tenant's to write, and it is read before any job (and any
container limit) exists: ``runner exec --list`` reads it completely. Each
attack must be refused with exit 2 and a message naming the file, while a big
but legitimate file (bigger than most real pipelines) is still accepted.

The subprocess timeout is only a failure detector (an unbounded read would
otherwise hang the suite): nothing here asserts how long anything took.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from tests.conftest import REPO

DETECTOR_TIMEOUT = 120
"""Generous: the refusals take well under a second; the old code ran until killed."""


def _list(root: Path, name: str) -> subprocess.CompletedProcess[str]:
    """``runner exec --list`` of ``root/name``."""
    return _list_args(root, [name])


def _alias_bomb(levels: int = 9, width: int = 9) -> str:
    """``levels`` lists each holding ``width`` aliases of the one before: width**levels items."""
    lines = ['.l0: &l0 ["lol"]']
    for level in range(1, levels):
        items = ", ".join([f"*l{level - 1}"] * width)
        lines.append(f".l{level}: &l{level} [{items}]")
    lines += ["job:", "  image: localhost/busybox:latest", f"  script: *l{levels - 1}"]
    return "\n".join(lines) + "\n"


def test_alias_bomb_is_refused(tmp_path: Path) -> None:
    """Nine levels of nine aliases (~387 million script lines once expanded) in a 400-byte
    GitLab file: refused at once, naming the file and line, instead of growing without end."""
    (tmp_path / ".gitlab-ci.yml").write_text(_alias_bomb())
    done = _list(tmp_path, ".gitlab-ci.yml")
    assert done.returncode == 2, done.stderr
    assert ".gitlab-ci.yml:" in done.stderr
    assert "alias" in done.stderr
    assert "Traceback" not in done.stderr


def test_alias_bomb_in_native_file_and_variables_file_is_refused(tmp_path: Path) -> None:
    """The same bomb in the native format (in a job's script) and in a variables file."""
    (tmp_path / "pipeline.yml").write_text(_native_bomb())
    done = _list(tmp_path, "pipeline.yml")
    assert done.returncode == 2, done.stderr
    assert "pipeline.yml:" in done.stderr and "Traceback" not in done.stderr
    (tmp_path / "vars.yml").write_text(_vars_bomb())
    (tmp_path / "ok.yml").write_text(
        "version: 1\njobs:\n  job:\n    image: localhost/busybox:latest\n    script: [echo]\n")
    done = _list_args(tmp_path, ["--variables-file", "vars.yml", "ok.yml"])
    assert done.returncode == 2, done.stderr
    assert "vars.yml:" in done.stderr and "Traceback" not in done.stderr


def _native_bomb() -> str:
    """The bomb as a native job's script: anchors are written inside the script list."""
    lines = ["version: 1", "jobs:", "  job:", "    image: localhost/busybox:latest",
             "    script:", '      - &l0 ["lol"]']
    for level in range(1, 9):
        lines.append(f"      - &l{level} [" + ", ".join([f"*l{level - 1}"] * 9) + "]")
    return "\n".join(lines) + "\n"


def _vars_bomb() -> str:
    """The bomb in a variables file: a variable's description is any value."""
    lines = ['A: {value: "a", description: &l0 ["lol"]}']
    for level in range(1, 9):
        lines.append(f"B{level}: {{value: b, description: &l{level} ["
                     + ", ".join([f"*l{level - 1}"] * 9) + "]}")
    return "\n".join(lines) + "\n"


def _list_args(root: Path, args: list[str]) -> subprocess.CompletedProcess[str]:
    """``runner exec --list ARGS`` in ``root``, killed if it outlives the failure detector."""
    argv = [sys.executable, "-m", "runner", "exec", "--list", "--color", "never", *args]
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    try:
        return subprocess.run(argv, cwd=root, env=env, capture_output=True, text=True,
                              timeout=DETECTOR_TIMEOUT, check=False)
    except subprocess.TimeoutExpired as exc:
        raise AssertionError(f"`runner exec --list {' '.join(args)}` was still reading after"
                             f" {DETECTOR_TIMEOUT} s: nothing bounds it") from exc


def test_oversize_file_is_refused_before_it_is_parsed(tmp_path: Path) -> None:
    """A 300,000-job file (about 22 MB; the old code took 81 s and 1.6 GB) is refused."""
    with (tmp_path / "pipeline.yml").open("w") as out:
        out.write("version: 1\njobs:\n")
        for index in range(300_000):
            out.write(f"  j{index}:\n    image: localhost/busybox:latest\n"
                      f"    script: [\"echo {index}\"]\n")
    done = _list(tmp_path, "pipeline.yml")
    assert done.returncode == 2, done.stderr
    assert "pipeline.yml" in done.stderr and "Traceback" not in done.stderr
    assert "too big" in done.stderr


def test_big_but_legitimate_file_is_accepted(tmp_path: Path) -> None:
    """2,000 jobs (GitLab.com's most per pipeline) using anchors and merge keys are accepted."""
    lines = [".base: &base", "  image: localhost/busybox:latest",
             "  script: &lines", *[f"    - echo line {n}" for n in range(20)]]
    for index in range(2_000):
        lines += [f"job{index}:", "  <<: *base", f'  variables: {{N: "{index}"}}']
    (tmp_path / ".gitlab-ci.yml").write_text("\n".join(lines) + "\n")
    done = _list(tmp_path, ".gitlab-ci.yml")
    assert done.returncode == 0, done.stderr
    assert "job1999" in done.stdout
