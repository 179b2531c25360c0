"""Tests of variables in the GitLab translation: forms, precedence, inherit, expansion, secrets."""

from __future__ import annotations

from pathlib import Path

from runner.errors import SourceSpot
from runner.pipeline.model import SecretSource
from tests.unit.pipeline.gitlab.test_translate import (
    FILE,
    error,
    predefined_vars,
    translated,
    user_vars,
)


def test_values_are_stringified_as_written(tmp_path: Path) -> None:
    pipeline = translated(
        """\
        variables:
          S: text
          N: 010
          F: 1.50
          B: yes
          E: ""
        j: {image: a, script: x}
        """,
        tmp_path,
    )
    assert user_vars(pipeline.jobs[0]) == {
        "S": "text",
        "N": "010",
        "F": "1.50",
        "B": "true",
        "E": "",
    }


def test_precedence_lowest_to_highest(tmp_path: Path) -> None:
    """predefined < global < workflow < job < rule < matrix < pipeline variables."""
    pipeline = translated(
        """\
        variables:
          CI_JOB_STAGE: from-global
          G: global
          W: global
          J: global
        workflow:
          rules:
            - variables: {W: workflow, J: workflow, R: workflow}
        j:
          image: a
          script: x
          variables: {J: job, R: job, M: job, P: job}
          rules:
            - variables: {R: rule, M: rule}
          parallel:
            matrix:
              - M: [matrix]
                P: [matrix]
        """,
        tmp_path,
        variables=(("P", "pipeline"),),
    )
    assert user_vars(pipeline.jobs[0]) == {
        "G": "global",
        "W": "workflow",
        "J": "job",
        "R": "rule",
        "M": "matrix",
        "P": "pipeline",
    }
    assert dict(pipeline.jobs[0].variables)["CI_JOB_STAGE"] == "from-global"


def test_expansion_nested_escaped_and_raw(tmp_path: Path) -> None:
    pipeline = translated(
        """\
        variables:
          BASE: /opt
          BIN: $BASE/bin
          PRICE: "$$5"
          RAW: {value: "$BASE/raw", expand: false}
          USES_RAW: "x-$RAW"
          BRANCH: ${CI_COMMIT_BRANCH}-build
          MISSING: "[$NOPE]"
        j:
          image: a
          script: x
          variables:
            PATH_LIKE: $BIN:/usr/bin
        """,
        tmp_path,
    )
    assert user_vars(pipeline.jobs[0]) == {
        "BASE": "/opt",
        "BIN": "/opt/bin",
        "PRICE": "$5",
        "RAW": "$BASE/raw",
        "USES_RAW": "x-$BASE/raw",
        "BRANCH": "main-build",
        "MISSING": "[]",
        "PATH_LIKE": "/opt/bin:/usr/bin",
    }


def test_predefined_values_are_never_expanded(tmp_path: Path) -> None:
    from tests.unit.pipeline.gitlab.test_translate import GIT  # noqa: PLC0415

    odd = type(GIT)(**{**GIT.__dict__, "message": "costs $$5 and $HOME", "title": "t"})
    pipeline = translated("j: {image: a, script: x}", tmp_path, git=odd)
    assert dict(pipeline.jobs[0].variables)["CI_COMMIT_MESSAGE"] == "costs $$5 and $HOME"


def test_inherit_variables_false_or_a_list(tmp_path: Path) -> None:
    pipeline = translated(
        """\
        variables: {A: a, B: b}
        workflow:
          rules:
            - variables: {W: w}
        none: {image: i, script: x, inherit: {variables: false}}
        some: {image: i, script: x, inherit: {variables: [B, W]}, variables: {C: c}}
        all: {image: i, script: x, inherit: {variables: true, default: false}}
        """,
        tmp_path,
    )
    assert [user_vars(j) for j in pipeline.jobs] == [
        {},
        {"B": "b", "W": "w", "C": "c"},
        {"A": "a", "B": "b", "W": "w"},
    ]


def test_secret_references_stay_as_written_and_secret_names_are_not_variables(
    tmp_path: Path,
) -> None:
    pipeline = translated(
        """\
        variables:
          TOKEN: from-yaml
          HEADER: "Bearer $TOKEN"
          CONF_PATH: $CONF
        j: {image: a, script: x}
        """,
        tmp_path,
        secrets=(SecretSource("TOKEN", env="TOKEN"),),
        secret_values={"TOKEN": "s3cr3t"},
        file_variables=(("CONF", "a=1"),),
    )
    job = pipeline.jobs[0]
    assert user_vars(job) == {"HEADER": "Bearer $TOKEN", "CONF_PATH": "$CONF"}
    assert job.secrets == ("TOKEN",)


def test_pipeline_variables_win_and_are_expanded(tmp_path: Path) -> None:
    pipeline = translated(
        """\
        variables: {MODE: dev, HOST: example.org}
        j: {image: a, script: x, variables: {MODE: job}}
        """,
        tmp_path,
        variables=(("MODE", "prod"), ("URL", "https://$HOST")),
    )
    assert user_vars(pipeline.jobs[0]) == {
        "MODE": "prod",
        "HOST": "example.org",
        "URL": "https://example.org",
    }


def test_map_form_description_and_options_at_top(tmp_path: Path) -> None:
    pipeline = translated(
        """\
        variables:
          ENV:
            value: staging
            description: where to deploy
            options: [staging, production]
        j: {image: a, script: x, variables: {X: {value: "1", expand: true}}}
        """,
        tmp_path,
    )
    assert user_vars(pipeline.jobs[0]) == {"ENV": "staging", "X": "1"}
    assert pipeline.jobs[0].variables[: len(predefined_vars(tmp_path, "j", "test", 1))] == (
        predefined_vars(tmp_path, "j", "test", 1)
    )


def test_value_outside_its_options_is_an_error(tmp_path: Path) -> None:
    exc = error(
        """\
        variables:
          ENV: {value: dev, options: [staging, production]}
        j: {image: a, script: x}
        """,
        tmp_path,
    )
    assert exc.spot == SourceSpot(FILE, 2, 8, "variables.ENV")
    assert exc.message == "the value of variable 'ENV' ('dev') must be one of its 'options'"


def test_description_in_a_job_variable_is_an_error(tmp_path: Path) -> None:
    exc = error("j: {image: a, script: x, variables: {X: {value: '1', description: d}}}", tmp_path)
    assert exc.spot == SourceSpot(FILE, 1, 54, "j.variables.X.description")
    assert exc.message == "'description' of variable 'X' is allowed only for top-level variables"


def test_null_and_list_values_are_errors(tmp_path: Path) -> None:
    exc = error("variables: {A: }\nj: {image: a, script: x}", tmp_path)
    assert exc.spot == SourceSpot(FILE, 1, 15, "variables.A")
    assert exc.message == (
        "variable 'A' must be a string, number or boolean, got nothing (null);"
        " write '' for an empty value"
    )
    exc = error("j: {image: a, script: x, variables: {L: [1]}}", tmp_path)
    assert exc.message == "variable 'L' must be a string, number or boolean, got a list"


def test_bad_variable_name_is_an_error(tmp_path: Path) -> None:
    exc = error("variables: {'my-var': 1}\nj: {image: a, script: x}", tmp_path)
    assert exc.spot == SourceSpot(FILE, 1, 13, "variables.my-var")


def test_circular_references_are_an_error_at_the_job(tmp_path: Path) -> None:
    exc = error(
        """\
        j:
          image: a
          script: x
          variables: {A: $B, B: $A}
        """,
        tmp_path,
    )
    assert exc.spot == SourceSpot(FILE, 1, 1, "j")
    assert exc.message == 'job \'j\': circular variable reference detected: ["A", "B"]'


def test_inherit_must_be_bool_or_list(tmp_path: Path) -> None:
    exc = error("j: {image: a, script: x, inherit: {variables: A}}", tmp_path)
    assert exc.spot == SourceSpot(FILE, 1, 47, "j.inherit.variables")
    assert exc.message == (
        "'variables' of 'inherit' of job 'j' must be true, false or a list of names, got a string"
    )
