"""A GitLab job payload as a one-job pipeline: variables, image, services, cache, artifacts."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from runner.coordinator.gitlab.payload import ArtifactSpec, JobPayload, Variable, parse_payload
from runner.coordinator.gitlab.tomodel import artifact_elements, masked_values, to_pipeline
from runner.pipeline.gitlab.cache import dir_key
from runner.pipeline.model import (
    Artifacts,
    Cache,
    CachePolicy,
    Job,
    Pipeline,
    Registry,
    SecretSource,
    Service,
    When,
    container_project_dir,
)
from tests.unit.coordinator.test_payload import (
    API_TOKEN,
    FULL,
    JOB_TOKEN,
    KUBECONFIG,
    PROXY_PASSWORD,
    REGISTRY_PASSWORD,
    full_payload,
    minimal,
)

RUNNER_VARS = (
    ("CI_BUILDS_DIR", "/builds"),
    ("CI_PROJECT_DIR", "/builds/team/app"),
    ("CI_SERVER", "yes"),
    ("CI_RUNNER_VERSION", "0.1.0"),
    ("CI_CONCURRENT_ID", "0"),
    ("CI_JOB_TIMEOUT", "1800"),
)


def pipeline_of(doc: dict[str, Any], root: Path, **kwargs: Any) -> Pipeline:
    return to_pipeline(parse_payload(doc), root, **kwargs)


def job_of(doc: dict[str, Any], root: Path, **kwargs: Any) -> Job:
    (job,) = pipeline_of(doc, root, **kwargs).jobs
    return job


def var(key: str, value: str = "", **flags: bool) -> dict[str, Any]:
    return {"key": key, "value": value, "public": True, **flags}


def test_full_payload(tmp_path: Path) -> None:
    got = pipeline_of(full_payload(), tmp_path, runner_vars=RUNNER_VARS)
    dropped = {"CI_PROJECT_DIR", "KUBECONFIG_DATA"}
    expanded = {"GREETING": "hello from test:unit", "CACHE_DIR": "/builds/team/app/.cache"}
    plain = [
        (v["key"], expanded.get(v["key"], v["value"]))
        for v in FULL["variables"]
        if not v["masked"] and v["key"] not in dropped
    ]
    secrets = (
        SecretSource("CI_JOB_TOKEN", value=JOB_TOKEN),
        SecretSource("CI_REGISTRY_PASSWORD", value=REGISTRY_PASSWORD),
        SecretSource("CI_DEPENDENCY_PROXY_PASSWORD", value=PROXY_PASSWORD),
        SecretSource("API_TOKEN", value=API_TOKEN),
    )
    assert got == Pipeline(
        source=Path("gitlab-job-4711"),
        root=tmp_path,
        jobs=(
            Job(
                name="test:unit",
                image="node:20-alpine",
                script=("npm ci", "npm test -- --reporter junit"),
                after_script=("echo done",),
                variables=(*RUNNER_VARS, *plain),
                artifacts=Artifacts(
                    paths=("dist/", "coverage/", "reports/junit.xml"), when=When.ALWAYS
                ),
                cache=(
                    Cache(
                        key="deps-main-protected",
                        paths=("node_modules/",),
                        policy=CachePolicy.PULL_PUSH,
                        when=When.ON_SUCCESS,
                        fallback_keys=("deps-main", "deps-protected"),
                    ),
                ),
                timeout_s=1800.0,
                secrets=tuple(s.name for s in secrets),
                stage="test",
                file_variables=(("KUBECONFIG_DATA", KUBECONFIG),),
                services=(
                    Service(
                        image="postgres:16",
                        aliases=("postgres", "db", "postgres-primary"),
                        variables=(("POSTGRES_PASSWORD", "pw-4711"),),
                        ready_on_any=True,
                    ),
                    Service(
                        image="registry.example.com:5000/team/redis:7",
                        aliases=("registry.example.com__team__redis",
                                 "registry.example.com-team-redis"),
                        entrypoint=("redis-server",),
                        command=("--appendonly", "yes"),
                        ports=(6379,),
                        ready_on_any=True,
                    ),
                ),
            ),
        ),
        secrets=(*secrets, SecretSource("registry password 0", value=JOB_TOKEN)),
        dialect="gitlab-agent",
        notes=(),
        stages=("test",),
        registries=(Registry("registry.gitlab.example.com", username="gitlab-ci-token",
                             password_secret="registry password 0"),),
    )
    job = got.jobs[0]
    assert ("CI_COMMIT_MESSAGE", "Pay $5 for $HOME") in job.variables  # raw: untouched
    assert dict(job.variables)["CI_PROJECT_DIR"] == "/builds/team/app"  # the runner's


def test_registry_credentials_pull_images_and_reach_no_job(tmp_path: Path) -> None:
    """Each registry's credentials become a secret no job lists, used only for its pulls;
    the first per host wins, and other types, userless or unmaskable ones are dropped."""
    got = pipeline_of(minimal(credentials=[
        {"type": "registry", "url": "https://reg.example:5005/v2/", "username": "gitlab-ci-token",
         "password": "first-password"},
        {"type": "registry", "url": "reg.example:5005", "username": "other",
         "password": "second-password"},
        {"type": "registry", "url": "short.example", "username": "u", "password": "pw"},
        {"type": "registry", "url": "anon.example", "username": "", "password": "long-enough"},
        {"type": "other", "url": "other.example", "username": "u", "password": "long-enough"},
    ]), tmp_path)
    assert got.registries == (Registry("reg.example:5005", username="gitlab-ci-token",
                                       password_secret="registry password 0"),)
    assert got.secrets == (SecretSource("registry password 0", value="first-password"),)
    assert got.jobs[0].secrets == ()
    assert got.notes[-1:] == ("the credentials for registry short.example have a password too "
                              "short to mask in the log; they are not used",)


def test_masked_values() -> None:
    assert masked_values(parse_payload(full_payload())) == [JOB_TOKEN, PROXY_PASSWORD, API_TOKEN]


def test_masked_values_cover_tokens_passwords_and_expansions() -> None:
    payload = parse_payload(minimal(
        token="job-token-1",
        variables=[var("USER_PART", "abc"), var("PW", "pw-$USER_PART-long", masked=True),
                   var("RAWPW", "raw-$USER_PART", masked=True, raw=True), var("EMPTY", "",
                   masked=True)],
        dependencies=[{"id": 2, "token": "dep-token-2"}],
        credentials=[{"type": "registry", "url": "r", "username": "u", "password": "reg-pw-1"}],
    ))
    assert masked_values(payload) == [
        "pw-$USER_PART-long", "pw-abc-long", "raw-$USER_PART", "job-token-1", "dep-token-2",
        "reg-pw-1",
    ]


def test_artifact_elements_are_expanded_and_relative(tmp_path: Path) -> None:
    doc = full_payload()
    doc["artifacts"][0]["paths"].append("$CI_PROJECT_DIR/build/out.txt")
    got = artifact_elements(parse_payload(doc), tmp_path, runner_vars=RUNNER_VARS)
    assert got == (
        ArtifactSpec(
            name="app-4711",
            paths=("dist/", "coverage/", "build/out.txt"),
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


# --- variables -------------------------------------------------------------------------------


def test_minimal_payload(tmp_path: Path) -> None:
    got = to_pipeline(JobPayload(id=5, token="t"), tmp_path)
    assert got == Pipeline(
        source=Path("gitlab-job-5"),
        root=tmp_path,
        jobs=(Job(name="job-5", image="busybox:latest", script=(), timeout_s=3600.0),),
        dialect="gitlab-agent",
        notes=("the job names no image; it runs in busybox:latest",),
    )


def test_expansion_follows_go_os_expand(tmp_path: Path) -> None:
    job = job_of(minimal(variables=[
        var("NAME", "world"),
        var("BRACED", "${NAME}!"),
        var("BARE", "$NAME-$NAME"),
        var("DOLLARS", "cost: $$5 and $$NAME"),
        var("UNDEFINED", "[$NOPE][${NOPE}]"),
        var("SPECIAL", "[$1][$?][$]"),
        var("RAW", "$NAME and $$", raw=True),
        var("FROM_RUNNER", "on $CI_SERVER"),
    ]), tmp_path, runner_vars=[("CI_SERVER", "yes")])
    assert job.variables == (
        ("CI_SERVER", "yes"),
        ("NAME", "world"),
        ("BRACED", "world!"),
        ("BARE", "world-world"),
        ("DOLLARS", "cost: $5 and $NAME"),
        ("UNDEFINED", "[][]"),
        ("SPECIAL", "[][][$]"),
        ("RAW", "$NAME and $$"),
        ("FROM_RUNNER", "on yes"),
    )


def test_expansion_is_one_pass_over_unexpanded_values(tmp_path: Path) -> None:
    """gitlab-runner expands each value once against the others as sent (Rails expanded
    them already), so a chain GitLab left is not followed further; order does not matter."""
    job = job_of(minimal(variables=[
        var("A", "a=$B"), var("B", "b=$C"), var("C", "c"),
    ]), tmp_path)
    assert job.variables == (("A", "a=b=$C"), ("B", "b=c"), ("C", "c"))


def test_last_definition_wins_in_first_place(tmp_path: Path) -> None:
    job = job_of(minimal(variables=[
        var("A", "1"), var("B", "x"), var("USE", "$A"), var("A", "2"),
    ]), tmp_path)
    assert job.variables == (("A", "2"), ("B", "x"), ("USE", "2"))


def test_job_variables_override_runner_ones(tmp_path: Path) -> None:
    job = job_of(minimal(variables=[var("CI_SERVER", "no"), var("GIT_DEPTH", "5")]), tmp_path,
                 runner_vars=[("CI_SERVER", "yes"), ("CI_RUNNER_VERSION", "0.1.0")])
    assert job.variables == (
        ("CI_SERVER", "no"), ("CI_RUNNER_VERSION", "0.1.0"), ("GIT_DEPTH", "5"),
    )


def test_a_later_masked_definition_makes_a_secret_only(tmp_path: Path) -> None:
    got = pipeline_of(minimal(variables=[
        var("TOKEN", "plain-value"), var("TOKEN", "masked-value", masked=True),
    ]), tmp_path)
    assert got.jobs[0].variables == ()
    assert got.jobs[0].secrets == ("TOKEN",)
    assert got.secrets == (SecretSource("TOKEN", value="masked-value"),)


def test_runner_owned_dirs_from_the_payload_are_dropped(tmp_path: Path) -> None:
    root = tmp_path / "app"
    root.mkdir()
    job = job_of(minimal(variables=[
        var("CI_PROJECT_DIR", "/builds/team/app"),
        var("CI_BUILDS_DIR", "/builds"),
        var("OUT", "$CI_PROJECT_DIR/out"),
        var("BUILDS", "$CI_BUILDS_DIR"),
    ]), root)
    assert job.variables == (("OUT", f"{container_project_dir(root)}/out"), ("BUILDS", ""))


def test_runner_project_dir_is_used(tmp_path: Path) -> None:
    job = job_of(minimal(variables=[
        var("CI_PROJECT_DIR", "/elsewhere"), var("OUT", "$CI_PROJECT_DIR/out"),
    ]), tmp_path, runner_vars=[("CI_PROJECT_DIR", "/builds/g/p"), ("CI_BUILDS_DIR", "/builds")])
    assert job.variables == (
        ("CI_PROJECT_DIR", "/builds/g/p"), ("CI_BUILDS_DIR", "/builds"), ("OUT", "/builds/g/p/out"),
    )


def test_file_masked_and_plain_variables_are_split(tmp_path: Path) -> None:
    got = pipeline_of(minimal(variables=[
        var("PLAIN", "p"),
        var("CONFIG", "key: $PLAIN", file=True),
        var("SECRET_FILE", "-----BEGIN KEY-----", file=True, masked=True),
        var("SECRET", "s3cr3t-$PLAIN", masked=True),
        var("RAW_SECRET", "s3cr3t-$PLAIN", masked=True, raw=True),
    ]), tmp_path)
    (job,) = got.jobs
    assert job.variables == (("PLAIN", "p"),)
    assert job.file_variables == (("CONFIG", "key: p"),)
    assert job.secrets == ("SECRET_FILE", "SECRET", "RAW_SECRET")
    assert got.secrets == (
        SecretSource("SECRET_FILE", value="-----BEGIN KEY-----", as_file=True),
        SecretSource("SECRET", value="s3cr3t-p"),
        SecretSource("RAW_SECRET", value="s3cr3t-$PLAIN"),
    )
    assert "s3cr3t" not in repr(got)


def test_references_to_file_variables(tmp_path: Path) -> None:
    doc = minimal(variables=[
        var("KUBE", "apiVersion: v1", file=True),
        var("KUBECONFIG", "$KUBE"),
        var("KEY", "k3y-material", file=True, masked=True),
        var("KEY_PATH", "${KEY}"),
    ])
    by_path = job_of(doc, tmp_path, file_path=lambda v: f"/.runner/{v.key.lower()}")
    assert by_path.variables == (("KUBECONFIG", "/.runner/kube"), ("KEY_PATH", "/.runner/key"))
    kept = job_of(doc, tmp_path)
    assert kept.variables == (("KUBECONFIG", "${KUBE}"), ("KEY_PATH", "${KEY}"))


def test_short_masked_values_stay_secrets_with_a_note(tmp_path: Path) -> None:
    got = pipeline_of(minimal(variables=[var("PIN", "123", masked=True)]), tmp_path,
                      default_image="alpine:3")
    assert got.secrets == (SecretSource("PIN", value="123"),)
    assert got.jobs[0].secrets == ("PIN",)
    assert got.notes == (
        "masked variable PIN is shorter than 4 characters and cannot be masked in the job log",
        "the job names no image; it runs in alpine:3",
    )


def test_names_that_are_no_shell_variable_are_left_out(tmp_path: Path) -> None:
    got = pipeline_of(minimal(variables=[var("my-var", "x"), var("OK", "y")],
                              image={"name": "alpine"}), tmp_path)
    assert got.jobs[0].variables == (("OK", "y"),)
    assert got.notes == (
        "variable 'my-var' is not passed to the job: it is not a valid shell variable name",
    )


# --- job fields ------------------------------------------------------------------------------


def test_image_is_expanded_and_entrypoint_noted(tmp_path: Path) -> None:
    got = pipeline_of(minimal(
        variables=[var("TAG", "3.20")],
        image={"name": "alpine:$TAG", "entrypoint": ["/bin/tool"]},
    ), tmp_path)
    assert got.jobs[0].image == "alpine:3.20"
    assert got.notes == ("the image's entrypoint is ignored: runner starts the job's shell itself",)


@pytest.mark.parametrize(("timeout", "expected"), [(None, 3600.0), (0, 3600.0), (-5, 3600.0),
                                                   (600, 600.0), (90.5, 90.5)])
def test_timeout(tmp_path: Path, timeout: float | None, expected: float) -> None:
    job = job_of(minimal(runner_info={"timeout": timeout}), tmp_path)
    assert job.timeout_s == expected


def test_name_stage_and_steps(tmp_path: Path) -> None:
    got = pipeline_of(minimal(
        job_info={"name": "build linux: [amd64]", "stage": "build"},
        steps=[{"name": "script", "script": ["echo a", "echo b"]},
               {"name": "after_script", "script": ["echo c"], "when": "always"}],
        image={"name": "alpine"},
    ), tmp_path)
    (job,) = got.jobs
    assert (job.name, job.stage, job.script, job.after_script) == (
        "build linux: [amd64]", "build", ("echo a", "echo b"), ("echo c",),
    )
    assert got.stages == ("build",)


# --- services --------------------------------------------------------------------------------


def test_services_aliases_and_variables(tmp_path: Path) -> None:
    got = pipeline_of(minimal(
        variables=[var("PG", "postgres:16"), var("NAMES", "db, primary"),
                   var("JOB_PUBLIC", "pub"),
                   {"key": "PROJECT_VAR", "value": "hidden", "public": False},
                   {"key": "CI_JOB_TOKEN", "value": "tok-12345", "public": False, "masked": True}],
        image={"name": "alpine"},
        services=[
            {"name": "$PG", "alias": "$NAMES", "variables": [
                var("A", "$JOB_PUBLIC/$PROJECT_VAR/$CI_JOB_TOKEN/$B"), var("B", "b"),
                var("R", "$B", raw=True), var("A", "again-$B"),
            ]},
            {"name": "postgres:16"},
            {"name": "postgres:15", "alias": "replica"},
            {"name": "redis", "alias": "under_score, -x-, cache"},
            {"name": "  "},
        ],
    ), tmp_path)
    assert got.jobs[0].services == (
        Service("postgres:16", aliases=("postgres", "db", "primary"),
                variables=(("A", "again-b"), ("B", "b"), ("R", "$B")), ready_on_any=True),
        Service("postgres:15", aliases=("replica",), ready_on_any=True),
        Service("redis", aliases=("redis", "under_score", "cache"), ready_on_any=True),
    )
    assert got.notes == (
        "service 2 (postgres:16) is not started: its host names are all taken by earlier"
        " services",
        "alias '-x-' of service 4 (redis) is not a host name; skipped",
        "service 5 ('  ') has an empty image name and is not started",
    )


def test_service_variables_see_public_variables_only(tmp_path: Path) -> None:
    got = pipeline_of(minimal(
        variables=[var("JOB_PUBLIC", "pub"),
                   {"key": "PROJECT_VAR", "value": "hidden", "public": False},
                   {"key": "CI_JOB_TOKEN", "value": "tok-12345", "public": False, "masked": True}],
        image={"name": "alpine"},
        services=[{"name": "redis", "variables": [
            var("SEEN", "$JOB_PUBLIC/$PROJECT_VAR/$CI_JOB_TOKEN/$CI_SERVER")]}],
    ), tmp_path, runner_vars=[("CI_SERVER", "yes")])
    assert got.jobs[0].services[0].variables == (("SEEN", "pub///yes"),)


def test_service_health_check_port_as_gitlab_runner(tmp_path: Path) -> None:
    """HEALTHCHECK_TCP_PORT in a service's environment (its own or the job's public
    variables, any case) is the one port readiness waits for, over the payload's ports."""
    got = pipeline_of(minimal(
        variables=[var("healthcheck_tcp_port", "5432")],
        image={"name": "alpine"},
        services=[{"name": "postgres"},
                  {"name": "redis", "ports": [{"number": 6379}],
                   "variables": [var("HEALTHCHECK_TCP_PORT", "6380")]},
                  {"name": "web", "variables": [var("HEALTHCHECK_TCP_PORT", "http")]}],
    ), tmp_path)
    assert [s.ports for s in got.jobs[0].services] == [(5432,), (5432,), (5432,)]
    got = pipeline_of(minimal(
        image={"name": "alpine"},
        services=[{"name": "redis", "ports": [{"number": 6379}],
                   "variables": [var("HEALTHCHECK_TCP_PORT", "6380")]},
                  {"name": "web", "ports": [{"number": 80}],
                   "variables": [var("HEALTHCHECK_TCP_PORT", "http")]}],
    ), tmp_path)
    assert [s.ports for s in got.jobs[0].services] == [(6380,), (80,)]


# --- cache -----------------------------------------------------------------------------------


def test_cache_translation(tmp_path: Path) -> None:
    got = pipeline_of(minimal(
        job_info={"name": "test:unit"},
        git_info={"ref": "main"},
        image={"name": "alpine"},
        variables=[var("SLUG", "feature-x"), var("CACHE_FALLBACK_KEY", "global")],
        cache=[
            {"key": "gems-$SLUG", "paths": ["vendor/", "$CI_PROJECT_DIR/.bundle", "vendor/"],
             "policy": "pull", "when": "always", "fallback_keys": ["gems-main", "$NONE"]},
            {"key": "", "paths": ["a"], "policy": "push", "when": "on_failure"},
            {"key": "untracked", "untracked": True, "paths": ["b"]},
            {"key": "only-untracked", "untracked": True},
            {"key": "$NONE", "paths": ["c"]},
            {"key": "odd", "paths": ["d"], "policy": "sometimes"},
            {"key": "outside", "paths": ["/etc/passwd", "../up", "sub/../../up"]},
        ],
    ), tmp_path, runner_vars=[("CI_PROJECT_DIR", "/builds/g/p")])
    assert got.jobs[0].cache == (
        Cache("gems-feature-x", ("vendor/", ".bundle"), CachePolicy.PULL, When.ALWAYS,
              ("gems-main", "global")),
        Cache(dir_key("test:unit/main"), ("a",), CachePolicy.PUSH, When.ON_FAILURE, ("global",)),
        Cache("untracked", ("b",), fallback_keys=("global",)),
        # Warned about when saved, as gitlab-runner's archiver does (keep.py), not up front.
        Cache("outside", (), fallback_keys=("global",),
              skipped=("/etc/passwd", "../up", "sub/../../up")),
    )
    assert got.notes == (
        "cache 3: 'untracked: true' is not supported; only its paths are cached",
        "cache 4: 'untracked: true' is not supported; only its paths are cached",
        "cache 5: its key '$NONE' expands to nothing; not cached",
        "cache 6: unknown policy 'sometimes'; not cached",
    )


@pytest.mark.parametrize("key", ["main-protected", "main-protected."])
def test_reserved_cache_fallback_key_is_refused(tmp_path: Path, key: str) -> None:
    got = pipeline_of(minimal(
        image={"name": "alpine"},
        variables=[var("CACHE_FALLBACK_KEY", key)],
        cache=[{"key": "k", "paths": ["x"]}],
    ), tmp_path)
    assert got.jobs[0].cache == (Cache("k", ("x",)),)
    assert got.notes == (
        f"CACHE_FALLBACK_KEY '{key}' is not used: it may not end in '-protected'",
    )


# --- artifacts -------------------------------------------------------------------------------


def element(paths: list[str], when: str = "on_success", **extra: Any) -> dict[str, Any]:
    return {"paths": paths, "when": when, **extra}


@pytest.mark.parametrize(
    ("elements", "expected"),
    [
        ([], None),
        ([element([])], None),
        ([element(["a"])], Artifacts(("a",), When.ON_SUCCESS)),
        ([element(["a"], "on_failure")], Artifacts(("a",), When.ON_FAILURE)),
        ([element(["a"], "always")], Artifacts(("a",), When.ALWAYS)),
        ([element(["a"], "on_failure"), element(["b"], "on_failure", artifact_type="junit")],
         Artifacts(("a", "b"), When.ON_FAILURE)),
        ([element(["a"]), element(["b"], "on_failure")], Artifacts(("a", "b"), When.ALWAYS)),
        ([element(["a", "b"]), element(["b", "c"], "always", artifact_type="junit")],
         Artifacts(("a", "b", "c"), When.ALWAYS)),
        ([element([], untracked=True), element(["a"])],
         Artifacts(("a",), When.ON_SUCCESS, untracked=True)),
        ([element(["a"], exclude=["a/*.tmp"]), element(["r.env"], "always",
                                                        artifact_type="dotenv")],
         Artifacts(("a", "r.env"), When.ALWAYS)),
        ([element(["a"]), element([], "always", artifact_type="junit")],
         Artifacts(("a",), When.ON_SUCCESS)),
    ],
)
def test_artifacts_union(
    tmp_path: Path, elements: list[dict[str, Any]], expected: Artifacts | None
) -> None:
    assert job_of(minimal(image={"name": "a"}, artifacts=elements), tmp_path).artifacts == (
        expected
    )


def test_artifact_paths_are_expanded_and_checked(tmp_path: Path) -> None:
    got = pipeline_of(minimal(
        image={"name": "alpine"},
        variables=[var("OUT", "build/out")],
        artifacts=[element(["$OUT/", "$CI_PROJECT_DIR/log.txt", "/tmp/x", "$NONE", "./a/../b"]),
                   element(["c"], "never")],
    ), tmp_path, runner_vars=[("CI_PROJECT_DIR", "/builds/g/p")])
    assert got.jobs[0].artifacts == Artifacts(("build/out/", "log.txt", "b"), skipped=("/tmp/x",))
    assert got.notes == ("archive artifact has unknown 'when: never'; not kept",)


def test_variable_repr_hides_values() -> None:
    assert "hunter2" not in repr(Variable("PW", "hunter2", masked=True))
