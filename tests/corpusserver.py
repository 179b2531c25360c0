"""The corpus's include fixtures (``served:`` in expect.yml) served by the strict IncludeServer.

Used by both corpus harnesses (tests/unit/pipeline/gitlab/test_fixtures.py in
process, tests/integration/test_gitlab_corpus_list.py through the CLI), so that
both serve exactly what a fixture's ``served:`` says, and both check that every
served file was asked for and that the fake GitLab saw no protocol violation.

How the fixtures' hosts reach the loopback server (see tests/fixtures/gitlab/README.md):

* ``project`` and ``template`` includes name no host: ``--gitlab-url`` (here
  ``IncludeSettings.server``) is the server's address;
* ``component`` addresses start with ``$CI_SERVER_FQDN``, as GitLab's docs write
  them, which ``--gitlab-url`` sets;
* ``remote`` URLs on ``https://ci.example.test`` are rewritten, in the test's copy
  of the fixture only, to the server's ``/remote/`` file host (the one thing a
  harness has to rewrite: a remote host is not the GitLab server, and no test may
  touch DNS).
"""

from __future__ import annotations

import urllib.parse
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from tests.includeserver import API, FakeProject, IncludeServer

REMOTE_HOST = "https://ci.example.test/"
"""Where the corpus's remote includes live; the harness maps it to ``/remote/``."""
TOKEN = "glpat-corpusTOKENnever-shown-7"
TOKEN_HEADER = ("PRIVATE-TOKEN", TOKEN)
TOKEN_VARIABLE = "CORPUS_GITLAB_TOKEN"
"""The environment variable ``--gitlab-token`` names in the CLI harness."""


@contextmanager
def corpus_server(tmp_path: Path) -> Iterator[IncludeServer]:
    """A running strict server (token required); it must end with zero violations."""
    tls = tmp_path / "tls"
    tls.mkdir()
    with IncludeServer(tls, token=TOKEN_HEADER) as server:
        yield server
    assert server.violations == []


def localize(root: Path, server: IncludeServer) -> None:
    """Point the copy at ``root``'s remote URLs at ``server`` (never the fixture itself)."""
    for path in root.rglob("*.yml"):
        text = path.read_text()
        if REMOTE_HOST in text:
            path.write_text(text.replace(REMOTE_HOST, f"{server.url}/remote/"))


def serve(server: IncludeServer, root: Path, served: dict[str, Any]) -> list[str]:
    """Load ``served`` (paths relative to ``root``) into ``server``; the raw request paths
    each served file must be fetched with."""
    wanted: list[str] = []
    for path, file in (served.get("https") or {}).items():
        server.remote[path.lstrip("/")] = (root / file).read_bytes()
        wanted.append("/remote/" + path.lstrip("/"))
    for name, file in (served.get("templates") or {}).items():
        key = name.removesuffix(".gitlab-ci.yml")
        server.templates[key] = (root / file).read_text()
        wanted.append(f"{API}/templates/gitlab_ci_ymls/{_quoted(key)}")
    for entry in served.get("project_files") or []:
        project = server.projects.setdefault(entry["project"], FakeProject())
        files = project.files.setdefault(entry["ref"], {})
        files[entry["path"]] = (root / entry["file"]).read_text()
        wanted.append(f"{API}/projects/{_quoted(entry['project'])}/repository/files/"
                      f"{_quoted(entry['path'])}/raw")
    for name, tags in (served.get("tags") or {}).items():
        server.projects.setdefault(name, FakeProject()).releases = [str(tag) for tag in tags]
    return wanted


def unfetched(server: IncludeServer, wanted: list[str]) -> list[str]:
    """The served files nobody asked for (a fixture that serves them expects them read)."""
    return [path for path in wanted if server.hits[path] == 0]


def _quoted(text: str) -> str:
    return urllib.parse.quote(text, safe="")
