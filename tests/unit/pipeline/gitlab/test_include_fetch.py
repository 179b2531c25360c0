"""``include: remote``, ``project``, ``template`` and ``component`` against real servers.

Each test runs a real HTTPS server on 127.0.0.1 (a CA made with openssl, trusted
through SSL_CERT_FILE) that is both a remote file host and a strict fake GitLab
API (tests/includeserver.py); each ends with zero protocol violations.
"""

from __future__ import annotations

import base64
import hashlib
import textwrap
from collections.abc import Iterator
from pathlib import Path

import pytest

from runner.errors import PipelineError
from runner.pipeline.gitlab.compose import Composed, compose
from runner.pipeline.gitlab.fetching import Token
from runner.pipeline.gitlab.gitlabapi import Server
from runner.pipeline.gitlab.include import IncludeSettings
from runner.pipeline.gitlab.preview import to_python
from tests.includeserver import FakeProject, IncludeServer

MAIN = ".gitlab-ci.yml"
TOKEN = "glpat-s3cr3tTOKENvalue0001"
GOOD = Token("PRIVATE-TOKEN", TOKEN)


@pytest.fixture
def server(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[IncludeServer]:
    tls = tmp_path / "tls"
    tls.mkdir()
    with IncludeServer(tls, token=("PRIVATE-TOKEN", TOKEN)) as running:
        monkeypatch.setenv("SSL_CERT_FILE", str(running.ca))
        yield running
    assert running.violations == []


def write(root: Path, files: dict[str, str]) -> None:
    for name, text in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text))


def settings(
    tmp_path: Path, server: IncludeServer, variables: dict[str, str] | None = None,
    token: Token | None = GOOD,
) -> IncludeSettings:
    base = {"CI_COMMIT_REF_NAME": "main", "CI_PIPELINE_SOURCE": "push"}
    return IncludeSettings({**base, **(variables or {})}, Server(server.url, token),
                           tmp_path / "cache")


def composed(tmp_path: Path, server: IncludeServer, main: str, **kw: object) -> Composed:
    root = tmp_path / "project"
    write(root, {MAIN: main})
    return compose(root / MAIN, root, settings(tmp_path, server, **kw))  # type: ignore[arg-type]


def failure(tmp_path: Path, server: IncludeServer, main: str, **kw: object) -> PipelineError:
    with pytest.raises(PipelineError) as info:
        composed(tmp_path, server, main, **kw)
    return info.value


def names(result: Composed) -> list[str]:
    return [name for name, _ in result.jobs]


# -- remote -------------------------------------------------------------------


def test_remote_includes_as_a_mapping_and_a_bare_url(tmp_path: Path, server: IncludeServer) -> None:
    server.remote["a.yml"] = b"a: {script: [a]}\nshared: {script: [from-remote], stage: test}\n"
    server.remote["b.yaml"] = b"b: {script: [b]}\n"
    result = composed(tmp_path, server, f"""\
        include:
          - remote: {server.url}/remote/a.yml
          - {server.url}/remote/b.yaml
        shared: {{script: [mine]}}
        """)
    assert names(result) == ["a", "shared", "b"]
    assert to_python(dict(result.jobs)["shared"]) == {"script": ["mine"], "stage": "test"}


def test_integrity_is_checked(tmp_path: Path, server: IncludeServer) -> None:
    body = b"a: {script: [a]}\n"
    server.remote["a.yml"] = body
    good = "sha256-" + base64.b64encode(hashlib.sha256(body).digest()).decode()
    include = "include: {remote: '" + server.url + "/remote/a.yml', integrity: '%s'}\n"
    assert names(composed(tmp_path, server, include % good)) == ["a"]
    bad = "sha256-" + base64.b64encode(hashlib.sha256(b"other").digest()).decode()
    err = failure(tmp_path, server, include % bad)
    assert err.spot.key == "include.remote"
    assert "does not match its integrity hash" in err.message


def test_local_inside_a_remote_file_is_an_error_as_in_gitlab(
    tmp_path: Path, server: IncludeServer
) -> None:
    server.remote["a.yml"] = b"include: ci/x.yml\na: {script: [a]}\n"
    err = failure(tmp_path, server, f"include: {server.url}/remote/a.yml\n")
    assert err.spot.file == f"{server.url}/remote/a.yml"
    assert "does not have project" in err.message


def test_a_cycle_through_remote_files_names_the_chain(
    tmp_path: Path, server: IncludeServer
) -> None:
    a, b = f"{server.url}/remote/a.yml", f"{server.url}/remote/b.yml"
    server.remote["a.yml"] = f"include: {b}\na: {{script: [a]}}\n".encode()
    server.remote["b.yml"] = f"include: {a}\n".encode()
    err = failure(tmp_path, server, f"include: {a}\n")
    assert err.message == f"include cycle: {tmp_path / 'project' / MAIN} -> {a} -> {b} -> {a}"
    assert (err.spot.file, err.spot.line) == (b, 1)


def test_a_redirect_to_another_host_is_refused(tmp_path: Path, server: IncludeServer) -> None:
    server.remote["a.yml"] = b"a: {script: [a]}\n"
    server.redirects["same.yml"] = f"{server.url}/remote/a.yml"
    server.redirects["away.yml"] = f"https://localhost:{server.port}/remote/a.yml"
    assert names(composed(tmp_path, server, f"include: {server.url}/remote/same.yml\n")) == ["a"]
    err = failure(tmp_path, server, f"include: {server.url}/remote/away.yml\n")
    assert "redirects to another host" in err.message


def test_reference_reaches_into_a_fetched_file(tmp_path: Path, server: IncludeServer) -> None:
    server.remote["a.yml"] = b".setup: {script: [echo setup]}\n"
    result = composed(tmp_path, server, f"""\
        include: {server.url}/remote/a.yml
        job: {{script: [!reference [.setup, script], echo job]}}
        """)
    assert to_python(dict(result.jobs)["job"]) == {"script": ["echo setup", "echo job"]}


# -- project -------------------------------------------------------------------


def test_project_files_with_ref_and_default_branch(tmp_path: Path, server: IncludeServer) -> None:
    server.projects["platform/ci"] = FakeProject(
        default_branch="trunk",
        files={
            "trunk": {"ci/lint.yml": "lint: {script: [lint]}\n"},
            "v2": {"ci/a.yml": "a: {script: [a]}\n", "ci/b.yml": "b: {script: [b]}\n"},
        },
    )
    result = composed(tmp_path, server, """\
        include:
          - project: platform/ci
            file: /ci/lint.yml
          - project: $GROUP/ci
            ref: v2
            file: [ci/a.yml, ci/b.yml]
        """, variables={"GROUP": "platform"})
    assert names(result) == ["lint", "a", "b"]
    assert server.hits["/api/v4/projects/platform%2Fci/repository/files/ci%2Fa.yml/raw"] == 1


def test_local_includes_in_a_project_file_are_that_projects(
    tmp_path: Path, server: IncludeServer
) -> None:
    server.projects["platform/ci"] = FakeProject(files={"main": {
        "entry.yml": "include: [{local: common.yml}, {local: 'jobs/*.yml'}]\n",
        "common.yml": "common: {script: [c]}\n",
        "jobs/x.yml": "x: {script: [x]}\n",
        "jobs/y.yml": "y: {script: [y]}\n",
    }})
    result = composed(tmp_path, server, "include: {project: platform/ci, file: entry.yml}\n")
    assert names(result) == ["common", "x", "y"]


def test_a_missing_project_file_names_the_include(tmp_path: Path, server: IncludeServer) -> None:
    server.projects["platform/ci"] = FakeProject(files={"main": {}})
    err = failure(tmp_path, server, "include:\n  - {project: platform/ci, file: none.yml}\n")
    assert err.spot.line == 2 and err.spot.key == "include[0].file"
    assert "HTTP 404" in err.message


# -- template ------------------------------------------------------------------


def test_templates_come_from_the_server(tmp_path: Path, server: IncludeServer) -> None:
    server.templates["Jobs/SAST"] = "sast: {script: [scan]}\n"
    result = composed(tmp_path, server, "include: {template: Jobs/SAST.gitlab-ci.yml}\n")
    assert names(result) == ["sast"]
    assert server.hits["/api/v4/templates/gitlab_ci_ymls/Jobs%2FSAST"] == 1


def test_a_template_name_must_end_in_gitlab_ci_yml(tmp_path: Path, server: IncludeServer) -> None:
    err = failure(tmp_path, server, "include: {template: Jobs/SAST.yml}\n")
    assert "not a valid location" in err.message


# -- component ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("version", "job"),
    [("~latest", "v1.2.0"), ("1", "v1.2.0"), ("1.1", "v1.1.3"), ("2.0.0-rc1", "v2.0.0-rc1"),
     ("feature", "feature")],
)
def test_component_versions_resolve_like_gitlab(
    tmp_path: Path, server: IncludeServer, version: str, job: str
) -> None:
    refs = ["1.0.0", "1.1.3", "1.2.0", "2.0.0-rc1", "feature"]
    server.projects["group/components"] = FakeProject(
        releases=["1.0.0", "1.1.3", "1.2.0", "2.0.0-rc1"],
        files={ref: {"templates/build.yml": f"v{ref}: {{script: [x]}}\n".replace("vfeature",
                                                                                "feature")}
               for ref in refs},
    )
    host = f"127.0.0.1:{server.port}"
    main = f"include: {{component: {host}/group/components/build@{version}}}\n"
    result = composed(tmp_path, server, main)
    assert names(result) == [job]


def test_component_in_a_directory_with_its_own_local_include(
    tmp_path: Path, server: IncludeServer
) -> None:
    server.projects["group/components"] = FakeProject(releases=["1.0.0"], files={"1.0.0": {
        "templates/deploy/template.yml": "include: {local: templates/deploy/jobs.yml}\n",
        "templates/deploy/jobs.yml": "deploy: {script: [d]}\n",
    }})
    host = f"127.0.0.1:{server.port}"
    main = f"include: {{component: {host}/group/components/deploy@1.0.0}}\n"
    result = composed(tmp_path, server, main)
    assert names(result) == ["deploy"]


def test_a_component_of_another_instance_is_refused(tmp_path: Path, server: IncludeServer) -> None:
    err = failure(tmp_path, server, "include: {component: gitlab.com/g/p/c@1.0.0}\n")
    assert "not on the GitLab server" in err.message


# -- rules -----------------------------------------------------------------------


def test_include_rules_if_exists_changes_and_when(tmp_path: Path, server: IncludeServer) -> None:
    for name in ("on-main", "on-tag", "exists", "changes", "never", "project-var"):
        server.remote[f"{name}.yml"] = f"{name}: {{script: [x]}}\n".encode()
    root = tmp_path / "project"
    write(root, {"Dockerfile": "FROM scratch\n"})
    remote = f"{server.url}/remote"
    result = composed(tmp_path, server, f"""\
        variables: {{FROM_FILE: "yes"}}
        include:
          - remote: {remote}/on-main.yml
            rules: [{{if: '$CI_COMMIT_REF_NAME == "main"'}}]
          - remote: {remote}/on-tag.yml
            rules: [{{if: $CI_COMMIT_TAG}}]
          - remote: {remote}/exists.yml
            rules: [{{exists: [Dockerfile]}}]
          - remote: {remote}/changes.yml
            rules: [{{changes: [src/**/*]}}]
          - remote: {remote}/never.yml
            rules: [{{if: $FROM_FILE, when: always}}, {{when: never}}]
          - remote: {remote}/project-var.yml
            rules: [{{if: '$DEPLOY == "1"'}}]
        """, variables={"DEPLOY": "1"})
    assert names(result) == ["on-main", "exists", "changes", "project-var"]
    assert server.hits["/remote/on-tag.yml"] == 0


def test_an_unknown_include_rule_key_is_an_error(tmp_path: Path, server: IncludeServer) -> None:
    err = failure(tmp_path, server, "include:\n  - local: a.yml\n    rules: [{variables: {}}]\n")
    assert err.spot.key == "include[0].rules[0].variables"


# -- cache, offline, tokens --------------------------------------------------------


def test_offline_runs_use_the_cached_copy_with_a_notice(
    tmp_path: Path, server: IncludeServer
) -> None:
    server.remote["a.yml"] = b"a: {script: [a]}\n"
    server.projects["platform/ci"] = FakeProject(files={"main": {"p.yml": "p: {script: [p]}\n"}})
    main = f"include: [{server.url}/remote/a.yml, {{project: platform/ci, file: p.yml}}]\n"
    assert names(composed(tmp_path, server, main)) == ["a", "p"]
    server.stop()
    again = composed(tmp_path, server, main)
    assert names(again) == ["a", "p"]
    assert any(f"cannot reach {server.url}/remote/a.yml" in note and "using the copy fetched"
               in note for note in again.notes)


def test_never_fetched_and_offline_is_a_clear_error(tmp_path: Path, server: IncludeServer) -> None:
    server.stop()
    main = f"job: {{script: [x]}}\ninclude:\n  - {server.url}/remote/a.yml\n"
    err = failure(tmp_path, server, main)
    assert (err.spot.line, err.spot.key) == (3, "include[0]")
    assert "never fetched" in err.message and "--gitlab-url" in err.message


def test_the_token_is_never_in_messages_or_the_cache(tmp_path: Path, server: IncludeServer) -> None:
    server.projects["platform/ci"] = FakeProject(files={"main": {"p.yml": "p: {script: [p]}\n"}})
    result = composed(tmp_path, server, "include: {project: platform/ci, file: p.yml}\n")
    assert names(result) == ["p"]
    err = failure(tmp_path, server, "include: {project: platform/ci, file: p.yml}\n",
                  token=Token("PRIVATE-TOKEN", TOKEN + "-wrong"))
    assert "HTTP 401" in err.message and "--gitlab-token" in err.message
    assert server.violations == [
        "GET /api/v4/projects/platform%2Fci: expected exactly the"
        " PRIVATE-TOKEN header with the token"
    ]
    server.violations.clear()
    assert TOKEN not in str(err) and TOKEN not in repr(err.spot)
    stored = [path.read_bytes() for path in (tmp_path / "cache").rglob("*") if path.is_file()]
    assert stored and not any(TOKEN.encode() in body for body in stored)
    assert TOKEN not in repr(Token("PRIVATE-TOKEN", TOKEN)) + str(Token("PRIVATE-TOKEN", TOKEN))


def test_a_component_with_no_server_configured_is_read_from_its_own_host(
    tmp_path: Path, server: IncludeServer
) -> None:
    """No --gitlab-url: the component's host is the server, asked without a token; its
    own wildcard include lists that project's tree on the same host."""
    server.token = None
    server.projects["group/components"] = FakeProject(releases=["2.1.0"], files={"2.1.0": {
        "templates/lint.yml": "include: {local: 'templates/lint/*.yml'}\n",
        "templates/lint/a.yml": "lint-a: {script: [a]}\n",
    }})
    root = tmp_path / "project"
    address = f"127.0.0.1:{server.port}/group/components/lint@2"
    write(root, {MAIN: f"include: {{component: {address}}}\n"})
    result = compose(root / MAIN, root, IncludeSettings({}, None, tmp_path / "cache"))
    assert names(result) == ["lint-a"]


def test_a_body_over_the_size_limit_is_refused(tmp_path: Path, server: IncludeServer) -> None:
    server.remote["big.yml"] = b"#" * ((4 << 20) + 1)
    err = failure(tmp_path, server, f"include: {server.url}/remote/big.yml\n")
    assert "larger than 4 MiB" in err.message
