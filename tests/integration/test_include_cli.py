"""``runner exec .gitlab-ci.yml --list`` with includes fetched from a real HTTPS server.

The whole path a user takes: ``--gitlab-url``, the token named by
``--gitlab-token`` in the environment, the per-project cache in
``XDG_CACHE_HOME``, then the same run with the server gone. No job runs (``--list``),
so no podman is needed.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.includeserver import FakeProject, IncludeServer
from tests.integration.harness import Project, new_project

TOKEN = "glpat-cliTOKENnever-shown-42"
MAIN = """\
include:
  - remote: {url}/remote/lint.yml
  - project: platform/ci
    file: deploy.yml
  - template: Jobs/SAST.gitlab-ci.yml
default: {{image: localhost/busybox:latest}}
unit: {{script: [pytest]}}
"""


@pytest.fixture
def server(tmp_path: Path) -> Iterator[IncludeServer]:
    tls = tmp_path / "tls"
    tls.mkdir()
    with IncludeServer(tls, token=("PRIVATE-TOKEN", TOKEN)) as running:
        running.remote["lint.yml"] = b"lint: {script: [lint]}\n"
        running.projects["platform/ci"] = FakeProject(files={"main": {
            "deploy.yml": "deploy: {stage: deploy, script: [ship]}\n"}})
        running.templates["Jobs/SAST"] = "sast: {stage: test, script: [scan]}\n"
        yield running
    assert running.violations == []


def _env(tmp_path: Path, server: IncludeServer) -> dict[str, str]:
    return {"SSL_CERT_FILE": str(server.ca), "XDG_CACHE_HOME": str(tmp_path / "xdg-cache"),
            "MY_GITLAB_TOKEN": TOKEN}


def test_list_fetches_then_works_offline_from_the_cache(
    tmp_path: Path, server: IncludeServer
) -> None:
    project: Project = new_project(tmp_path / "app", tmp_path / "cache")
    (project.root / ".gitlab-ci.yml").write_text(MAIN.format(url=server.url))
    args = (".gitlab-ci.yml", "--list", "--gitlab-url", server.url, "--gitlab-token",
            "MY_GITLAB_TOKEN")
    first = project.run(*args, **_env(tmp_path, server))
    assert first.code == 0, first.err
    assert [line.split()[0] for line in first.out.splitlines()[1:]] == [
        "lint", "sast", "unit", "deploy"]
    server.stop()
    second = project.run(*args, **_env(tmp_path, server))
    assert second.code == 0, second.err
    assert second.out == first.out
    assert "using the copy fetched" in second.err
    cached = [p.read_bytes() for p in (tmp_path / "xdg-cache").rglob("*") if p.is_file()]
    assert len(cached) >= 4
    for text in (first.out, first.err, second.out, second.err):
        assert TOKEN not in text
    assert not any(TOKEN.encode() in body for body in cached)


def test_never_fetched_offline_and_a_literal_token_are_clear_errors(
    tmp_path: Path, server: IncludeServer
) -> None:
    project: Project = new_project(tmp_path / "app", tmp_path / "cache")
    (project.root / ".gitlab-ci.yml").write_text(MAIN.format(url=server.url))
    literal = project.run(".gitlab-ci.yml", "--list", "--gitlab-url", server.url,
                          "--gitlab-token", TOKEN, **_env(tmp_path, server))
    assert literal.code == 2 and TOKEN not in literal.err
    assert "not the token itself" in literal.err
    server.stop()
    offline = project.run(".gitlab-ci.yml", "--list", "--gitlab-url", server.url,
                          **_env(tmp_path, server))
    assert offline.code == 2
    assert ".gitlab-ci.yml:2:" in offline.err and "never fetched" in offline.err
    assert "Traceback" not in offline.err
