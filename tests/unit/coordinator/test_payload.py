"""Reading GitLab's job payload: a full one (GitLab 17/18), nulls, odd steps, bad types."""

from __future__ import annotations

import copy
import json
from typing import Any

import pytest

from runner.coordinator.gitlab.payload import (
    ArtifactSpec,
    CacheSpec,
    Credential,
    Dependency,
    GitInfo,
    ImageSpec,
    JobPayload,
    PayloadError,
    ServiceSpec,
    Variable,
    parse_payload,
)
from runner.errors import Fault, RunnerError

JOB_TOKEN = "glcbt-64_pK8sZ2xQvR4mN7tY1wLc"
REGISTRY_PASSWORD = "glcbt-64_pK8sZ2xQvR4mN7tY1wLc"  # GitLab sends the job token here too
PROXY_PASSWORD = "dp-proxy-Secret-99"
API_TOKEN = "s3cr3t-api-token-42"
REPO_URL = f"https://gitlab-ci-token:{JOB_TOKEN}@gitlab.example.com/team/app.git"
KUBECONFIG = "apiVersion: v1\nkind: Config\n"

FULL: dict[str, Any] = {
    "id": 4711,
    "token": JOB_TOKEN,
    "allow_git_fetch": True,
    "job_info": {
        "id": 4711,
        "name": "test:unit",
        "stage": "test",
        "pipeline_id": 912,
        "project_id": 42,
        "project_name": "app",
        "project_full_path": "team/app",
        "namespace_id": 7,
        "root_namespace_id": 7,
        "organization_id": 1,
        "instance_id": "",
        "instance_uuid": "",
        "user_id": 3,
        "time_in_queue_seconds": 1.27,
        "project_jobs_running_on_instance_runners_count": "+Inf",
        "queue_size": 0,
        "queue_depth": 0,
    },
    "git_info": {
        "repo_url": REPO_URL,
        "ref": "main",
        "sha": "3f2a9c1e0b7d4a6f8e5c2b1a0d9e8f7c6b5a4d3e",
        "before_sha": "0000000000000000000000000000000000000000",
        "ref_type": "branch",
        "refspecs": [
            "+refs/pipelines/912:refs/pipelines/912",
            "+refs/heads/main:refs/remotes/origin/main",
        ],
        "depth": 20,
        "repo_object_format": "sha1",
    },
    "runner_info": {"timeout": 1800, "runner_session_url": None},
    "variables": [
        {"key": "CI_PIPELINE_ID", "value": "912", "public": True, "masked": False},
        {"key": "CI_PIPELINE_URL", "value": "https://gitlab.example.com/team/app/-/pipelines/912",
         "public": True, "masked": False},
        {"key": "CI_JOB_ID", "value": "4711", "public": True, "masked": False},
        {"key": "CI_JOB_URL", "value": "https://gitlab.example.com/team/app/-/jobs/4711",
         "public": True, "masked": False},
        {"key": "CI_JOB_TOKEN", "value": JOB_TOKEN, "public": False, "masked": True},
        {"key": "CI_JOB_STARTED_AT", "value": "2025-05-14T09:12:44Z", "public": True,
         "masked": False},
        {"key": "CI_REGISTRY_USER", "value": "gitlab-ci-token", "public": True, "masked": False},
        {"key": "CI_REGISTRY_PASSWORD", "value": REGISTRY_PASSWORD, "public": False,
         "masked": True},
        {"key": "CI_REPOSITORY_URL", "value": REPO_URL, "public": False, "masked": False},
        {"key": "CI_DEPENDENCY_PROXY_USER", "value": "gitlab-ci-token", "public": True,
         "masked": False},
        {"key": "CI_DEPENDENCY_PROXY_PASSWORD", "value": PROXY_PASSWORD, "public": False,
         "masked": True},
        {"key": "CI_JOB_NAME", "value": "test:unit", "public": True, "masked": False},
        {"key": "CI_JOB_STAGE", "value": "test", "public": True, "masked": False},
        {"key": "CI", "value": "true", "public": True, "masked": False},
        {"key": "GITLAB_CI", "value": "true", "public": True, "masked": False},
        {"key": "CI_SERVER_URL", "value": "https://gitlab.example.com", "public": True,
         "masked": False},
        {"key": "CI_SERVER_VERSION", "value": "17.11.1", "public": True, "masked": False},
        {"key": "CI_PROJECT_ID", "value": "42", "public": True, "masked": False},
        {"key": "CI_PROJECT_PATH", "value": "team/app", "public": True, "masked": False},
        {"key": "CI_PROJECT_DIR", "value": "/builds/team/app", "public": True, "masked": False},
        {"key": "CI_COMMIT_SHA", "value": "3f2a9c1e0b7d4a6f8e5c2b1a0d9e8f7c6b5a4d3e",
         "public": True, "masked": False},
        {"key": "CI_COMMIT_REF_NAME", "value": "main", "public": True, "masked": False},
        {"key": "CI_COMMIT_REF_SLUG", "value": "main", "public": True, "masked": False},
        {"key": "CI_DEFAULT_BRANCH", "value": "main", "public": True, "masked": False},
        {"key": "CI_COMMIT_MESSAGE", "value": "Pay $5 for $HOME", "public": True,
         "masked": False, "raw": True},
        {"key": "API_TOKEN", "value": API_TOKEN, "public": False, "masked": True},
        {"key": "KUBECONFIG_DATA", "value": KUBECONFIG, "public": False, "masked": False,
         "file": True},
        {"key": "GREETING", "value": "hello from $CI_JOB_NAME", "public": True,
         "masked": False},
        {"key": "CACHE_DIR", "value": "$CI_PROJECT_DIR/.cache", "public": True,
         "masked": False},
    ],
    "steps": [
        {"name": "script", "script": ["npm ci", "npm test -- --reporter junit"],
         "timeout": 1800, "when": "on_success", "allow_failure": False},
        {"name": "after_script", "script": ["echo done"], "timeout": 1800, "when": "always",
         "allow_failure": True},
    ],
    "hooks": [],
    "image": {"name": "node:20-alpine", "entrypoint": [""], "ports": [],
              "executor_opts": {}, "pull_policy": None},
    "services": [
        {"name": "postgres:16", "entrypoint": None, "ports": [], "executor_opts": {},
         "pull_policy": None, "alias": "db,postgres-primary", "command": None,
         "variables": [{"key": "POSTGRES_PASSWORD", "value": "pw-$CI_JOB_ID", "public": True}]},
        {"name": "registry.example.com:5000/team/redis:7", "entrypoint": ["redis-server"],
         "ports": [{"number": 6379, "protocol": "tcp", "name": "redis"}], "executor_opts": {},
         "pull_policy": ["if-not-present"], "alias": None, "command": ["--appendonly", "yes"],
         "variables": []},
    ],
    "artifacts": [
        {"name": "app-$CI_JOB_ID", "untracked": False, "paths": ["dist/", "coverage/"],
         "exclude": ["dist/**/*.map"], "when": "on_success", "expire_in": "1 week",
         "artifact_type": "archive", "artifact_format": "zip"},
        {"name": "junit.xml.gz", "untracked": False, "paths": ["reports/junit.xml"],
         "when": "always", "expire_in": "1 week", "artifact_type": "junit",
         "artifact_format": "gzip"},
    ],
    "cache": [
        {"key": "deps-main-protected", "untracked": False, "paths": ["node_modules/"],
         "policy": "pull-push", "when": "on_success",
         "fallback_keys": ["deps-$CI_DEFAULT_BRANCH", "deps-protected"]},
    ],
    "credentials": [
        {"type": "registry", "url": "registry.gitlab.example.com", "username": "gitlab-ci-token",
         "password": JOB_TOKEN},
    ],
    "dependencies": [
        {"id": 4710, "name": "build", "token": JOB_TOKEN,
         "artifacts_file": {"filename": "artifacts.zip", "size": 10485}},
        {"id": 4709, "name": "lint", "token": JOB_TOKEN},
    ],
    "features": {
        "trace_sections": True,
        "failure_reasons": [
            "unknown_failure", "script_failure", "api_failure", "stuck_or_timeout_failure",
            "runner_system_failure", "missing_dependency_failure", "runner_unsupported",
            "stale_schedule", "job_execution_timeout", "archived_failure",
            "unmet_prerequisites", "scheduler_failure", "data_integrity_failure",
        ],
    },
    "policy_options": None,
    "inputs": None,
}


def full_payload() -> dict[str, Any]:
    """A realistic 201 body, as ``json.loads`` gives it (a fresh copy for each test)."""
    doc: dict[str, Any] = json.loads(json.dumps(FULL))
    return doc


def minimal(**extra: Any) -> dict[str, Any]:
    return {"id": 1, "token": "glcbt-tok-1", **copy.deepcopy(extra)}


def test_full_payload() -> None:
    got = parse_payload(full_payload())
    assert got.id == 4711
    assert got.token == JOB_TOKEN
    assert (got.name, got.stage) == ("test:unit", "test")
    assert (got.project_id, got.project_path, got.pipeline_id) == (42, "team/app", 912)
    assert got.git == GitInfo(
        repo_url=REPO_URL,
        ref="main",
        sha="3f2a9c1e0b7d4a6f8e5c2b1a0d9e8f7c6b5a4d3e",
        before_sha="0000000000000000000000000000000000000000",
        ref_type="branch",
        refspecs=(
            "+refs/pipelines/912:refs/pipelines/912",
            "+refs/heads/main:refs/remotes/origin/main",
        ),
        depth=20,
    )
    assert got.timeout_s == 1800.0
    assert len(got.variables) == len(FULL["variables"])
    assert got.variables[4] == Variable("CI_JOB_TOKEN", JOB_TOKEN, masked=True)
    assert Variable("KUBECONFIG_DATA", KUBECONFIG, file=True) in got.variables
    assert Variable("CI_COMMIT_MESSAGE", "Pay $5 for $HOME", public=True, raw=True) in (
        got.variables
    )
    assert got.script == ("npm ci", "npm test -- --reporter junit")
    assert got.after_script == ("echo done",)
    assert got.image == ImageSpec("node:20-alpine", entrypoint=("",))
    assert got.services == (
        ServiceSpec(
            name="postgres:16",
            alias="db,postgres-primary",
            variables=(Variable("POSTGRES_PASSWORD", "pw-$CI_JOB_ID", public=True),),
        ),
        ServiceSpec(
            name="registry.example.com:5000/team/redis:7",
            entrypoint=("redis-server",),
            command=("--appendonly", "yes"),
            ports=(6379,),
        ),
    )
    assert got.artifacts == (
        ArtifactSpec(
            name="app-$CI_JOB_ID",
            paths=("dist/", "coverage/"),
            exclude=("dist/**/*.map",),
            when="on_success",
            expire_in="1 week",
            artifact_type="archive",
            artifact_format="zip",
        ),
        ArtifactSpec(
            name="junit.xml.gz",
            paths=("reports/junit.xml",),
            when="always",
            expire_in="1 week",
            artifact_type="junit",
            artifact_format="gzip",
        ),
    )
    assert got.cache == (
        CacheSpec(
            key="deps-main-protected",
            paths=("node_modules/",),
            policy="pull-push",
            when="on_success",
            fallback_keys=("deps-$CI_DEFAULT_BRANCH", "deps-protected"),
        ),
    )
    assert got.dependencies == (
        Dependency(4710, "build", JOB_TOKEN, "artifacts.zip", 10485),
        Dependency(4709, "lint", JOB_TOKEN, None, None),
    )
    assert got.credentials == (
        Credential("registry", "registry.gitlab.example.com", "gitlab-ci-token", JOB_TOKEN),
    )
    assert "script_failure" in got.failure_reasons
    assert got.token_mask_prefixes == ()
    assert got.unsupported == ()


def test_repr_never_shows_secrets() -> None:
    shown = repr(parse_payload(full_payload()))
    for secret in (JOB_TOKEN, API_TOKEN, PROXY_PASSWORD, "apiVersion"):
        assert secret not in shown
    assert "CI_JOB_TOKEN" in shown  # keys and flags stay visible


def test_nulls_everywhere_read_as_empty() -> None:
    doc = {
        "id": 7, "token": "tok-7", "allow_git_fetch": None, "job_info": None, "git_info": None,
        "runner_info": None, "variables": None, "steps": None, "hooks": None, "image": None,
        "services": None, "artifacts": None, "cache": None, "credentials": None,
        "dependencies": None, "features": None, "secrets": None, "inputs": None, "run": None,
    }
    assert parse_payload(doc) == JobPayload(id=7, token="tok-7")


def test_null_fields_inside_items() -> None:
    doc = minimal(
        job_info={"name": None, "stage": None, "project_id": None},
        git_info={"repo_url": None, "refspecs": None, "depth": None},
        variables=[{"key": "A", "value": None, "public": None, "masked": None}, None],
        steps=[{"name": "script", "script": None}],
        image={"name": None, "entrypoint": None},
        services=[{"name": "redis", "alias": None, "variables": None, "ports": None}],
        artifacts=[{"paths": None, "when": None, "artifact_type": None,
                    "artifact_format": None}],
        cache=[{"key": None, "policy": None, "when": None, "fallback_keys": None}],
        dependencies=[{"id": 3, "artifacts_file": None}],
        features={"failure_reasons": None, "token_mask_prefixes": None},
    )
    assert parse_payload(doc) == JobPayload(
        id=1,
        token="glcbt-tok-1",
        variables=(Variable("A"),),
        services=(ServiceSpec("redis"),),
        artifacts=(ArtifactSpec(),),
        cache=(CacheSpec(),),
        dependencies=(Dependency(3),),
    )


def test_defaults_written_out() -> None:
    got = parse_payload(minimal(artifacts=[{"paths": ["a"]}], cache=[{"paths": ["b"]}]))
    assert got.artifacts == (
        ArtifactSpec(paths=("a",), when="on_success", artifact_type="archive",
                     artifact_format="zip"),
    )
    assert got.cache == (CacheSpec(paths=("b",), policy="pull-push", when="on_success"),)


def test_missing_steps_give_no_script() -> None:
    got = parse_payload(minimal())
    assert (got.script, got.after_script, got.unsupported) == ((), (), ())


def test_release_step_is_unsupported() -> None:
    got = parse_payload(minimal(steps=[
        {"name": "script", "script": ["make"], "when": "on_success"},
        {"name": "release", "script": ["release-cli create --name v1"], "when": "on_success"},
    ]))
    assert got.script == ("make",)
    assert len(got.unsupported) == 1
    assert "'release' step" in got.unsupported[0]


def test_run_steps_are_unsupported() -> None:
    run = json.dumps([{"name": "hello", "script": "echo hi"}])
    got = parse_payload(minimal(run=run))
    assert got.script == ()
    assert got.unsupported == (
        "the job uses 'run:' (CI/CD steps), which this runner cannot run; use 'script:'"
        " instead",
    )


def test_unknown_step_hooks_secrets_inputs_are_unsupported() -> None:
    got = parse_payload(minimal(
        steps=[{"name": "mystery", "script": ["x"]}],
        hooks=[{"name": "pre_get_sources_script", "script": ["git config --global x y"]},
               {"name": "post_get_sources_script", "script": []}],
        secrets={"DATABASE_PASSWORD": {"vault": {"engine": {"name": "kv-v2"}}}},
        inputs=[{"key": "env", "value": {"type": "string", "value": "prod"}}],
    ))
    assert len(got.unsupported) == 4
    assert "'mystery'" in got.unsupported[0]
    assert "(pre_get_sources_script)" in got.unsupported[1]
    assert "(DATABASE_PASSWORD)" in got.unsupported[2]
    assert "inputs" in got.unsupported[3]


def test_image_without_name_is_no_image() -> None:
    assert parse_payload(minimal(image={})).image is None
    assert parse_payload(minimal(image={"name": ""})).image is None
    assert parse_payload(minimal(image={"name": "alpine", "entrypoint": []})).image == (
        ImageSpec("alpine", None)
    )


def test_dependency_with_empty_artifacts_file() -> None:
    got = parse_payload(minimal(dependencies=[
        {"id": 9, "name": "b", "token": "t", "artifacts_file": {"filename": None, "size": None}},
    ]))
    assert got.dependencies == (Dependency(9, "b", "t", None, None),)


def test_error_is_a_coordinator_fault() -> None:
    with pytest.raises(PayloadError) as caught:
        parse_payload([])
    assert isinstance(caught.value, RunnerError)
    assert caught.value.fault is Fault.COORDINATOR
    assert str(caught.value) == "job payload: must be a JSON object, got a list"


@pytest.mark.parametrize(
    ("doc", "message"),
    [
        ({"token": "t"}, "job payload: 'id' is missing"),
        ({"id": None, "token": "t"}, "job payload: 'id' is missing"),
        ({"id": 1}, "job payload: 'token' is missing"),
        ({"id": 1, "token": ""}, "job payload: 'token' is missing"),
        ({"id": "1", "token": "t"}, "job payload: 'id' must be an integer, got a string"),
        ({"id": True, "token": "t"}, "job payload: 'id' must be an integer, got a boolean"),
        ({"id": 1, "token": 5}, "job payload: 'token' must be a string, got a number"),
        (minimal(steps=[{"name": "script", "script": "make"}]),
         "job payload: 'steps[0].script' must be a list of strings, got a string"),
        (minimal(steps=[{"name": "script", "script": ["make", 3]}]),
         "job payload: 'steps[0].script' must be a list of strings, got a number at index 1"),
        (minimal(steps={"name": "script"}), "job payload: 'steps' must be a list, got an object"),
        (minimal(steps=["script"]), "job payload: 'steps[0]' must be an object, got a string"),
        (minimal(job_info=[]), "job payload: 'job_info' must be an object, got a list"),
        (minimal(job_info={"project_id": "42"}),
         "job payload: 'job_info.project_id' must be an integer, got a string"),
        (minimal(git_info={"depth": 1.5}),
         "job payload: 'git_info.depth' must be an integer, got a number"),
        (minimal(runner_info={"timeout": "1h"}),
         "job payload: 'runner_info.timeout' must be a number of seconds, got a string"),
        (minimal(variables=[{"key": "A", "value": 1}]),
         "job payload: 'variables[0].value' must be a string, got a number"),
        (minimal(variables=[{"value": "x"}]), "job payload: 'variables[0].key' is missing"),
        (minimal(variables=[{"key": "A", "masked": "true"}]),
         "job payload: 'variables[0].masked' must be true or false, got a string"),
        (minimal(services=[{"name": "redis", "variables": [{"key": "A", "raw": 1}]}]),
         "job payload: 'services[0].variables[0].raw' must be true or false, got a number"),
        (minimal(services=[{"alias": "x"}]), "job payload: 'services[0].name' is missing"),
        (minimal(services=[{"name": "r", "ports": [{"number": "80"}]}]),
         "job payload: 'services[0].ports[0].number' must be an integer, got a string"),
        (minimal(artifacts=[{"exclude": "*.map"}]),
         "job payload: 'artifacts[0].exclude' must be a list of strings, got a string"),
        (minimal(cache=[{"fallback_keys": [None]}]),
         "job payload: 'cache[0].fallback_keys' must be a list of strings, got null at index 0"),
        (minimal(dependencies=[{"name": "b"}]), "job payload: 'dependencies[0].id' is missing"),
        (minimal(dependencies=[{"id": 2, "artifacts_file": {"size": "9"}}]),
         "job payload: 'dependencies[0].artifacts_file.size' must be an integer, got a string"),
        (minimal(features={"failure_reasons": "script_failure"}),
         "job payload: 'features.failure_reasons' must be a list of strings, got a string"),
        (minimal(image="alpine"), "job payload: 'image' must be an object, got a string"),
    ],
)
def test_bad_shapes_name_the_key_path(doc: object, message: str) -> None:
    with pytest.raises(PayloadError) as caught:
        parse_payload(doc)
    assert str(caught.value) == message


def test_error_never_shows_the_value() -> None:
    with pytest.raises(PayloadError) as caught:
        parse_payload(minimal(variables=[{"key": "API_TOKEN", "value": ["s3cr3t-value"]}]))
    assert "s3cr3t" not in str(caught.value)
