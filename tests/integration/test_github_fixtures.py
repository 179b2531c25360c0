"""Every GitHub workflow fixture (tests/fixtures/github) through the real CLI, as a user runs it.

The fixtures' ``expect.yml`` files are the specification of the dialect,
derived from GitHub's documentation rather than from what runner does:

- every fixture: ``runner exec .github/workflows/ci.yml --list`` from a git
  checkout on ``main``; a good file lists its jobs as GitHub names them (matrix
  expanded, in order); a bad file exits 2 with each promised problem on its
  own line (``file:line:col (key '...')`` and text), and running it instead of
  listing it stops the same way before anything runs. Never a traceback.
- the runnable ones (``runnable: true``): a real run with rootless containers,
  offline, checking the exit code, every job's status in ``.runner/result.json``,
  lines that must appear in the output and lines that must appear nowhere, not
  even in the files runner keeps (masking).
"""

from __future__ import annotations

import json
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.integration.ghfixtures import (
    CASES,
    FIXTURES,
    SERVICE_IMAGE,
    all_text,
    bad,
    checkout,
    error_lines,
    exec_args,
    exec_argv,
    exec_env,
    expectations,
    head_sha,
    listed_names,
    matches,
    params,
    runnable,
)
from tests.integration.harness import podman_leftovers

RUN_TIMEOUT = 300
"""How long one ``runner exec`` of a fixture may take (podman is slow on a busy machine)."""


def test_the_fixtures_are_many_and_varied() -> None:
    """At least 45 workflows, at least 10 of them bad, and most good ones run offline."""
    kinds = [expectations(case) for case in CASES]
    assert len(CASES) >= 45
    assert sum(1 for case in CASES if bad(case)) >= 10
    assert sum(1 for kind in kinds if kind.get("runnable")) >= 30


@pytest.mark.parametrize("case", params(CASES))
def test_listed(case: Path, tmp_path: Path) -> None:
    """``--list``: the jobs as GitHub shows them, or exit 2 with every promised problem."""
    expect = expectations(case)
    root = checkout(case, tmp_path)
    proc = _exec(root, tmp_path, expect, "--list")
    assert "Traceback" not in proc.stdout + proc.stderr, proc.stderr
    if bad(case):
        _assert_refused(proc, expect)
        return
    assert proc.returncode == 0, proc.stderr
    wanted = [str(name) for name in expect["jobs"]]
    assert listed_names(proc.stdout, wanted) == wanted, proc.stdout


GOOD = [case for case in CASES if not bad(case)]


@pytest.mark.parametrize("case", params(GOOD))
def test_previewed(case: Path, tmp_path: Path) -> None:
    """``--preview`` shows every job's steps as written, for every good file; never a
    traceback."""
    expect = expectations(case)
    root = checkout(case, tmp_path)
    proc = _exec(root, tmp_path, expect, "--preview")
    assert "Traceback" not in proc.stdout + proc.stderr, proc.stderr
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip(), "nothing previewed"


@pytest.mark.parametrize("case", [case for case in CASES if bad(case)],
                         ids=[case.name for case in CASES if bad(case)])
def test_bad_file_stops_a_run_before_anything_runs(case: Path, tmp_path: Path) -> None:
    """Running a bad file (not only listing it) stops with the same problems, no job started."""
    expect = expectations(case)
    root = checkout(case, tmp_path)
    proc = _exec(root, tmp_path, expect)
    assert "Traceback" not in proc.stdout + proc.stderr, proc.stderr
    _assert_refused(proc, expect)
    assert not (root / ".runner" / "result.json").exists()


@pytest.fixture(scope="module")
def service_image() -> Iterator[str]:
    """A busybox whose default command stays up (GitHub's services cannot set a command)."""
    context = FIXTURES / "images" / "ghfix-service"
    subprocess.run(["podman", "build", "-q", "-t", SERVICE_IMAGE, str(context)], check=True,
                   capture_output=True, timeout=300)
    yield SERVICE_IMAGE


RUNNABLE = [case for case in CASES if runnable(case)]


@pytest.mark.podman
@pytest.mark.parametrize("case", params(RUNNABLE))
def test_runs(case: Path, tmp_path: Path, request: pytest.FixtureRequest) -> None:
    """A real run: exit code, every job's status, output lines present and absent."""
    expect = expectations(case)
    if expect.get("build_service_image"):
        request.getfixturevalue("service_image")
    root = checkout(case, tmp_path)
    run: dict[str, Any] = expect["run"]
    for _ in range(int(expect.get("runs", 1)) - 1):  # a cache is only hit on a later run
        first = _exec(root, tmp_path, expect, timeout=RUN_TIMEOUT)
        assert first.returncode == run.get("exit_code", 0), first.stdout + first.stderr
    proc = _exec(root, tmp_path, expect, timeout=RUN_TIMEOUT)
    shown = proc.stdout + proc.stderr
    assert "Traceback" not in shown, proc.stderr
    assert (root / ".runner" / "result.json").is_file(), f"exit {proc.returncode}:\n{shown}"
    result = json.loads((root / ".runner" / "result.json").read_text())
    statuses = {job["name"]: job["status"] for job in result["jobs"]}
    assert statuses == {str(k): v for k, v in run["statuses"].items()}, shown
    assert proc.returncode == run.get("exit_code", 0), shown
    sha = head_sha(root)
    for text in run.get("output_contains") or []:
        assert str(text).replace("{sha}", sha) in shown, f"missing {text!r}:\n{shown}"
    kept = all_text(root, result["run_id"])
    for text in run.get("output_lacks") or []:
        assert str(text) not in shown, f"shown {text!r}:\n{shown}"
        assert str(text) not in kept, f"{text!r} in a file under .runner/"
    for text in run.get("kept_contains") or []:  # GITHUB_STEP_SUMMARY kept with the logs
        assert str(text) in kept, f"{text!r} in no file under .runner/"
    for text in run.get("terminal_lacks") or []:  # what only -v shows, logs may keep
        assert str(text) not in shown, f"shown {text!r}:\n{shown}"
    # only this run's: other tests may be running containers of their own right now
    assert [left for left in podman_leftovers() if result["run_id"] in left] == []
    work = root / ".runner" / "work"
    assert not work.exists() or list(work.iterdir()) == []


def _exec(root: Path, tmp_path: Path, expect: dict[str, Any], *extra: str,
          timeout: float = 120) -> subprocess.CompletedProcess[str]:
    argv = exec_argv(expect, tmp_path / "cache", *exec_args(expect), *extra)
    return subprocess.run(argv, cwd=root, env=exec_env(expect, tmp_path), capture_output=True,
                          text=True, timeout=timeout, check=False)


def _assert_refused(proc: subprocess.CompletedProcess[str], expect: dict[str, Any]) -> None:
    """Exit 2 and, in file order, one stderr line per promised problem."""
    assert proc.returncode == 2, proc.stdout + proc.stderr
    lines = proc.stderr.splitlines()
    at = 0
    for error in error_lines(expect):
        hit = next((i for i in range(at, len(lines)) if matches(lines[i], error)), None)
        assert hit is not None, f"no line for {error}:\n{proc.stderr}"
        at = hit + 1
