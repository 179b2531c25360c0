"""The GitHub workflow fixtures (tests/fixtures/github): reading their expectations, making
each a git checkout, and the ``runner exec`` command line that simulates its event.

Each fixture's ``expect.yml`` is derived from GitHub's documented semantics
(see tests/fixtures/github/README.md for its keys); these helpers only turn it
into what a user would type.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

REPO = Path(__file__).resolve().parents[2]
FIXTURES = REPO / "tests" / "fixtures" / "github"
CASES = sorted(path for path in FIXTURES.iterdir() if (path / "expect.yml").is_file())
WORKFLOW = ".github/workflows/ci.yml"
DEFAULT_PLATFORMS = {"ubuntu-latest": "localhost/busybox:latest"}
ORIGIN = "https://github.com/octo-org/hello-world.git"
SERVICE_IMAGE = "localhost/ghfix-service:latest"
"""Built by the tests from tests/fixtures/github/images/ghfix-service (``build_service_image``)."""


def expectations(case: Path) -> dict[str, Any]:
    loaded: dict[str, Any] = yaml.safe_load((case / "expect.yml").read_text())
    return loaded


def bad(case: Path) -> bool:
    expect = expectations(case)
    return "error" in expect or "errors" in expect


def runnable(case: Path) -> bool:
    return bool(expectations(case).get("runnable"))


def params(cases: list[Path]) -> list[Any]:
    """``cases`` as pytest params; a fixture whose GitHub behaviour runner deliberately does
    not follow (``deviation:`` in expect.yml, listed in docs/github.md) is a strict xfail:
    the specification stays GitHub's, and the day runner follows it the marker must go."""
    made = []
    for case in cases:
        why = expectations(case).get("deviation")
        marks = [pytest.mark.xfail(strict=True, reason=f"deviation: {why}")] if why else []
        made.append(pytest.param(case, id=case.name, marks=marks))
    return made


def _git(root: Path, *args: str) -> str:
    proc = subprocess.run(["git", "-C", str(root), *args], check=True, timeout=30,
                          capture_output=True, text=True)
    return proc.stdout.strip()


def checkout(case: Path, tmp_path: Path) -> Path:
    """The fixture as a committed repository on ``main`` whose origin is on github.com,
    in a directory named like the fixture (as a user's clone would be)."""
    root = tmp_path / case.name
    shutil.copytree(case, root, ignore=shutil.ignore_patterns("expect.yml"))
    _git(root, "init", "-q", "-b", "main")
    _git(root, "remote", "add", "origin", ORIGIN)
    _git(root, "add", "-A")
    _git(root, "-c", "user.name=Mona", "-c", "user.email=mona@example.com", "commit", "-qm",
         "Fixture")
    return root


def head_sha(root: Path) -> str:
    return _git(root, "rev-parse", "HEAD")


def exec_args(expect: dict[str, Any]) -> list[str]:
    """``runner exec`` options for the fixture's event, inputs, vars, secrets and platforms."""
    args = []
    platforms = expect.get("platforms", DEFAULT_PLATFORMS)
    for label, image in platforms.items():
        args += ["--platform", f"{label}={image}"]
    if "event" in expect:
        args += ["--event", expect["event"]]
    if "eventpath" in expect:
        args += ["--eventpath", expect["eventpath"]]
    for name, value in (expect.get("inputs") or {}).items():
        args += ["--input", f"{name}={value}"]
    for name, value in (expect.get("vars") or {}).items():
        args += ["--var", f"{name}={value}"]
    for name in expect.get("secrets") or {}:
        args += ["--secret", name]
    return args


def exec_env(expect: dict[str, Any], tmp_path: Path) -> dict[str, str]:
    """The environment: secrets as the user's variables, and an empty runner config (no
    ``platforms:`` of the machine's user may change what a fixture maps); podman's own
    configuration stays the user's."""
    config = tmp_path / "xdg-config"
    config.mkdir(exist_ok=True)
    user_config = Path(os.environ.get("XDG_CONFIG_HOME") or Path.home() / ".config")
    if (user_config / "containers").is_dir() and not (config / "containers").exists():
        (config / "containers").symlink_to(user_config / "containers")
    secrets = {name: str(value) for name, value in (expect.get("secrets") or {}).items()}
    return {**os.environ, "PYTHONPATH": str(REPO), "XDG_CONFIG_HOME": str(config), **secrets}


def exec_argv(expect: dict[str, Any], cache: Path, *args: str) -> list[str]:
    """``runner exec`` of the fixture's workflow: ``.github/workflows/ci.yml`` unless its
    ``workflow:`` names another path (Forgejo's, Gitea's)."""
    return [sys.executable, "-m", "runner", "exec", expect.get("workflow", WORKFLOW),
            "--cache-dir", str(cache), "--color", "never", *args]


def listed_names(out: str, wanted: list[str]) -> list[str]:
    """The names of ``wanted`` that start a row of the ``--list`` table, in row order.

    Names hold spaces and parentheses (``test (3.11, ubuntu)``), so a row counts
    for a name when it starts with the name followed by two spaces or its end,
    as the table pads every name to its column's width.
    """
    found = []
    for line in out.splitlines():
        for name in wanted:
            if re.match(re.escape(name) + r"(  |$)", line) and name not in found:
                found.append(name)
    return found


def error_lines(expect: dict[str, Any]) -> list[dict[str, Any]]:
    """The problems a bad fixture promises, in file order."""
    if "errors" in expect:
        return list(expect["errors"])
    return [expect["error"]]


def matches(line: str, error: dict[str, Any]) -> bool:
    """Whether one line of stderr is the promised problem: ``file:line[:col]``, the key
    as every runner error names it (``(key 'jobs.build.runs_on')``) and each text."""
    if "line" not in error:  # a command-line mistake (--event): no spot in the file
        return all(str(text) in line for text in error.get("contains") or [])
    spot = f"{error.get('file', WORKFLOW)}:{error['line']}:"
    if "column" in error:
        spot += f"{error['column']}"
        if "key" in error:
            spot += f" (key '{error['key']}')"
    elif "key" in error and f"(key '{error['key']}')" not in line:
        return False
    return spot in line and all(str(text) in line for text in error.get("contains") or [])


def all_text(root: Path, run_id: str) -> str:
    """Every file the run ``run_id`` left in ``.runner/`` (its logs, summaries, result.json):
    masking must hold in all of them, not only on the terminal. Earlier runs of the same
    fixture (a cache's first run) are not this run's."""
    state = root / ".runner"
    paths = [state / "result.json", *sorted((state / "runs" / run_id).rglob("*"))]
    return "\n".join(path.read_text(errors="replace") for path in paths if path.is_file())
