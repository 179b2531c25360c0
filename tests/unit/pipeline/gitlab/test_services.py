"""GitLab ``services`` in the translation: forms, host names, defaults, variables, errors.

The host-name table is gitlab-runner's own (helpers/container/services/test/test.go):
the image name without tag, digest or registry port, ``/`` written ``__`` and ``-``.
"""

from __future__ import annotations

import textwrap
from pathlib import Path
from typing import Any

import pytest
import yaml

from runner.errors import PipelineError, RunnerError, SourceSpot
from runner.pipeline.gitlab.compose import compose
from runner.pipeline.gitlab.services import default_aliases, is_hostname
from runner.pipeline.gitlab.translate import Options, translate
from runner.pipeline.model import Pipeline, SecretSource
from runner.pipeline.model import Service as ModelService
from tests.unit.pipeline.gitlab.test_translate import FILE, GIT, error, jobs_by_name, translated


def Service(**fields: Any) -> ModelService:
    """A model service as the GitLab dialect makes them: ready on any one port."""
    return ModelService(**fields, ready_on_any=True)


def composed_run(text: str, root: Path, **options: Any) -> Pipeline:
    """Through compose too, so ``default:``, top-level keys and ``inherit`` apply."""
    path = root / FILE
    path.write_text(textwrap.dedent(text))
    return translate(compose(path, root), root, Options(git=GIT, **options))


# ---------------------------------------------------------------- host names


@pytest.mark.parametrize(
    ("image", "aliases"),
    [
        ("service", ("service",)),
        ("service:version", ("service",)),
        ("namespace/service", ("namespace__service", "namespace-service")),
        ("namespace/service:version", ("namespace__service", "namespace-service")),
        ("domain.tld/service", ("domain.tld__service", "domain.tld-service")),
        ("domain.tld:8080/service", ("domain.tld__service", "domain.tld-service")),
        (
            "subdomain.domain.tld:8080/namespace/service:version",
            ("subdomain.domain.tld__namespace__service", "subdomain.domain.tld-namespace-service"),
        ),
        ("postgres:15", ("postgres",)),
        (
            "registry.example.com/team/redis:7",
            ("registry.example.com__team__redis", "registry.example.com-team-redis"),
        ),
        ("registry:5000/x:1", ("registry__x", "registry-x")),
        ("docker:27-dind", ("docker",)),
        ("postgres@sha256:" + "0" * 64, ("postgres",)),
        ("tutum/hello-world", ("tutum__hello-world", "tutum-hello-world")),
        ("[::1]:5000/x", ()),  # not host names: left out, as the Kubernetes executor does
    ],
)
def test_default_aliases_are_gitlab_runners(image: str, aliases: tuple[str, ...]) -> None:
    assert default_aliases(image) == aliases


@pytest.mark.parametrize("image", ["", "upper/Case", "a b", "x:", "x@sha256:12", "-x", "a//b"])
def test_what_is_no_image_reference(image: str) -> None:
    assert default_aliases(image) is None


def test_host_names() -> None:
    assert all(map(is_hostname, ["db", "DB-1", "a__b", "pg.local", "x" * 63]))
    assert not any(map(is_hostname, ["", "-db", "db-", "a..b", "db!", "x" * 64, "$A", "a b"]))


# ---------------------------------------------------------------- forms


def test_string_and_mapping_forms(tmp_path: Path) -> None:
    pipeline = translated(
        """\
        j:
          image: python:3.12
          script: x
          services:
            - redis:7
            - name: postgres:16
              alias: db, primary  pg
              entrypoint: [docker-entrypoint.sh]
              command: [postgres, -c, fsync=off]
              variables: {POSTGRES_DB: app, PORT: 5432, DEBUG: true}
            - [registry.example.com/team/mock:1]
        """,
        tmp_path,
    )
    assert pipeline.jobs[0].services == (
        Service(image="redis:7", aliases=("redis",)),
        Service(
            image="postgres:16",
            aliases=("postgres", "db", "primary", "pg"),
            entrypoint=("docker-entrypoint.sh",),
            command=("postgres", "-c", "fsync=off"),
            variables=(("POSTGRES_DB", "app"), ("PORT", "5432"), ("DEBUG", "true")),
        ),
        Service(
            image="registry.example.com/team/mock:1",
            aliases=("registry.example.com__team__mock", "registry.example.com-team-mock"),
        ),
    )
    assert pipeline.notes == ()


def test_an_alias_equal_to_a_default_one_is_kept_once(tmp_path: Path) -> None:
    pipeline = translated(
        "j: {image: i, script: x, services: [{name: 'postgres:16', alias: 'postgres,postgres'}]}",
        tmp_path,
    )
    assert pipeline.jobs[0].services[0].aliases == ("postgres",)


def test_empty_entrypoint_and_command_lists_keep_the_images(tmp_path: Path) -> None:
    pipeline = translated(
        "j: {image: i, script: x, services: [{name: a, entrypoint: [], command: []},"
        " {name: b, entrypoint: ['']}]}",
        tmp_path,
    )
    a, b = pipeline.jobs[0].services
    assert (a.entrypoint, a.command, b.entrypoint) == (None, None, ("",))


def test_executor_keys_are_noted_as_without_effect(tmp_path: Path) -> None:
    pipeline = translated(
        """\
        a:
          image: i
          script: x
          services:
            - {name: pg, pull_policy: [always, if-not-present], docker: {platform: arm64}}
        b:
          image: i
          script: x
          services: [{name: pg, pull_policy: never, kubernetes: {user: "1001"}}]
        """,
        tmp_path,
    )
    assert pipeline.notes == (
        "these keywords have no effect in a local run and were ignored:"
        " 'services:docker' (1 job), 'services:kubernetes' (1 job)",
    )
    assert [s.pull_policy for job in pipeline.jobs for s in job.services] == [
        ("always", "if-not-present"), ("never",)]


def test_a_service_whose_names_are_all_taken_runs_once(tmp_path: Path) -> None:
    """gitlab-runner's Docker executor: "Service ... is already created. Ignoring."."""
    pipeline = translated(
        """\
        j:
          image: i
          script: x
          services: ["postgres:15", "postgres:16", {name: "postgres:16", alias: replica}]
        """,
        tmp_path,
    )
    assert pipeline.jobs[0].services == (
        Service(image="postgres:15", aliases=("postgres",)),
        Service(image="postgres:16", aliases=("replica",)),
    )
    assert pipeline.notes == (
        f"service 2 of job 'j' (postgres:16, at {FILE}:4) is not started: its host names are"
        " all taken by earlier services, and GitLab starts such a service only once; give it"
        " an 'alias' of its own to run both",
    )


# ---------------------------------------------------------------- defaults and inherit


def test_default_top_level_and_inherit(tmp_path: Path) -> None:
    pipeline = composed_run(
        """\
        default:
          image: ruby:3.3
          services: [postgres:16]
        own: {script: x, services: [redis:7]}
        cleared: {script: x, services: []}
        nulled: {script: x, services: null}
        plain: {script: x}
        picky: {script: x, inherit: {default: [image]}}
        listed: {script: x, inherit: {default: [image, services]}}
        none: {image: i, script: x, inherit: {default: false}}
        """,
        tmp_path,
    )
    got = {name: [s.image for s in job.services] for name, job in jobs_by_name(pipeline).items()}
    assert got == {
        "own": ["redis:7"],
        "cleared": [],
        "nulled": ["postgres:16"],
        "plain": ["postgres:16"],
        "picky": [],
        "listed": ["postgres:16"],
        "none": [],
    }


def test_deprecated_top_level_services(tmp_path: Path) -> None:
    pipeline = composed_run("services: [mysql:8]\nj: {image: i, script: x}\n", tmp_path)
    assert pipeline.jobs[0].services == (Service(image="mysql:8", aliases=("mysql",)),)
    assert pipeline.notes == (
        f"{tmp_path / FILE}:1:1 (key 'services'): a top-level 'services' is deprecated in"
        " GitLab; move it under 'default:'",
    )


def test_errors_in_a_default_point_at_the_default(tmp_path: Path) -> None:
    with pytest.raises(PipelineError) as caught:
        composed_run(
            "default:\n  image: i\n  services:\n    - {name: pg, aliass: db}\nj: {script: x}\n",
            tmp_path,
        )
    assert (caught.value.spot.line, caught.value.spot.key) == (4, "j.services[0].aliass")
    assert caught.value.message == (
        "unknown key 'aliass' in service 1 of job 'j'; did you mean 'alias'?"
    )


# ---------------------------------------------------------------- variables


def test_name_and_alias_are_expanded_per_instance(tmp_path: Path) -> None:
    pipeline = translated(
        """\
        variables: {REGISTRY: registry.example.com}
        j:
          image: i
          script: x
          parallel:
            matrix: [{PG: ["15", "16"]}]
          services:
            - {name: "$REGISTRY/pg:$PG", alias: "db$PG"}
        """,
        tmp_path,
    )
    assert [(j.name, j.services[0].image, j.services[0].aliases) for j in pipeline.jobs] == [
        ("j: [15]", "registry.example.com/pg:15",
         ("registry.example.com__pg", "registry.example.com-pg", "db15")),
        ("j: [16]", "registry.example.com/pg:16",
         ("registry.example.com__pg", "registry.example.com-pg", "db16")),
    ]


def test_service_variables_follow_job_variable_rules(tmp_path: Path) -> None:
    pipeline = translated(
        """\
        variables: {APP: shop, PRICE: "$$5"}
        j:
          image: i
          script: x
          variables: {DB: "${APP}_test", URL: "x://$TOKEN@db"}
          services:
            - name: postgres:16
              variables:
                POSTGRES_DB: $DB
                DATA: /data/$POSTGRES_DB
                PATH: $PATH:/opt/bin
                COST: $PRICE and $$1
                PASSWORD: $TOKEN
                LINK: $URL
        """,
        tmp_path,
        secrets=(SecretSource(name="TOKEN", env="T"),),
        secret_values={"TOKEN": "s3cret"},
    )
    service = pipeline.jobs[0].services[0]
    assert dict(service.variables) == {
        "POSTGRES_DB": "shop_test",
        "DATA": "/data/shop_test",
        # No PATH among the job's variables: the reference reads the value itself once,
        # as gitlab-runner's one pass does (the image's PATH is unknown to both).
        "PATH": "$PATH:/opt/bin:/opt/bin",
        "COST": "$5 and $1",
        "PASSWORD": "",  # secrets never reach services, as in gitlab-runner
        "LINK": "x://$TOKEN@db",  # the job's own value, left for the job's container
    }
    assert "s3cret" not in repr(pipeline)


def test_readiness_healthcheck_port_then_image(tmp_path: Path) -> None:
    """HEALTHCHECK_TCP_PORT (any case, service's or the job's) names the one port to wait
    for, as gitlab-runner's health check; else the image's exposed ports (``ports`` is
    refused, as GitLab refuses it outside Web IDE configs).
    Every GitLab service is ready on any one port, as gitlab-runner's health check is."""
    pipeline = translated(
        """\
        j:
          image: i
          script: x
          variables: {healthcheck_tcp_port: "6379"}
          services:
            - {name: redis, alias: r1}
            - {name: redis, alias: r3}
        k:
          image: i
          script: x
          services:
            - {name: web}
            - {name: db}
            - {name: bad, variables: {HEALTHCHECK_TCP_PORT: "x1"}}
            - {name: cache, variables: {HEALTHCHECK_TCP_PORT: "7000"}}
        """,
        tmp_path,
    )
    jobs = jobs_by_name(pipeline)
    assert [s.ports for s in jobs["j"].services] == [(6379,), (6379,)]
    assert [s.ports for s in jobs["k"].services] == [(), (), (), (7000,)]
    assert all(s.ready_on_any for job in pipeline.jobs for s in job.services)
    assert "service 3 of job 'k': HEALTHCHECK_TCP_PORT is not a port number; runner waits" \
        " for the ports its image exposes instead" in pipeline.notes


def test_services_get_no_pipeline_or_project_variables(tmp_path: Path) -> None:
    """gitlab-runner gives services the job's public variables only: YAML and predefined
    ones, not project or pipeline variables (variables files, --variable)."""
    pipeline = translated(
        """\
        j:
          image: i
          script: x
          variables: {FROM_YAML: y}
          services:
            - name: pg
              variables: {SEEN: "<$FROM_YAML|$CLI_VAR|$PROJECT_VAR>"}
        """,
        tmp_path,
        variables=(("PROJECT_VAR", "p"), ("CLI_VAR", "c")),
    )
    job = pipeline.jobs[0]
    assert dict(job.services[0].variables) == {"SEEN": "<y||>"}
    assert job.pipeline_variables == ("PROJECT_VAR", "CLI_VAR")
    assert dict(job.variables)["CLI_VAR"] == "c"


def test_service_variable_cycles_are_errors(tmp_path: Path) -> None:
    exc = error("j: {image: i, script: x, services: [{name: pg, variables: {A: $B, B: $A}}]}",
                tmp_path)
    assert exc.spot == SourceSpot(FILE, 1, 59, "j.services[0].variables")
    assert exc.message == (
        "service 1 of job 'j': circular variable reference detected: [\"A\", \"B\"]"
    )


# ---------------------------------------------------------------- errors


@pytest.mark.parametrize(
    ("service", "key", "message"),
    [
        (
            "{name: pg, aliasx: d}",
            "j.services[0].aliasx",
            "unknown key 'aliasx' in service 1 of job 'j'; did you mean 'alias'?",
        ),
        ("{alias: d}", "j.services[0].name", "service 1 of job 'j' has no 'name'"),
        (
            "{name: pg, ports: [5432]}",
            "j.services[0].ports",
            "'ports' of service 1 of job 'j' is not allowed: GitLab takes service ports only in"
            " Web IDE terminal configurations (config contains disallowed keys: ports); runner"
            " waits for HEALTHCHECK_TCP_PORT or the ports the image exposes",
        ),
        (
            "{name: pg, command: 'postgres -c x'}",
            "j.services[0].command",
            "'command' of service 1 of job 'j' must be a list of strings, like"
            " [\"/bin/sh\", \"-c\"], got a string (GitLab does not take a single string here)",
        ),
        (
            "{name: pg, alias: 'db!'}",
            "j.services[0].alias",
            "alias 'db!' of service 1 of job 'j' is not a host name; use letters, digits, '-'"
            " and '_' in dot-separated parts of at most 63 characters, not starting or ending"
            " with '-'; separate several aliases with commas or spaces",
        ),
        (
            "{name: pg, alias: 7}",
            "j.services[0].alias",
            "'alias' of service 1 of job 'j' must be a string, got a number",
        ),
        (
            "{name: 'Pg/Bad'}",
            "j.services[0].name",
            "the image of service 1 of job 'j' is 'Pg/Bad', which is not an image reference"
            " (like 'postgres:16' or 'registry.example.com/group/image:tag'; lowercase path)",
        ),
        (
            "{name: $NOPE}",
            "j.services[0].name",
            "the image of service 1 of job 'j' is empty after expanding '$NOPE', which is not"
            " an image reference (like 'postgres:16' or 'registry.example.com/group/image:tag';"
            " lowercase path)",
        ),
        (
            "7",
            "j.services[0]",
            "service 1 of job 'j' must be an image name or a mapping with 'name', got a number",
        ),
        (
            "{name: pg, variables: {A: {value: x}}}",
            "j.services[0].variables.A",
            "variable 'A' in 'variables' of service 1 of job 'j' must be a string, number or"
            " boolean; GitLab takes no 'value'/'expand' mapping for service variables",
        ),
        (
            "{name: pg, pull_policy: sometimes}",
            "j.services[0].pull_policy",
            "'pull_policy' of service 1 of job 'j' cannot be 'sometimes'; use one of 'always',"
            " 'if-not-present', 'never'",
        ),
        (
            "{name: pg, docker: 1}",
            "j.services[0].docker",
            "'docker' of service 1 of job 'j' must be a mapping, got a number",
        ),
    ],
)
def test_mistakes_are_clear_errors(service: str, key: str, message: str, tmp_path: Path) -> None:
    exc = error(f"j:\n  image: i\n  script: x\n  services:\n    - {service}\n", tmp_path)
    assert (exc.spot.file, exc.spot.line, exc.spot.key) == (FILE, 5, key)
    assert exc.message == message


def test_services_must_be_a_list(tmp_path: Path) -> None:
    exc = error("j: {image: i, script: x, services: postgres}", tmp_path)
    assert exc.spot == SourceSpot(FILE, 1, 36, "j.services")
    assert exc.message == (
        "'services' of job 'j' must be a list of images or service mappings, got a string;"
        " write 'services: [postgres:16]' for one"
    )


def test_an_alias_from_a_variable_is_checked_after_expanding(tmp_path: Path) -> None:
    exc = error(
        "variables: {A: 'db x!'}\nj: {image: i, script: x, services: [{name: pg, alias: $A}]}",
        tmp_path,
    )
    assert exc.message.startswith(
        "alias 'x!' (after expanding '$A') of service 1 of job 'j' is not a host name;"
    )


ODD: list[Any] = [None, ["a", ["b"]], {"x": {"y": 1}}, 7, "/(/", "", True]
FULL = {
    "name": "postgres:16",
    "alias": "db",
    "entrypoint": ["docker-entrypoint.sh"],
    "command": ["postgres"],
    "variables": {"POSTGRES_DB": "app"},
    "pull_policy": "always",
    "docker": {"user": "x"},
    "kubernetes": {"user": "1"},
}


def test_wrong_types_in_any_service_key_are_clear_errors(tmp_path: Path) -> None:
    """Every key of a service (and the service itself) with each odd value: a run or an error."""
    docs: list[tuple[str, Any]] = [(f"services={odd!r}", odd) for odd in ODD]
    docs += [(f"item={odd!r}", [odd]) for odd in ODD]
    for key in FULL:
        docs += [(f"{key}={odd!r}", [{**FULL, key: odd}]) for odd in ODD]
    escaped: list[str] = []
    for label, services in docs:
        job: dict[str, Any] = {"image": "i", "script": "x", "services": services}
        for where in ("job", "default"):
            doc: dict[str, Any] = {"j": job}
            if where == "default":
                doc = {"default": {"services": services}, "j": {"image": "i", "script": "x"}}
            try:
                composed_run(yaml.safe_dump(doc), tmp_path)
            except RunnerError as exc:
                assert "Traceback" not in str(exc)
            except Exception as exc:  # collecting what escaped is the point
                escaped.append(f"{where} {label}: {type(exc).__name__}: {exc}")
    assert escaped == []
