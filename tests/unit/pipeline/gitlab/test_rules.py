"""Tests of rules, only/except and workflow:rules in the GitLab translation, and exists globs."""

from __future__ import annotations

from pathlib import Path

import pytest

from runner.errors import SourceSpot
from runner.pipeline.gitlab.globs import ProjectFiles, glob_regex
from runner.pipeline.model import When
from tests.unit.pipeline.gitlab.test_translate import (
    FEATURE,
    FILE,
    TAGGED,
    error,
    jobs_by_name,
    needs,
    translated,
    user_vars,
)

# ---------------------------------------------------------------- rules


def test_first_matching_rule_decides(tmp_path: Path) -> None:
    text = """\
        deploy:
          image: i
          script: x
          rules:
            - if: $CI_COMMIT_TAG
              when: manual
            - if: $CI_COMMIT_BRANCH == $CI_DEFAULT_BRANCH
              when: delayed
              start_in: 10 minutes
              allow_failure: true
              variables: {TARGET: staging}
            - if: $CI_COMMIT_BRANCH =~ /^feature\\//
        """
    on_main = translated(text, tmp_path).jobs[0]
    assert (on_main.when, on_main.allow_failure, user_vars(on_main)) == (
        When.DELAYED,
        True,
        {"TARGET": "staging"},
    )
    on_tag = translated(text, tmp_path, git=TAGGED).jobs[0]
    assert (on_tag.when, on_tag.allow_failure, user_vars(on_tag)) == (When.MANUAL, False, {})
    on_feature = translated(text, tmp_path, git=FEATURE).jobs[0]
    assert (on_feature.when, on_feature.allow_failure) == (When.ON_SUCCESS, False)


def test_no_matching_rule_or_when_never_leaves_the_job_out(tmp_path: Path) -> None:
    pipeline = translated(
        """\
        unmatched: {image: i, script: x, rules: [{if: $NOPE}]}
        never: {image: i, script: x, rules: [{if: $CI, when: never}, {when: always}]}
        kept: {image: i, script: x, rules: [{if: $NOPE, when: never}, {when: always}]}
        """,
        tmp_path,
    )
    assert [(j.name, j.when) for j in pipeline.jobs] == [("kept", When.ALWAYS)]


def test_rules_see_raw_values_and_options(tmp_path: Path) -> None:
    """GitLab compares unexpanded values: A: $UNDEFINED is the non-empty text '$UNDEFINED'."""
    pipeline = translated(
        """\
        variables: {A: $UNDEFINED}
        raw: {image: i, script: x, rules: [{if: $A == "$UNDEFINED"}]}
        expanded: {image: i, script: x, rules: [{if: $A == ""}]}
        secret: {image: i, script: x, rules: [{if: $TOKEN == "s3cr3t"}]}
        pipeline_var: {image: i, script: x, rules: [{if: $MODE == "prod"}]}
        job_var: {image: i, script: x, variables: {J: "1"}, rules: [{if: $J == "1"}]}
        """,
        tmp_path,
        secrets=(),
        secret_values={"TOKEN": "s3cr3t"},
        variables=(("MODE", "prod"),),
    )
    # secret_values count only for declared secrets
    assert [j.name for j in pipeline.jobs] == ["raw", "pipeline_var", "job_var"]


def test_secret_values_decide_rules_but_stay_out_of_the_model(tmp_path: Path) -> None:
    from runner.pipeline.model import SecretSource  # noqa: PLC0415

    pipeline = translated(
        "secret: {image: i, script: x, rules: [{if: $TOKEN == 's3cr3t'}]}",
        tmp_path,
        secrets=(SecretSource("TOKEN", env="TOKEN"),),
        secret_values={"TOKEN": "s3cr3t"},
    )
    assert [j.name for j in pipeline.jobs] == ["secret"]
    assert "s3cr3t" not in repr(pipeline)


def test_rule_variables_are_not_seen_by_their_own_if(tmp_path: Path) -> None:
    pipeline = translated(
        """\
        j:
          image: i
          script: x
          rules:
            - if: $X == "1"
              variables: {X: "1"}
            - variables: {X: "2"}
        """,
        tmp_path,
    )
    assert user_vars(pipeline.jobs[0]) == {"X": "2"}


def test_job_when_is_the_default_for_rules(tmp_path: Path) -> None:
    """allow_failure defaults to true only for a job-level manual (GitLab's Job#ignored?)."""
    pipeline = translated(
        """\
        job_manual: {image: i, script: x, when: manual, rules: [{if: $CI}]}
        rule_manual: {image: i, script: x, rules: [{if: $CI, when: manual}]}
        both_manual: {image: i, script: x, when: manual, rules: [{if: $CI, when: manual}]}
        overridden: {image: i, script: x, when: manual, rules: [{if: $CI, when: on_success}]}
        plain_manual: {image: i, script: x, when: manual}
        pinned: {image: i, script: x, when: manual, allow_failure: false}
        """,
        tmp_path,
    )
    got = {j.name: (j.when, j.allow_failure) for j in pipeline.jobs}
    assert got == {
        "job_manual": (When.MANUAL, True),
        "rule_manual": (When.MANUAL, False),
        "both_manual": (When.MANUAL, True),
        "overridden": (When.ON_SUCCESS, True),
        "plain_manual": (When.MANUAL, True),
        "pinned": (When.MANUAL, False),
    }
    assert ("CI_JOB_MANUAL", "true") in pipeline.jobs[0].variables


def test_rule_allow_failure_overrides_exit_codes(tmp_path: Path) -> None:
    pipeline = translated(
        """\
        j:
          image: i
          script: x
          allow_failure: {exit_codes: [3]}
          rules: [{if: $CI, allow_failure: false}]
        k: {image: i, script: x, allow_failure: {exit_codes: 3}, rules: [{if: $CI}]}
        """,
        tmp_path,
    )
    assert [(j.allow_failure, j.allow_failure_codes) for j in pipeline.jobs] == [
        (False, ()),
        (True, (3,)),
    ]


def test_rules_needs_replace_the_job_needs(tmp_path: Path) -> None:
    pipeline = translated(
        """\
        a: {image: i, stage: build, script: x}
        b: {image: i, stage: build, script: x}
        t:
          image: i
          script: x
          needs: [a]
          rules:
            - if: $CI_COMMIT_BRANCH == "main"
              needs: [b]
            - when: on_success
        """,
        tmp_path,
    )
    assert needs(pipeline)["t"] == (("b", True),)
    assert needs(translated_feature := translated(
        """\
        a: {image: i, stage: build, script: x}
        t: {image: i, script: x, needs: [a], rules: [{if: $NOPE, needs: []}, {when: always}]}
        """,
        tmp_path,
    ))["t"] == (("a", True),)
    assert translated_feature.jobs[1].when is When.ALWAYS


def test_exists_globs_against_project_files(tmp_path: Path) -> None:
    (tmp_path / "docs" / "api").mkdir(parents=True)
    (tmp_path / "docs" / "api" / "index.md").write_text("x")
    (tmp_path / ".config.toml").write_text("x")
    (tmp_path / "Dockerfile").write_text("x")
    pipeline = translated(
        """\
        variables: {DIR: docs}
        deep: {image: i, script: x, rules: [{exists: ["$DIR/**/*.md"]}]}
        shallow: {image: i, script: x, rules: [{exists: ["docs/*.md"]}]}
        dotfile: {image: i, script: x, rules: [{exists: ["*.toml"]}]}
        braces: {image: i, script: x, rules: [{exists: ["{Containerfile,Dockerfile}"]}]}
        map: {image: i, script: x, rules: [{exists: {paths: [Dockerfile], project: g/p}}]}
        missing: {image: i, script: x, rules: [{exists: [Makefile]}]}
        both: {image: i, script: x, rules: [{if: $NOPE, exists: [Dockerfile]}]}
        """,
        tmp_path,
    )
    assert [j.name for j in pipeline.jobs] == ["deep", "dotfile", "braces", "map"]


def test_changes_without_a_repository_count_as_true_with_one_note(tmp_path: Path) -> None:
    """No commit before this one to compare with (GitLab's first push): every clause holds."""
    pipeline = translated(
        """\
        a: {image: i, script: x, rules: [{changes: [src/**/*]}]}
        b: {image: i, script: x, rules: [{changes: {paths: [x]}, when: manual}]}
        c: {image: i, script: x, only: {changes: [y]}}
        """,
        tmp_path,
    )
    assert [j.name for j in pipeline.jobs] == ["a", "b", "c"]
    assert pipeline.notes == (
        "'changes' conditions (rules:changes, only/except:changes): the first commit has"
        " nothing before it, so every 'changes' holds",
    )


def test_invalid_if_is_an_error_where_written(tmp_path: Path) -> None:
    exc = error(
        """\
        j:
          image: i
          script: x
          rules:
            - if: $A = "x"
        """,
        tmp_path,
    )
    assert exc.spot == SourceSpot(FILE, 5, 11, "j.rules[0].if")
    assert exc.message.startswith("'if' of a rule of 'rules' of job 'j' is not a valid expression:")


def test_rule_keys_and_whens_are_checked(tmp_path: Path) -> None:
    exc = error("j: {image: i, script: x, rules: [{iff: $CI}]}", tmp_path)
    assert exc.spot == SourceSpot(FILE, 1, 35, "j.rules[0].iff")
    assert exc.message == "unknown key 'iff' in a rule of 'rules' of job 'j'; did you mean 'if'?"
    exc = error("j: {image: i, script: x, rules: [{when: manaul}]}", tmp_path)
    assert exc.message == (
        "'when' of a rule of 'rules' of job 'j' cannot be 'manaul'; did you mean 'manual'?"
    )
    exc = error("j: {image: i, script: x, rules: [{when: delayed}]}", tmp_path)
    assert exc.message == (
        "a rule of 'rules' of job 'j' says 'when: delayed' but has no 'start_in'"
    )


def test_rules_with_only_is_an_error(tmp_path: Path) -> None:
    exc = error("j: {image: i, script: x, rules: [{when: always}], except: [tags]}", tmp_path)
    assert exc.spot == SourceSpot(FILE, 1, 51, "j.except")
    assert exc.message == (
        "job 'j' has both 'rules' and 'except'; GitLab does not allow combining them, so"
        " express the condition in 'rules'"
    )


# ---------------------------------------------------------------- only / except


ONLY = """\
plain: {image: i, script: x}
branches: {image: i, script: x, only: [branches]}
tags: {image: i, script: x, only: [tags]}
named: {image: i, script: x, only: [main, "main@group/project"]}
regex: {image: i, script: x, only: ["/^feature\\\\/.*$/"]}
mr: {image: i, script: x, only: [merge_requests, schedules]}
pushes: {image: i, script: x, only: [pushes]}
not_tags: {image: i, script: x, except: [tags]}
"""


@pytest.mark.parametrize(
    ("git", "expected"),
    [
        ("main", ["plain", "branches", "named", "pushes", "not_tags"]),
        ("feature", ["plain", "branches", "regex", "pushes", "not_tags"]),
        ("tag", ["plain", "tags", "pushes"]),
    ],
)
def test_only_and_except_refs(tmp_path: Path, git: str, expected: list[str]) -> None:
    info = {"main": None, "feature": FEATURE, "tag": TAGGED}[git]
    pipeline = translated(ONLY, tmp_path, **({"git": info} if info else {}))
    assert [j.name for j in pipeline.jobs] == expected


def test_only_keys_all_match_except_keys_any(tmp_path: Path) -> None:
    pipeline = translated(
        """\
        variables: {DEPLOY: "yes"}
        both: {image: i, script: x, only: {refs: [main], variables: [$DEPLOY == "yes"]}}
        one_fails: {image: i, script: x, only: {refs: [tags], variables: [$DEPLOY]}}
        any_var: {image: i, script: x, only: {variables: [$NOPE, $DEPLOY]}}
        except_one_key: {image: i, script: x, except: {refs: [tags], variables: [$DEPLOY]}}
        except_none: {image: i, script: x, except: {refs: [tags], variables: [$NOPE]}}
        """,
        tmp_path,
    )
    assert [j.name for j in pipeline.jobs] == ["both", "any_var", "except_none"]


def test_only_kubernetes_is_refused(tmp_path: Path) -> None:
    exc = error("j: {image: i, script: x, only: {kubernetes: active}}", tmp_path)
    assert exc.spot == SourceSpot(FILE, 1, 45, "j.only.kubernetes")
    assert exc.message == (
        "'kubernetes' of 'only' of job 'j' is not supported: a local run has no Kubernetes"
        " integration; use 'rules' with a variable instead"
    )


def test_only_invalid_regex_is_an_error(tmp_path: Path) -> None:
    exc = error("j: {image: i, script: x, only: ['/fo(o/']}", tmp_path)
    assert exc.spot == SourceSpot(FILE, 1, 33, "j.only[0]")
    assert exc.message.startswith("'only' of job 'j' has an invalid regex '/fo(o/': ")


# ---------------------------------------------------------------- workflow


def test_workflow_without_a_match_creates_no_pipeline(tmp_path: Path) -> None:
    pipeline = translated(
        """\
        workflow:
          rules:
            - if: $CI_COMMIT_TAG
        j: {image: i, script: x}
        """,
        tmp_path,
    )
    assert pipeline.jobs == ()
    assert pipeline.notes == (
        "no workflow:rules rule matches ref 'main', so GitLab would not create this pipeline;"
        " nothing to run",
    )


def test_jobs_are_checked_even_without_a_pipeline(tmp_path: Path) -> None:
    exc = error("workflow: {rules: [{when: never}]}\nj: {image: i, script: x, stge: a}", tmp_path)
    assert exc.spot == SourceSpot(FILE, 2, 26, "j.stge")


def test_workflow_when_never_creates_no_pipeline(tmp_path: Path) -> None:
    pipeline = translated(
        """\
        workflow:
          rules:
            - if: $CI_COMMIT_BRANCH == "main"
              when: never
            - when: always
        j: {image: i, script: x}
        """,
        tmp_path,
    )
    assert pipeline.jobs == ()
    assert pipeline.notes == (
        f"the workflow rule at {FILE}:3 says 'when: never' for ref 'main', so GitLab would not"
        " create this pipeline; nothing to run",
    )


def test_workflow_variables_and_name(tmp_path: Path) -> None:
    pipeline = translated(
        """\
        variables: {ENV: dev, KEEP: k}
        workflow:
          name: "Deploy $ENV on $CI_COMMIT_REF_NAME"
          rules:
            - if: $CI_COMMIT_BRANCH == "main"
              variables: {ENV: prod}
        j: {image: i, script: x, rules: [{if: $ENV == "prod"}]}
        own: {image: i, script: x, variables: {ENV: mine}}
        """,
        tmp_path,
    )
    by_name = jobs_by_name(pipeline)
    assert user_vars(by_name["j"]) == {"ENV": "prod", "KEEP": "k"}
    assert user_vars(by_name["own"]) == {"ENV": "mine", "KEEP": "k"}
    assert dict(by_name["j"].variables)["CI_PIPELINE_NAME"] == "Deploy dev on main"


def test_workflow_rules_take_only_always_or_never(tmp_path: Path) -> None:
    exc = error("workflow: {rules: [{when: manual}]}\nj: {image: i, script: x}", tmp_path)
    assert exc.spot == SourceSpot(FILE, 1, 27, "workflow.rules[0].when")
    assert exc.message == (
        "'when' of a rule of 'rules' of 'workflow' cannot be 'manual'; use one of 'always',"
        " 'never'"
    )


# ---------------------------------------------------------------- globs


@pytest.mark.parametrize(
    ("pattern", "path", "matches"),
    [
        ("*.md", "README.md", True),
        ("*.md", "docs/a.md", False),
        ("**/*.md", "README.md", True),
        ("**/*.md", "docs/deep/a.md", True),
        ("docs/**", "docs/a/b", False),
        ("docs/**/*", "docs/a/b", True),
        ("*", ".hidden", True),
        ("?.txt", "a.txt", True),
        ("?.txt", "/.txt", False),
        ("[ab].txt", "b.txt", True),
        ("[!ab].txt", "c.txt", True),
        ("[!ab].txt", "a.txt", False),
        ("{src,lib}/*.py", "lib/x.py", True),
        ("{src,lib}/*.py", "bin/x.py", False),
        ("a\\*b", "a*b", True),
        ("a\\*b", "axb", False),
        ("file[", "file[", True),
    ],
)
def test_glob_like_ruby_fnmatch(pattern: str, path: str, matches: bool) -> None:
    assert (glob_regex(pattern).match(path) is not None) is matches


def test_project_files_outside_git_skip_dot_git(tmp_path: Path) -> None:
    (tmp_path / ".git").mkdir()
    (tmp_path / ".git" / "HEAD").write_text("x")
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "f").write_text("x")
    files = ProjectFiles(tmp_path)
    assert files.files() == ("sub/f",)
    assert files.any_match("./sub/*")
    assert not files.any_match(".git/*")
