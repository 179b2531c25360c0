"""Tests of a native job's ``services``: both forms, default aliases, every error's spot."""

from __future__ import annotations

import textwrap
from pathlib import Path
from typing import NamedTuple

import pytest

from runner.errors import PipelineError, SourceSpot
from runner.pipeline.aliases import default_aliases, is_hostname
from runner.pipeline.model import Pipeline, Service
from runner.pipeline.native import parse_native

NOT_REF = (" is not an image reference (like 'alpine:3.19' or"
           " 'registry.example.com/group/image:tag'; lowercase path, no spaces,"
           " not starting with '-')")
"""How every native-format image error ends (``runner.engine.imageref.why_not``)."""

HEAD = "version: 1\nimage: i\njobs:\n  a:\n    script: x\n"
"""Five lines every case starts with, so a job's 'services' begins on line 6."""


def parse(tmp_path: Path, text: str) -> Pipeline:
    path = tmp_path / "pipeline.yml"
    path.write_text(textwrap.dedent(text))
    return parse_native(path, tmp_path)


def services(tmp_path: Path, tail: str) -> tuple[Service, ...]:
    """The services of job 'a' when ``tail`` (indented as job keys are) follows HEAD."""
    path = tmp_path / "pipeline.yml"
    path.write_text(HEAD + tail)
    return parse_native(path, tmp_path).job("a").services


# -- valid forms ------------------------------------------------------------------------------


def test_no_services_by_default(tmp_path: Path) -> None:
    """A job without 'services' has none; an empty list is the same."""
    assert parse(tmp_path, HEAD).job("a").services == ()
    assert services(tmp_path, "    services: []\n") == ()


def test_image_name_form_gets_default_aliases(tmp_path: Path) -> None:
    """An item that is just an image gets gitlab-runner's aliases and nothing else set."""
    assert services(tmp_path, "    services: [postgres:15, a.b/team/redis:7]\n") == (
        Service("postgres:15", ("postgres",)),
        Service("a.b/team/redis:7", ("a.b__team__redis", "a.b-team-redis")),
    )


def test_mapping_form_with_every_key(tmp_path: Path) -> None:
    """Each key of the mapping form lands in its field; scalar variables become strings."""
    got = services(tmp_path, "\n".join([
        "    services:",
        "      - image: localhost/busybox:latest",
        "        alias: [db, db.internal]",
        "        entrypoint: [/bin/sh, -c]",
        "        command: [exec httpd -f]",
        "        variables: {A: one, N: 5, B: true}",
        "        ports: [8080, 5432]",
        "",
    ]))
    assert got == (Service(
        image="localhost/busybox:latest",
        aliases=("localhost__busybox", "localhost-busybox", "db", "db.internal"),
        entrypoint=("/bin/sh", "-c"),
        command=("exec httpd -f",),
        variables=(("A", "one"), ("N", "5"), ("B", "true")),
        ports=(8080, 5432),
    ),)


def test_strings_where_lists_are_allowed(tmp_path: Path) -> None:
    """alias, entrypoint and command may each be one string: a list of one."""
    got = services(tmp_path, "    services:\n"
                   "      - {image: pg, alias: db, entrypoint: docker-entry, command: serve}\n")
    assert got == (Service("pg", ("pg", "db"), ("docker-entry",), ("serve",)),)


def test_written_alias_equal_to_a_default_is_kept_once(tmp_path: Path) -> None:
    """Defaults come first, then written aliases not already there, in file order."""
    got = services(tmp_path, "    services:\n"
                   "      - {image: postgres:15, alias: [pg, postgres, pg, x_y]}\n")
    assert got[0].aliases == ("postgres", "pg", "x_y")


def test_unset_fields_stay_unset(tmp_path: Path) -> None:
    """No entrypoint/command means the image's own; no ports means its exposed ones."""
    (got,) = services(tmp_path, "    services:\n      - image: redis\n")
    assert got == Service("redis", ("redis",), None, None, (), ())


# -- default aliases --------------------------------------------------------------------------


@pytest.mark.parametrize(("image", "aliases"), [
    ("postgres", ("postgres",)),
    ("postgres:15", ("postgres",)),
    ("postgres:15@sha256:" + "a" * 64, ("postgres",)),
    ("postgres@sha256:" + "a" * 64, ("postgres",)),
    ("tutum/wordpress:latest", ("tutum__wordpress", "tutum-wordpress")),
    ("a.b/team/redis:7", ("a.b__team__redis", "a.b-team-redis")),
    ("localhost/busybox:latest", ("localhost__busybox", "localhost-busybox")),
    ("docker.io/library/postgres:15",
     ("docker.io__library__postgres", "docker.io-library-postgres")),
    ("my_svc", ("my_svc",)),
    ("x" * 64, ()),  # a label longer than 63 characters is no host name
])
def test_default_aliases(image: str, aliases: tuple[str, ...]) -> None:
    """The image name without tag or digest, '/' as '__' and as '-' (once if the same)."""
    assert default_aliases(image) == aliases


@pytest.mark.parametrize(("image", "aliases"), [
    ("registry.example.com:5000/team/redis:7",
     ("registry.example.com__team__redis", "registry.example.com-team-redis")),
    ("localhost:5000/busybox", ("localhost__busybox", "localhost-busybox")),
])
def test_default_aliases_drop_a_registry_port(image: str, aliases: tuple[str, ...]) -> None:
    """As gitlab-runner (referenceRegexpNoPort): the registry's ':port' is left out."""
    assert default_aliases(image) == aliases


@pytest.mark.parametrize("alias", ["db", "db.internal", "a-b", "a_b", "A1", "x" * 63,
                                   ".".join(["x" * 63] * 3)])
def test_valid_alias(alias: str) -> None:
    assert is_hostname(alias)


@pytest.mark.parametrize("alias", ["", "-db", "db-", "a b", "a..b", ".db", "db.", "a:1", "a/b",
                                   "x" * 64, ".".join(["x" * 63] * 4) + "x"])
def test_invalid_alias(alias: str) -> None:
    assert not is_hostname(alias)


# -- errors -----------------------------------------------------------------------------------


class Case(NamedTuple):
    id: str
    tail: str
    """What follows HEAD (job 'a''s remaining keys)."""
    line: int
    column: int
    key: str
    message: str


SVC = "a service of 'services' of job 'a'"
"""How messages name the first service of job 'a'."""

CASES = [
    Case("not-a-list", "    services: postgres\n", 6, 15, "jobs.a.services",
         "'services' of job 'a' (a list of images or mappings) must be a list, got a string"),
    Case("item-number", "    services: [5]\n", 6, 16, "jobs.a.services[0]",
         f"{SVC} must be a string, got a number"),
    Case("item-empty", "    services: ['']\n", 6, 16, "jobs.a.services[0]",
         f"{SVC} must not be empty"),
    Case("item-spaces", "    services: ['pg 15']\n", 6, 16, "jobs.a.services[0]",
         f"{SVC}: 'pg 15'" + NOT_REF),
    Case("item-like-an-option", "    services: ['--label=x.y/z']\n", 6, 16, "jobs.a.services[0]",
         f"{SVC}: '--label=x.y/z'" + NOT_REF),
    Case("item-list", "    services:\n      - [pg]\n", 7, 9, "jobs.a.services[0]",
         f"{SVC} (an image name or a mapping) must be a mapping, got a list"),
    Case("missing-image", "    services:\n      - alias: db\n", 7, 9, "jobs.a.services[0].image",
         f"{SVC} has no 'image'"),
    Case("image-null", "    services:\n      - {image: }\n", 7, 16, "jobs.a.services[0].image",
         f"'image' of {SVC} must be a string, got nothing (null)"),
    Case("image-list", "    services:\n      - {image: [pg]}\n", 7, 17,
         "jobs.a.services[0].image", f"'image' of {SVC} must be a string, got a list"),
    Case("unknown-key-close", "    services:\n      - {image: pg, port: [1]}\n", 7, 21,
         "jobs.a.services[0].port", f"unknown key 'port' in {SVC}; did you mean 'ports'?"),
    Case("unknown-key-far", "    services:\n      - {image: pg, zzz: 1}\n", 7, 21,
         "jobs.a.services[0].zzz",
         f"unknown key 'zzz' in {SVC}; valid keys are 'image', 'alias', 'entrypoint', 'command',"
         " 'variables', 'ports'"),
    Case("second-item", "    services:\n      - pg\n      - {image: redis, ports: [0]}\n", 8, 32,
         "jobs.a.services[1].ports[0]",
         "an item of 'ports' of a service of 'services' of job 'a' must be a port number from 1"
         " to 65535, got 0"),
    Case("alias-not-host", "    services:\n      - {image: pg, alias: 'no good'}\n", 7, 28,
         "jobs.a.services[0].alias",
         f"alias 'no good' of {SVC} is not a valid host name (letters, digits, '-', '_' and dots)"),
    Case("alias-item-not-host", "    services:\n      - {image: pg, alias: [ok, -bad]}\n", 7, 33,
         "jobs.a.services[0].alias[1]",
         f"alias '-bad' of {SVC} is not a valid host name (letters, digits, '-', '_' and dots)"),
    Case("alias-empty", "    services:\n      - {image: pg, alias: ''}\n", 7, 28,
         "jobs.a.services[0].alias", f"'alias' of {SVC} must not be empty"),
    Case("alias-item-number", "    services:\n      - {image: pg, alias: [1]}\n", 7, 29,
         "jobs.a.services[0].alias[0]", f"an item of 'alias' of {SVC} must be a string, got a"
         " number"),
    Case("alias-mapping", "    services:\n      - {image: pg, alias: {a: b}}\n", 7, 28,
         "jobs.a.services[0].alias",
         f"'alias' of {SVC} (a string or a list of strings) must be a list, got a mapping"),
    Case("port-too-big", "    services:\n      - {image: pg, ports: [65536]}\n", 7, 29,
         "jobs.a.services[0].ports[0]",
         f"an item of 'ports' of {SVC} must be a port number from 1 to 65535, got 65536"),
    Case("port-zero", "    services:\n      - {image: pg, ports: [0]}\n", 7, 29,
         "jobs.a.services[0].ports[0]",
         f"an item of 'ports' of {SVC} must be a port number from 1 to 65535, got 0"),
    Case("port-string", "    services:\n      - {image: pg, ports: ['5432']}\n", 7, 29,
         "jobs.a.services[0].ports[0]",
         f"an item of 'ports' of {SVC} must be a port number from 1 to 65535, got '5432'"),
    Case("port-boolean", "    services:\n      - {image: pg, ports: [true]}\n", 7, 29,
         "jobs.a.services[0].ports[0]",
         f"an item of 'ports' of {SVC} must be a port number from 1 to 65535, got a boolean"),
    Case("port-float", "    services:\n      - {image: pg, ports: [5432.0]}\n", 7, 29,
         "jobs.a.services[0].ports[0]",
         f"an item of 'ports' of {SVC} must be a port number from 1 to 65535, got 5432.0"),
    Case("ports-not-a-list", "    services:\n      - {image: pg, ports: 5432}\n", 7, 28,
         "jobs.a.services[0].ports",
         f"'ports' of {SVC} (a list of port numbers) must be a list, got a number"),
    Case("variable-name", "    services:\n      - {image: pg, variables: {1A: x}}\n", 7, 33,
         "jobs.a.services[0].variables.1A",
         "variable name '1A' is not allowed; use letters, digits and '_', not starting with a"
         " digit"),
    Case("variable-null", "    services:\n      - {image: pg, variables: {A: }}\n", 7, 35,
         "jobs.a.services[0].variables.A",
         "variable 'A' must be a string, number or boolean, got nothing (null); write '' for an"
         " empty value"),
    Case("variables-list", "    services:\n      - {image: pg, variables: [A]}\n", 7, 32,
         "jobs.a.services[0].variables", f"'variables' of {SVC} must be a mapping, got a list"),
    Case("command-empty-item", "    services:\n      - {image: pg, command: [run, '']}\n", 7, 36,
         "jobs.a.services[0].command[1]", f"an item of 'command' of {SVC} must not be empty"),
    Case("command-number", "    services:\n      - {image: pg, command: [run, 5]}\n", 7, 36,
         "jobs.a.services[0].command[1]",
         f"an item of 'command' of {SVC} must be a string, got a number"),
    Case("entrypoint-mapping", "    services:\n      - {image: pg, entrypoint: {a: 1}}\n", 7, 33,
         "jobs.a.services[0].entrypoint",
         f"'entrypoint' of {SVC} (a string or a list of strings) must be a list, got a mapping"),
]


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_error_spot_and_message(case: Case, tmp_path: Path) -> None:
    """Each mistake fails at the exact file, line, column and key with the exact text."""
    path = tmp_path / "pipeline.yml"
    path.write_text(HEAD + case.tail)
    with pytest.raises(PipelineError) as info:
        parse_native(path, tmp_path)
    assert info.value.spot == SourceSpot(str(path), case.line, case.column, case.key)
    assert info.value.message == case.message
    assert str(info.value) == (f"{path}:{case.line}:{case.column} (key '{case.key}'): "
                               f"{case.message}")


def test_build_job_cannot_have_services(tmp_path: Path) -> None:
    """A build job runs no container of its own, so 'services' is an error on it."""
    path = tmp_path / "pipeline.yml"
    path.write_text("version: 1\njobs:\n  img:\n    build: {context: .}\n    services: [pg]\n")
    with pytest.raises(PipelineError) as info:
        parse_native(path, tmp_path)
    assert info.value.spot == SourceSpot(str(path), 5, 5, "jobs.img.services")
    assert info.value.message == ("job 'img' has 'build', so it runs no container and 'services'"
                                  " does not apply; move the commands to a job that needs it")


def test_service_image_from_a_build_job_is_rejected_or_followed(tmp_path: Path) -> None:
    """A build job's output as a service image is refused, or makes the job depend on it."""
    text = ("version: 1\njobs:\n  img:\n    build: {context: .}\n  use:\n    image: i\n"
            "    script: x\n    services: ['${{ jobs.img.image }}']\n")
    try:
        pipeline = parse(tmp_path, text)
    except PipelineError:
        return
    assert pipeline.job("use").output_refs() == frozenset({"img"})
