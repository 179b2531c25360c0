"""Tests of needs, dependencies and artifact flow in the GitLab translation."""

from __future__ import annotations

from pathlib import Path

from runner.errors import SourceSpot
from tests.unit.pipeline.gitlab.test_translate import FILE, error, needs, translated

STAGES = """\
stages: [build, test, deploy]
"""


def test_needs_replace_stage_ordering(tmp_path: Path) -> None:
    pipeline = translated(
        STAGES
        + """\
        a: {image: i, stage: build, script: x}
        b: {image: i, stage: build, script: x}
        c: {image: i, stage: test, script: x, needs: [a]}
        d: {image: i, stage: deploy, script: x, needs: []}
        e: {image: i, stage: deploy, script: x, needs: [{job: b, artifacts: false}, c]}
        same_stage: {image: i, stage: build, script: x, needs: [a]}
        """.replace("        ", ""),
        tmp_path,
    )
    assert needs(pipeline) == {
        "a": (),
        "b": (),
        "c": (("a", True),),
        "d": (),
        "e": (("b", False), ("c", True)),
        "same_stage": (("a", True),),
    }


def test_dependencies_limit_artifacts_of_stage_ordering(tmp_path: Path) -> None:
    pipeline = translated(
        STAGES
        + """\
        a: {image: i, stage: build, script: x}
        b: {image: i, stage: build, script: x}
        only_a: {image: i, stage: test, script: x, dependencies: [a]}
        none: {image: i, stage: test, script: x, dependencies: []}
        """.replace("        ", ""),
        tmp_path,
    )
    assert needs(pipeline) == {
        "a": (),
        "b": (),
        "only_a": (("a", True), ("b", False)),
        "none": (("a", False), ("b", False)),
    }


def test_dependencies_with_needs_must_be_needed(tmp_path: Path) -> None:
    pipeline = translated(
        STAGES
        + """\
        a: {image: i, stage: build, script: x}
        b: {image: i, stage: build, script: x}
        c: {image: i, stage: test, script: x, needs: [a, b], dependencies: [b]}
        """.replace("        ", ""),
        tmp_path,
    )
    assert needs(pipeline)["c"] == (("a", False), ("b", True))
    exc = error(
        STAGES
        + """\
        a: {image: i, stage: build, script: x}
        b: {image: i, stage: build, script: x}
        c: {image: i, stage: test, script: x, needs: [a], dependencies: [b]}
        """.replace("        ", ""),
        tmp_path,
    )
    assert exc.spot == SourceSpot(FILE, 4, 66, "c.dependencies[0]")
    assert exc.message == (
        "job 'c' lists 'b' in 'dependencies' but not in 'needs'; with 'needs', dependencies"
        " must be among the needed jobs"
    )


def test_dependency_on_a_later_stage_is_an_error(tmp_path: Path) -> None:
    exc = error(
        STAGES
        + """\
        a: {image: i, stage: build, script: x, dependencies: [b]}
        b: {image: i, stage: test, script: x}
        """.replace("        ", ""),
        tmp_path,
    )
    assert exc.spot == SourceSpot(FILE, 2, 55, "a.dependencies[0]")
    assert exc.message == (
        "job 'a' (stage 'build') lists 'b' (stage 'test') in 'dependencies'; only jobs of"
        " earlier stages can be dependencies (or add it to 'needs')"
    )


def test_unknown_dependency_is_an_error_with_a_suggestion(tmp_path: Path) -> None:
    exc = error(
        """\
        build: {image: i, stage: build, script: x}
        t: {image: i, script: x, dependencies: [biuld]}
        """,
        tmp_path,
    )
    assert exc.spot == SourceSpot(FILE, 2, 41, "t.dependencies[0]")
    assert exc.message == (
        "'dependencies' of job 't' names 'biuld', which is not a job in this pipeline;"
        " did you mean 'build'?"
    )


def test_unknown_need_is_an_error_at_its_item(tmp_path: Path) -> None:
    exc = error(
        """\
        compile: {image: i, stage: build, script: x}
        t:
          image: i
          script: x
          needs:
            - compile
            - complie-docs
        """,
        tmp_path,
    )
    assert exc.spot == SourceSpot(FILE, 7, 7, "t.needs[1]")
    assert exc.message == (
        "job 't' needs 'complie-docs', which is not a job in this pipeline; did you mean 'compile'?"
    )


def test_optional_need_on_an_absent_job_is_dropped(tmp_path: Path) -> None:
    pipeline = translated(
        """\
        a: {image: i, stage: build, script: x}
        t: {image: i, script: x, needs: [a, {job: nowhere, optional: true}]}
        """,
        tmp_path,
    )
    assert needs(pipeline)["t"] == (("a", True),)


def test_need_on_a_job_left_out_by_rules(tmp_path: Path) -> None:
    text = """\
        deploy_prep:
          image: i
          stage: build
          script: x
          rules: [{if: $CI_COMMIT_TAG}]
        deploy:
          image: i
          stage: deploy
          script: x
          needs: [{job: deploy_prep, optional: %s}]
        """
    assert needs(translated(text % "true", tmp_path))["deploy"] == ()
    exc = error(text % "false", tmp_path)
    assert exc.spot == SourceSpot(FILE, 10, 11, "deploy.needs[0]")
    assert exc.message == (
        "job 'deploy' needs 'deploy_prep', which is not in this pipeline (its rules or"
        " only/except leave it out for this ref); add 'optional: true' to the need to run"
        " without it"
    )


def test_stage_ordering_skips_jobs_left_out(tmp_path: Path) -> None:
    pipeline = translated(
        """\
        a: {image: i, stage: build, script: x, only: [tags]}
        b: {image: i, stage: build, script: x}
        t: {image: i, script: x, dependencies: [a]}
        """,
        tmp_path,
    )
    assert needs(pipeline) == {"b": (), "t": (("b", False),)}


def test_need_on_a_parallel_job_means_all_instances(tmp_path: Path) -> None:
    pipeline = translated(
        """\
        build: {image: i, stage: build, script: x, parallel: 2}
        matrix:
          image: i
          stage: build
          script: x
          parallel: {matrix: [{OS: [linux, mac], ARCH: [amd64, arm64]}]}
        all: {image: i, script: x, needs: [build]}
        one:
          image: i
          script: x
          needs:
            - job: matrix
              parallel: {matrix: [{OS: mac, ARCH: arm64}, {ARCH: amd64, OS: linux}]}
        deps: {image: i, stage: deploy, script: x, dependencies: [build]}
        """,
        tmp_path,
    )
    got = needs(pipeline)
    assert got["all"] == (("build 1/2", True), ("build 2/2", True))
    assert got["one"] == (("matrix: [linux, amd64]", True), ("matrix: [mac, arm64]", True))
    assert got["deps"] == (
        ("build 1/2", True),
        ("build 2/2", True),
        ("matrix: [linux, amd64]", False),
        ("matrix: [linux, arm64]", False),
        ("matrix: [mac, amd64]", False),
        ("matrix: [mac, arm64]", False),
        ("all", False),
        ("one", False),
    )


def test_need_matrix_matching_nothing_is_an_error(tmp_path: Path) -> None:
    exc = error(
        """\
        m: {image: i, stage: build, script: x, parallel: {matrix: [{OS: [linux]}]}}
        t:
          image: i
          script: x
          needs: [{job: m, parallel: {matrix: [{OS: bsd}]}}]
        """,
        tmp_path,
    )
    assert exc.spot == SourceSpot(FILE, 5, 11, "t.needs[0]")
    assert exc.message == (
        "job 't' needs 'm' with a 'parallel:matrix' that matches none of its jobs; give every"
        " matrix variable with a value it has"
    )


def test_cross_pipeline_needs_are_refused(tmp_path: Path) -> None:
    exc = error(
        """\
        t:
          image: i
          script: x
          needs:
            - pipeline: $PARENT_PIPELINE_ID
              job: gen
        """,
        tmp_path,
    )
    assert exc.spot == SourceSpot(FILE, 5, 7, "t.needs[0]")
    assert exc.message == (
        "a 'needs' item of job 't' names another pipeline or project; cross-pipeline needs"
        " are not supported (a local run has only this pipeline)"
    )


def test_needs_cycle_is_an_error(tmp_path: Path) -> None:
    exc = error(
        """\
        a: {image: i, script: x, needs: [b]}
        b: {image: i, script: x, needs: [a]}
        """,
        tmp_path,
    )
    assert exc.spot == SourceSpot(FILE, 1, 34, "a.needs[0]")
    assert exc.message.startswith("jobs need each other in a cycle, so none of them could")
    assert "a -> b -> a" in exc.message


def test_need_listed_twice_is_an_error(tmp_path: Path) -> None:
    exc = error(
        """\
        a: {image: i, stage: build, script: x}
        b: {image: i, script: x, needs: [a, {job: a}]}
        """,
        tmp_path,
    )
    assert exc.spot == SourceSpot(FILE, 2, 37, "b.needs[1]")
    assert exc.message == "job 'b' needs 'a' twice (first at line 2)"


def test_needs_item_of_the_wrong_type(tmp_path: Path) -> None:
    exc = error("t: {image: i, script: x, needs: [[a]]}", tmp_path)
    assert exc.spot == SourceSpot(FILE, 1, 34, "t.needs[0]")
    assert exc.message == (
        "a 'needs' item of job 't' (a job name or a mapping with 'job') must be a mapping,"
        " got a list"
    )
