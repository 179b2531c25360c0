"""Tests of runner.pipeline.gitlab.translate: the whole pipeline, stage ordering, scripts, speed.

Also home of the helpers the other test_translate_* files, test_rules.py and
test_parallel.py share: a ``Composed`` built straight from YAML text (no
includes or extends: those are compose's tests), and a fixed git state so no
test depends on the checkout it runs in.
"""

from __future__ import annotations

import textwrap
import time
from pathlib import Path

import pytest

from runner.errors import PipelineError, PipelineErrors, SourceSpot
from runner.pipeline import yamlsrc
from runner.pipeline.gitlab.compose import RESERVED, Composed
from runner.pipeline.gitlab.predefined import GitInfo, job_predefined, pipeline_predefined
from runner.pipeline.gitlab.translate import Options, translate
from runner.pipeline.model import (
    DEFAULT_TIMEOUT_S,
    Job,
    Need,
    Pipeline,
    SecretSource,
    Spot,
    When,
)
from runner.pipeline.yamlsrc import Map

FILE = ".gitlab-ci.yml"
GIT = GitInfo(
    sha="c0ffee" + "0" * 34,
    short_sha="c0ffee00",
    ref_name="main",
    branch="main",
    tag=None,
    default_branch="main",
    message="Ship it",
    title="Ship it",
    timestamp="2024-05-01T08:00:00Z",
    author="Ann <ann@example.com>",
)
FEATURE = GitInfo(**{**GIT.__dict__, "ref_name": "feature/x", "branch": "feature/x"})
TAGGED = GitInfo(**{**GIT.__dict__, "ref_name": "v1.0.0", "branch": None, "tag": "v1.0.0"})


def composed(text: str) -> Composed:
    """What compose would hand over for a file without includes, extends or defaults."""
    source = yamlsrc.load_text(textwrap.dedent(text), FILE)

    def is_job(entry: yamlsrc.Entry) -> bool:
        return (
            isinstance(entry.value, Map)
            and entry.key not in RESERVED
            and not entry.key.startswith(".")
        )

    jobs = tuple((e.key, e.value) for e in source.root if is_job(e) and isinstance(e.value, Map))
    top = Map(tuple(e for e in source.root if not is_job(e)), source.root.pos)
    return Composed(source, top, jobs, ())


def translated(text: str, root: Path, *, git: GitInfo = GIT, **options: object) -> Pipeline:
    return translate(composed(text), root, Options(git=git, **options))  # type: ignore[arg-type]


def error(text: str, root: Path, **options: object) -> PipelineError:
    with pytest.raises(PipelineError) as caught:
        translated(text, root, **options)
    return caught.value


def jobs_by_name(pipeline: Pipeline) -> dict[str, Job]:
    return {job.name: job for job in pipeline.jobs}


def needs(pipeline: Pipeline) -> dict[str, tuple[tuple[str, bool], ...]]:
    return {j.name: tuple((n.job, n.artifacts) for n in j.needs) for j in pipeline.jobs}


def predefined_vars(
    root: Path,
    name: str,
    stage: str,
    job_id: int,
    *,
    git: GitInfo = GIT,
    node: tuple[int, int] | None = None,
) -> tuple[tuple[str, str], ...]:
    """The predefined variables translate gives a job (checked literally in test_predefined)."""
    return (*pipeline_predefined(git, root, FILE), *job_predefined(name, stage, job_id, node))


def user_vars(job: Job) -> dict[str, str]:
    """A job's variables without the predefined CI_* and GITLAB_CI ones."""
    return {
        k: v for k, v in job.variables if not k.startswith("CI_") and k not in ("CI", "GITLAB_CI")
    }


def test_minimal_job_whole_value(tmp_path: Path) -> None:
    """Every field of a one-job pipeline, predefined variables spelled out."""
    root = tmp_path / "proj"
    pipeline = translated(
        """\
        build:
          image: alpine:3.19
          script: make
        """,
        root,
    )
    assert pipeline == Pipeline(
        source=Path(FILE),
        root=root,
        jobs=(
            Job(
                name="build",
                image="alpine:3.19",
                script=("make",),
                variables=(
                    ("CI", "true"),
                    ("GITLAB_CI", "true"),
                    ("CI_SERVER", "yes"),
                    ("CI_PIPELINE_ID", "1"),
                    ("CI_PIPELINE_IID", "1"),
                    ("CI_PIPELINE_SOURCE", "push"),
                    ("CI_CONFIG_PATH", FILE),
                    ("CI_PROJECT_DIR", "/builds/proj"),
                    ("CI_PROJECT_NAME", "proj"),
                    ("CI_BUILDS_DIR", "/builds"),
                    ("CI_COMMIT_SHA", "c0ffee" + "0" * 34),
                    ("CI_COMMIT_SHORT_SHA", "c0ffee00"),
                    ("CI_COMMIT_BEFORE_SHA", "0" * 40),
                    ("CI_COMMIT_REF_NAME", "main"),
                    ("CI_COMMIT_REF_SLUG", "main"),
                    ("CI_COMMIT_BRANCH", "main"),
                    ("CI_COMMIT_MESSAGE", "Ship it"),
                    ("CI_COMMIT_TITLE", "Ship it"),
                    ("CI_COMMIT_DESCRIPTION", ""),
                    ("CI_COMMIT_TIMESTAMP", "2024-05-01T08:00:00Z"),
                    ("CI_COMMIT_AUTHOR", "Ann <ann@example.com>"),
                    ("CI_DEFAULT_BRANCH", "main"),
                    ("CI_JOB_NAME", "build"),
                    ("CI_JOB_NAME_SLUG", "build"),
                    ("CI_JOB_STAGE", "test"),
                    ("CI_JOB_ID", "1"),
                    ("CI_NODE_TOTAL", "1"),
                ),
                timeout_s=DEFAULT_TIMEOUT_S,
                spot=Spot(FILE, 1, 1),
                stage="test",
            ),
        ),
        dialect="gitlab",
        stages=(".pre", "build", "test", "deploy", ".post"),
    )


def test_stage_ordering_becomes_needs_on_all_earlier_jobs(tmp_path: Path) -> None:
    pipeline = translated(
        """\
        stages: [build, test, deploy]
        lint: {image: a, stage: .pre, script: lint}
        b1: {image: a, stage: build, script: b}
        b2: {image: a, stage: build, script: b}
        t1: {image: a, script: t}
        d1: {image: a, stage: deploy, script: d}
        tidy: {image: a, stage: .post, script: x}
        """,
        tmp_path,
    )
    assert needs(pipeline) == {
        "lint": (),
        "b1": (("lint", True),),
        "b2": (("lint", True),),
        "t1": (("lint", True), ("b1", True), ("b2", True)),
        "d1": (("lint", True), ("b1", True), ("b2", True), ("t1", True)),
        "tidy": (("lint", True), ("b1", True), ("b2", True), ("t1", True), ("d1", True)),
    }
    assert [j.stage for j in pipeline.jobs] == [".pre", "build", "build", "test", "deploy", ".post"]
    assert pipeline.stages == (".pre", "build", "test", "deploy", ".post")


def test_custom_stages_keep_pre_and_post_at_the_ends(tmp_path: Path) -> None:
    pipeline = translated(
        """\
        stages: [.post, one, two, one, .pre]
        x: {image: a, stage: two, script: x}
        """,
        tmp_path,
    )
    assert pipeline.stages == (".pre", "one", "two", ".post")


def test_before_script_and_script_run_as_one_script(tmp_path: Path) -> None:
    """GitLab runs before_script and script in one shell; nested lists (anchors) flatten."""
    pipeline = translated(
        """\
        job:
          image: a
          before_script: [setup]
          script:
            - one
            - [two, [three]]
          after_script: cleanup
        """,
        tmp_path,
    )
    job = pipeline.jobs[0]
    assert (job.script, job.after_script) == (("setup", "one", "two", "three"), ("cleanup",))


def test_secrets_and_file_variables_reach_every_job(tmp_path: Path) -> None:
    token = SecretSource("TOKEN", env="TOKEN")
    kube = SecretSource("KUBE", value="k", as_file=True)
    pipeline = translated(
        """\
        a: {image: i, script: x}
        b: {image: i, script: x}
        """,
        tmp_path,
        secrets=(token, kube),
        file_variables=(("CONF", "x=1\n"),),
        secret_values={"TOKEN": "s3cr3t"},
    )
    assert pipeline.secrets == (token, kube)
    for job in pipeline.jobs:
        assert job.secrets == ("TOKEN", "KUBE")
        assert job.file_variables == (("CONF", "x=1\n"),)
        assert "s3cr3t" not in repr(job)


def test_job_spot_points_at_its_name(tmp_path: Path) -> None:
    pipeline = translated(
        """\
        stages: [build]

        compile:
          stage: build
          image: a
          script: x
        """,
        tmp_path,
    )
    assert pipeline.jobs[0].spot == Spot(FILE, 3, 1)


def test_no_jobs_left_gives_an_empty_pipeline_with_a_note(tmp_path: Path) -> None:
    pipeline = translated(
        """\
        only-tags:
          image: a
          script: x
          only: [tags]
        """,
        tmp_path,
    )
    assert pipeline.jobs == ()
    assert pipeline.notes == (
        "no job is added for ref 'main': the rules (or only/except) of every job leave it out",
    )


def test_composer_notes_come_first(tmp_path: Path) -> None:
    base = composed("j: {image: a, script: x, tags: [docker]}")
    with_notes = Composed(base.source, base.top, base.jobs, ("from compose",))
    pipeline = translate(with_notes, tmp_path, Options(git=GIT))
    assert pipeline.notes == (
        "from compose",
        "these keywords have no effect in a local run and were ignored: 'tags' (1 job)",
    )


def test_git_note_is_passed_on(tmp_path: Path) -> None:
    noted = GitInfo(**{**GIT.__dict__, "note": "not a repo"})
    assert translated("j: {image: a, script: x}", tmp_path, git=noted).notes == ("not a repo",)


def test_two_hundred_jobs_translate_fast(tmp_path: Path) -> None:
    """A 1,000-line file with 200 jobs (rules, needs, cache) stays well under half a second."""
    parts = [
        "stages: [build, test, deploy]\nvariables:\n  GLOBAL: g\n  REF: $GLOBAL-$CI_COMMIT_SHA\n"
    ]
    for i in range(200):
        parts.append(
            textwrap.dedent(
                f"""\
                job{i}:
                  stage: {("build", "test", "deploy")[i % 3]}
                  image: alpine:$GLOBAL
                  script: [echo {i}]
                  rules:
                    - if: $CI_COMMIT_BRANCH == "main" && $GLOBAL =~ /^g/
                  needs: {f"[job{i - 3}]" if i >= 3 else "[]"}
                  cache: {{key: k-$CI_JOB_NAME, paths: [c/]}}
                """
            )
        )
    text = "".join(parts)
    assert text.count("\n") >= 1000
    loaded = composed(text)  # YAML loading is compose's cost, not translation's
    best = float("inf")
    for _ in range(3):
        started = time.perf_counter()
        pipeline = translate(loaded, tmp_path, Options(git=GIT))
        best = min(best, time.perf_counter() - started)
    assert len(pipeline.jobs) == 200
    assert pipeline.jobs[5].needs == (Need("job2"),)
    assert best < 0.25, f"took {best:.3f}s"


def test_job_id_differs_per_job(tmp_path: Path) -> None:
    pipeline = translated(
        """\
        a: {image: i, script: x}
        b: {image: i, script: x, parallel: 2}
        """,
        tmp_path,
    )
    ids = [dict(j.variables)["CI_JOB_ID"] for j in pipeline.jobs]
    assert ids == ["1", "2", "3"]
    assert pipeline.jobs[0].variables == predefined_vars(tmp_path, "a", "test", 1)
    assert pipeline.jobs[0].when is When.ON_SUCCESS


def test_jobs_from_included_files_point_at_their_file(tmp_path: Path) -> None:
    main = composed("stages: [build]\nvariables: {A: a}\n")
    other = yamlsrc.load_text(
        "\nfrom_include:\n  stage: build\n  image: i\n  script: x\n", "ci/jobs.yml"
    )
    jobs = tuple((e.key, e.value) for e in other.root if isinstance(e.value, Map))
    pipeline = translate(Composed(main.source, main.top, jobs, ()), tmp_path, Options(git=GIT))
    assert pipeline.jobs[0].spot == Spot("ci/jobs.yml", 3, 3)
    bad = yamlsrc.load_text("oops:\n  image: i\n  script: x\n  stages: build\n", "ci/bad.yml")
    jobs = tuple((e.key, e.value) for e in bad.root if isinstance(e.value, Map))
    with pytest.raises(PipelineError) as caught:
        translate(Composed(main.source, main.top, jobs, ()), tmp_path, Options(git=GIT))
    assert caught.value.spot == SourceSpot("ci/bad.yml", 4, 3, "oops.stages")
    assert caught.value.message == "unknown key 'stages' in job 'oops'; did you mean 'stage'?"


def test_every_broken_job_is_reported_at_once(tmp_path: Path) -> None:
    """Three jobs with a mistake each: one run lists all three, as GitLab's lint does."""
    found = error(
        "a:\n  image: alpine\n  script: x\n  when: sometimes\n"
        "b:\n  image: alpine\n  scirpt: x\n"
        "c:\n  image: alpine\n  script: x\n  timeout: forever\n", tmp_path)
    assert isinstance(found, PipelineErrors)
    assert [(e.spot.line, e.spot.key) for e in found.errors] == [
        (4, "a.when"), (7, "b.scirpt"), (11, "c.timeout")]
