"""Every corpus fixture through the real CLI: ``runner exec .gitlab-ci.yml --list``.

tests/unit/pipeline/gitlab/test_fixtures.py checks the translation in
process; this runs what a user runs, from a git checkout on ``main``, and reads
the table the user reads. A fixture GitLab accepts must be listed with the
jobs its ``expect.yml`` derives from GitLab's semantics (names, stages, when);
one GitLab refuses must exit 2 with the promised file:line error; YAML
warnings (duplicate keys) must reach stderr. A fixture with ``default_image:``
is listed with ``--image``; one with ``served:`` fetches its includes with
``--gitlab-url``/``--gitlab-token`` from the strict fake GitLab of
tests/corpusserver.py. Fixtures waiting for a feature another change brings
(``pending:``) are strict xfails. No container runs.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

from tests.corpusserver import TOKEN, TOKEN_VARIABLE, corpus_server, localize, serve, unfetched
from tests.unit.pipeline.gitlab.test_fixtures import cases_with_pending, expectations

REPO = Path(__file__).resolve().parents[2]


def _git(root: Path, *args: str) -> None:
    subprocess.run(["git", "-C", str(root), *args], check=True, timeout=30, capture_output=True)


def _checkout(case: Path, tmp_path: Path) -> Path:
    """The fixture as a committed repository on ``main``, in a directory named like it."""
    root = tmp_path / case.name
    shutil.copytree(case, root)
    _commit(root)
    return root


def _commit(root: Path) -> None:
    _git(root, "init", "-q", "-b", "main")
    _git(root, "add", "-A")
    _git(root, "-c", "user.name=t", "-c", "user.email=t@example.com", "commit", "-qm", "x")


def listed_rows(out: str) -> list[tuple[str, str, str, str]]:
    """(name, stage, when, allow_failure) per row of the ``--list`` table.

    Names may hold spaces (``shard 1/2``), so the name is cut at the column where
    the header's ``stage`` starts; the table pads every name to that width.
    """
    lines = out.splitlines()
    start = lines[0].index("stage")
    rows = []
    for line in lines[1:]:
        stage, when, *allowed = line[start:].split()
        rows.append((line[:start].rstrip(), stage, when, allowed[0] if allowed else ""))
    return rows


def _run_list(
    root: Path, tmp_path: Path, *args: str, **extra: str
) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(REPO), "XDG_CONFIG_HOME": str(tmp_path / "config"),
           "XDG_CACHE_HOME": str(tmp_path / "xdg-cache"), **extra}
    argv = [sys.executable, "-m", "runner", "exec", ".gitlab-ci.yml", "--list", "--color", "never",
            *args]
    return subprocess.run(argv, cwd=root, env=env, capture_output=True, text=True, timeout=120,
                          check=False)


@contextmanager
def _listed(case: Path, tmp_path: Path) -> Iterator[subprocess.CompletedProcess[str]]:
    """``--list`` of the checked-out fixture, with its ``default_image`` as ``--image`` and,
    for ``served`` files, the include server running (every served file fetched, no token
    shown)."""
    expect = expectations(case)
    args = ["--image", expect["default_image"]] if "default_image" in expect else []
    if "served" not in expect:
        yield _run_list(_checkout(case, tmp_path), tmp_path, *args)
        return
    with corpus_server(tmp_path) as server:
        root = tmp_path / case.name
        shutil.copytree(case, root)
        localize(root, server)
        wanted = serve(server, root, expect["served"])
        _commit(root)
        proc = _run_list(root, tmp_path, *args, "--gitlab-url", server.url, "--gitlab-token",
                         TOKEN_VARIABLE, SSL_CERT_FILE=str(server.ca), **{TOKEN_VARIABLE: TOKEN})
        assert TOKEN not in proc.stdout + proc.stderr
        yield proc
        assert unfetched(server, wanted) == []


@pytest.mark.parametrize("case", cases_with_pending())
def test_corpus_file_is_listed_as_gitlab_would_create_it(case: Path, tmp_path: Path) -> None:
    """The listed jobs are the expected ones, in file order within each stage."""
    with _listed(case, tmp_path) as proc:
        check_listing(expectations(case), proc)


def check_listing(expect: dict[str, Any], proc: subprocess.CompletedProcess[str]) -> None:
    """``proc``'s table and stderr as ``expect`` (a fixture's expect.yml) says."""
    if "error" in expect:
        assert proc.returncode == 2, proc.stdout + proc.stderr
        assert "Traceback" not in proc.stderr
        for part in expect["error"]["contains"]:
            assert part in proc.stderr, proc.stderr
        where = f"{expect['error'].get('file', '.gitlab-ci.yml')}:"
        if "line" in expect["error"]:
            where += f"{expect['error']['line']}:"
        assert where in proc.stderr, proc.stderr
        return
    assert proc.returncode == 0, proc.stderr
    wanted = expect.get("jobs") or []
    if not wanted:
        assert proc.stdout == "" or len(proc.stdout.splitlines()) == 1, proc.stdout
        return
    rows = listed_rows(proc.stdout)
    assert sorted((name, stage, when) for name, stage, when, _ in rows) == sorted(
        (w["name"], w["stage"], w["when"]) for w in wanted
    ), proc.stdout
    for stage in {w["stage"] for w in wanted}:  # GitLab orders a stage's jobs as written
        assert [r[0] for r in rows if r[1] == stage] == [
            w["name"] for w in wanted if w["stage"] == stage
        ], proc.stdout
    for want in wanted:
        allowed = next(r[3] for r in rows if r[0] == want["name"])
        if not allowed.startswith("exit"):
            assert allowed == str(want.get("allow_failure", False)).lower(), want["name"]
    image = expect.get("default_image")
    defaulted = [w["name"] for w in wanted if image is not None and w.get("image") == image]
    if defaulted:  # --list says which jobs run in the default image, and where it came from
        assert (f"use the default image {expect['default_image']} (from --image): "
                + ", ".join(defaulted)) in proc.stderr, proc.stderr
    warned = [line for line in proc.stderr.splitlines() if line.startswith("runner: warning: ")]
    wanted_warnings = expect.get("warnings") or []
    if "warnings" in expect:  # included files are named by their full path: match the tail
        assert len(warned) == len(wanted_warnings), proc.stderr
        for text, line in zip(wanted_warnings, warned, strict=True):
            assert text in line, proc.stderr
