"""Every fixture of the corpus (tests/fixtures/gitlab) translates as GitLab would, or is refused.

Each fixture's ``expect.yml`` says which jobs GitLab creates for a push to
``main`` (names, stages, when, needs, allow_failure, some variables, services) or
which error stops the file before anything runs. The run of the offline
fixtures is tested in tests/integration/test_gitlab_fixtures.py. A fixture with
``default_image:`` is translated with that default image (``--image``); one with
``served:`` includes from the strict fake GitLab of tests/corpusserver.py.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
import yaml

from runner.errors import Fault, RunnerError
from runner.pipeline.gitlab.compose import compose
from runner.pipeline.gitlab.fetching import Token
from runner.pipeline.gitlab.gitlabapi import Server
from runner.pipeline.gitlab.include import IncludeSettings
from runner.pipeline.gitlab.includesettings import include_settings
from runner.pipeline.gitlab.predefined import GitInfo
from runner.pipeline.gitlab.translate import Options, translate
from runner.pipeline.model import Pipeline, Service
from tests.corpusserver import TOKEN_HEADER, corpus_server, localize, serve, unfetched

FIXTURES = Path(__file__).resolve().parents[3] / "fixtures" / "gitlab"
CASES = sorted(path for path in FIXTURES.iterdir() if path.is_dir())
MAIN = GitInfo(sha="a" * 40, short_sha="a" * 8, ref_name="main", branch="main", tag=None,
               default_branch="main", message="Fix things\n", title="Fix things",
               timestamp="2026-11-23T10:00:00+00:00", author="Dev <dev@example.com>")


def expectations(case: Path) -> dict[str, Any]:
    loaded: dict[str, Any] = yaml.safe_load((case / "expect.yml").read_text())
    return loaded


def pending(case: Path) -> list[str]:
    """The helpers whose feature a fixture waits for (``pending:`` in expect.yml)."""
    marker = expectations(case).get("pending") or []
    return [marker] if isinstance(marker, str) else list(marker)


def cases_with_pending() -> list[Any]:
    """Every fixture; those waiting for a feature are strict xfails, so the lead removes the
    ``pending:`` marker when it lands (an unexpected pass fails the suite)."""
    params = []
    for case in CASES:
        waits = pending(case)
        marks = (
            [pytest.mark.xfail(strict=True, reason="pending " + ", ".join(waits))]
            if waits else []
        )
        params.append(pytest.param(case, id=case.name, marks=marks))
    return params


def translated(case: Path, tmp_path: Path) -> Pipeline:
    """The fixture copied to a directory of the same name (CI_PROJECT_DIR uses it), with
    its ``default_image`` and, for ``served`` files, the include server running."""
    root = tmp_path / case.name
    shutil.copytree(case, root)
    expect = expectations(case)
    image = expect.get("default_image")
    options = Options(git=MAIN, default_image=None if image is None else (image, "--image"))
    with _includes(root, tmp_path, expect.get("served")) as settings:
        return translate(compose(root / ".gitlab-ci.yml", root, settings), root, options)


@contextmanager
def _includes(
    root: Path, tmp_path: Path, served: dict[str, Any] | None
) -> Iterator[IncludeSettings | None]:
    """Settings that reach the fixture's served files (every one fetched), or None."""
    if served is None:
        yield None
        return
    with corpus_server(tmp_path) as server, pytest.MonkeyPatch.context() as env:
        env.setenv("SSL_CERT_FILE", str(server.ca))
        localize(root, server)
        wanted = serve(server, root, served)
        gitlab = Server(server.url, Token(*TOKEN_HEADER))
        yield include_settings(root, root / ".gitlab-ci.yml", {}, gitlab, git=MAIN,
                               environ={"XDG_CACHE_HOME": str(tmp_path / "xdg-cache")})
        assert unfetched(server, wanted) == []


def test_the_corpus_is_large_and_varied() -> None:
    """At least 90 fixtures (issue 16 added 40+), some run offline, some must be refused."""
    kinds = [expectations(case) for case in CASES]
    assert len(CASES) >= 90
    assert sum(1 for k in kinds if k.get("runnable")) >= 8
    assert sum(1 for k in kinds if "error" in k) >= 6


@pytest.mark.parametrize("case", cases_with_pending())
def test_fixture(case: Path, tmp_path: Path) -> None:
    """Jobs, stages, when, needs and variables as GitLab has them; or the promised error."""
    expect = expectations(case)
    if "error" in expect:
        with pytest.raises(RunnerError) as info:
            translated(case, tmp_path)
        error, message = info.value, str(info.value)
        assert error.fault is Fault.USER_INPUT
        assert "Traceback" not in message and "\n" not in message.strip()
        for part in expect["error"]["contains"]:
            assert part in message
        where = f"{expect['error'].get('file', '.gitlab-ci.yml')}:"
        if "line" in expect["error"]:
            where += f"{expect['error']['line']}:"
        assert where in message
        return
    pipeline = translated(case, tmp_path)
    assert_jobs(pipeline, expect.get("jobs") or [])
    assert_warnings(pipeline.notes, expect)


def assert_jobs(pipeline: Pipeline, wanted: list[dict[str, Any]]) -> None:
    """The pipeline's jobs as ``wanted`` lists them; a trigger job's ``child`` the same way."""
    assert [job.name for job in pipeline.jobs] == [want["name"] for want in wanted]
    for want, job in zip(wanted, pipeline.jobs, strict=True):
        if "child" in want:
            assert job.trigger is not None and job.trigger.child is not None, job.name
            assert_jobs(job.trigger.child, want["child"])
        assert (job.stage, job.when.value) == (want["stage"], want["when"]), job.name
        if "needs" in want:
            assert sorted(need.job for need in job.needs) == sorted(want["needs"]), job.name
        if job.allow_failure_codes:  # exit-code allowances: "allowed" only for those codes
            assert not want.get("allow_failure", False), job.name
        else:
            assert job.allow_failure == want.get("allow_failure", False), job.name
        if "image" in want:
            assert job.image == want["image"], job.name
        variables = dict(job.variables)
        for name, value in (want.get("variables") or {}).items():
            assert variables.get(name) == str(value), f"{job.name}: {name}"
        if "services" in want:
            assert_services(job.name, job.services, want["services"])


def assert_warnings(notes: tuple[str, ...] | list[str], expect: dict[str, Any]) -> None:
    """With ``warnings:`` in expect.yml, exactly those YAML warnings, each naming file:line."""
    if "warnings" not in expect:
        return
    got = [note for note in notes if note.startswith("warning: ")]
    wanted = expect["warnings"] or []
    assert len(got) == len(wanted), got
    for text, note in zip(wanted, got, strict=True):
        assert text in note, (text, got)


def assert_services(job: str, got: tuple[Service, ...], wanted: list[dict[str, Any]]) -> None:
    """Images and aliases in order; entrypoint, command and variables where the fixture says."""
    assert [(s.image, list(s.aliases)) for s in got] == [
        (w["image"], w.get("aliases", [])) for w in wanted
    ], job
    for service, want in zip(got, wanted, strict=True):
        for key in ("entrypoint", "command"):
            if key in want:
                assert list(getattr(service, key) or ()) == want[key], f"{job}: {key}"
        if "variables" in want:
            expected = {name: str(value) for name, value in want["variables"].items()}
            assert dict(service.variables) == expected, f"{job}: {service.image}"
