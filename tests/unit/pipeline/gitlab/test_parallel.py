"""Tests of parallel and parallel:matrix in the GitLab translation."""

from __future__ import annotations

from pathlib import Path

from runner.errors import SourceSpot
from runner.pipeline.model import DEFAULT_TIMEOUT_S, Job, Spot
from tests.unit.pipeline.gitlab.test_translate import (
    FILE,
    error,
    predefined_vars,
    translated,
    user_vars,
)


def test_parallel_number_makes_numbered_jobs(tmp_path: Path) -> None:
    pipeline = translated("rspec: {image: ruby, script: rspec, parallel: 3}", tmp_path)
    assert pipeline.jobs == tuple(
        Job(
            name=f"rspec {i}/3",
            image="ruby",
            script=("rspec",),
            variables=predefined_vars(tmp_path, f"rspec {i}/3", "test", i, node=(i, 3)),
            timeout_s=DEFAULT_TIMEOUT_S,
            spot=Spot(FILE, 1, 1),
            stage="test",
        )
        for i in (1, 2, 3)
    )
    assert dict(pipeline.jobs[1].variables)["CI_NODE_INDEX"] == "2"


def test_parallel_one_is_allowed(tmp_path: Path) -> None:
    pipeline = translated("t: {image: i, script: x, parallel: 1}", tmp_path)
    assert [(j.name, dict(j.variables)["CI_NODE_TOTAL"]) for j in pipeline.jobs] == [("t 1/1", "1")]


def test_matrix_is_a_product_per_entry_named_like_gitlab(tmp_path: Path) -> None:
    pipeline = translated(
        """\
        deploystacks:
          image: $REGISTRY/${PROVIDER}-cli
          script: deploy
          variables: {REGISTRY: reg.example}
          parallel:
            matrix:
              - PROVIDER: aws
                STACK: [monitoring, app1]
              - PROVIDER: [gcp, vultr]
                STACK: [data, processing]
        """,
        tmp_path,
    )
    assert [(j.name, j.image, user_vars(j)["STACK"]) for j in pipeline.jobs] == [
        ("deploystacks: [aws, monitoring]", "reg.example/aws-cli", "monitoring"),
        ("deploystacks: [aws, app1]", "reg.example/aws-cli", "app1"),
        ("deploystacks: [gcp, data]", "reg.example/gcp-cli", "data"),
        ("deploystacks: [gcp, processing]", "reg.example/gcp-cli", "processing"),
        ("deploystacks: [vultr, data]", "reg.example/vultr-cli", "data"),
        ("deploystacks: [vultr, processing]", "reg.example/vultr-cli", "processing"),
    ]
    nodes = [(dict(j.variables)["CI_NODE_INDEX"], dict(j.variables)["CI_NODE_TOTAL"])
             for j in pipeline.jobs]
    assert nodes == [(str(i), "6") for i in range(1, 7)]


def test_matrix_numbers_keep_their_spelling(tmp_path: Path) -> None:
    pipeline = translated(
        "t: {image: i, script: x, parallel: {matrix: [{PY: [3.10, '3.11'], N: 1}]}}", tmp_path
    )
    assert [j.name for j in pipeline.jobs] == ["t: [3.10, 1]", "t: [3.11, 1]"]
    assert user_vars(pipeline.jobs[0]) == {"PY": "3.10", "N": "1"}


def test_rules_are_judged_per_instance(tmp_path: Path) -> None:
    pipeline = translated(
        """\
        t:
          image: i
          script: x
          parallel: {matrix: [{OS: [linux, windows]}]}
          rules:
            - if: $OS == "linux"
        """,
        tmp_path,
    )
    assert [j.name for j in pipeline.jobs] == ["t: [linux]"]


def test_parallel_out_of_range(tmp_path: Path) -> None:
    exc = error("t: {image: i, script: x, parallel: 201}", tmp_path)
    assert exc.spot == SourceSpot(FILE, 1, 36, "t.parallel")
    assert exc.message == (
        "'parallel' of job 't' (or a mapping with 'matrix') must be from 1 to 200, got 201"
    )
    exc = error("t: {image: i, script: x, parallel: 0}", tmp_path)
    assert exc.message.endswith("must be from 1 to 200, got 0")


def test_matrix_over_two_hundred_jobs(tmp_path: Path) -> None:
    values = ", ".join(str(i) for i in range(15))
    exc = error(
        f"t: {{image: i, script: x, parallel: {{matrix: [{{A: [{values}], B: [{values}]}}]}}}}",
        tmp_path,
    )
    assert exc.spot == SourceSpot(FILE, 1, 45, "t.parallel.matrix")
    assert exc.message == (
        "'matrix' of 'parallel' of job 't' makes 225 jobs; GitLab allows at most 200"
    )


def test_matrix_making_the_same_job_twice(tmp_path: Path) -> None:
    exc = error("t: {image: i, script: x, parallel: {matrix: [{A: x}, {B: x}]}}", tmp_path)
    assert exc.message == "'matrix' of 'parallel' of job 't' makes the job 't: [x]' more than once"


def test_matrix_shapes_are_checked(tmp_path: Path) -> None:
    exc = error("t: {image: i, script: x, parallel: {matrix: []}}", tmp_path)
    assert exc.message == "'matrix' of 'parallel' of job 't' is empty; add at least one mapping"
    exc = error("t: {image: i, script: x, parallel: {matrix: [{A: []}]}}", tmp_path)
    assert exc.spot == SourceSpot(FILE, 1, 50, "t.parallel.matrix[0].A")
    exc = error("t: {image: i, script: x, parallel: {matrix: [{A: {b: c}}]}}", tmp_path)
    assert exc.message == "a matrix value must be a string, number or boolean, got a mapping"
    exc = error("t: {image: i, script: x, parallel: {matrx: []}}", tmp_path)
    assert exc.message == "unknown key 'matrx' in 'parallel' of job 't'; did you mean 'matrix'?"


def test_instance_named_like_another_job(tmp_path: Path) -> None:
    exc = error(
        """\
        t 1/2: {image: i, script: x}
        t: {image: i, script: x, parallel: 2}
        """,
        tmp_path,
    )
    assert exc.spot == SourceSpot(FILE, 2, 1, "t")
    assert exc.message == (
        "job 't' makes a job named 't 1/2' (parallel), like job 't 1/2'; rename one of them"
    )
