"""Tests of runner.pipeline.github.options: docker options parsed into what runner honours."""

from __future__ import annotations

import re
import shutil
import subprocess

import pytest

from runner.pipeline.github import optiontable
from runner.pipeline.github.options import (
    ContainerOptions,
    OptionRefused,
    parse_container_options,
    parse_go_duration,
)
from runner.pipeline.model import Health, Limits


def refused(text: str, *, service: bool = False) -> OptionRefused:
    with pytest.raises(OptionRefused) as caught:
        parse_container_options(text, service=service)
    return caught.value


def test_empty_text_asks_for_nothing() -> None:
    """Blank options (a workflow's `options: ""`) change nothing."""
    assert parse_container_options("") == ContainerOptions()
    assert parse_container_options("  \n ", service=True) == ContainerOptions()


def test_health_check_of_a_service_with_every_setting() -> None:
    """The GitHub docs' postgres example becomes a Health with docker's meaning of each flag."""
    options = parse_container_options(
        '--health-cmd pg_isready --health-interval 10s --health-timeout 5s '
        '--health-retries 5 --health-start-period 1m30s', service=True)
    assert options.health == Health(command="pg_isready", interval_s=10.0, timeout_s=5.0,
                                    retries=5, start_period_s=90.0)


def test_health_defaults_and_zero_are_dockers() -> None:
    """Unset or zero settings take docker's defaults (30s interval and timeout, 3 retries)."""
    assert parse_container_options("--health-cmd 'redis-cli ping'", service=True).health == \
        Health(command="redis-cli ping")
    zeros = parse_container_options(
        "--health-cmd true --health-interval 0 --health-timeout 0s --health-retries 0",
        service=True)
    assert zeros.health == Health(command="true")


def test_health_command_is_one_shell_string_split_as_a_shell_would() -> None:
    """Quotes group the command; `=` spelling and a multi-line (folded YAML) text work too."""
    options = parse_container_options(
        '--health-cmd="mysqladmin ping -h localhost"\n  --health-interval=500ms', service=True)
    assert options.health is not None
    assert options.health.command == "mysqladmin ping -h localhost"
    assert options.health.interval_s == 0.5


def test_health_start_interval_is_checked_and_accepted() -> None:
    """docker 25's --health-start-interval is taken (runner probes often while starting)."""
    options = parse_container_options("--health-cmd true --health-start-interval 1s",
                                      service=True)
    assert options.health == Health(command="true")
    assert refused("--health-cmd true --health-start-interval soon", service=True).option == \
        "--health-start-interval"


def test_health_on_the_job_container_has_no_effect_and_is_noted() -> None:
    """GitHub health-checks services only: on the job's container the check is only noted."""
    options = parse_container_options("--health-cmd true --health-retries 2")
    assert options.health is None
    assert [option for option, _ in options.no_effect] == ["--health-cmd"]


def test_no_healthcheck() -> None:
    """--no-healthcheck means no check; with a --health-cmd it contradicts itself."""
    assert parse_container_options("--no-healthcheck", service=True).health is None
    assert refused("--no-healthcheck --health-cmd true", service=True).option == \
        "--no-healthcheck"
    both = parse_container_options("--no-healthcheck=false --health-cmd true", service=True)
    assert both.health == Health(command="true")


@pytest.mark.parametrize(("text", "option"), [
    ("--health-interval 5s", "--health-interval"),
    ("--health-retries 3", "--health-retries"),
    ("--health-cmd ''", "--health-cmd"),
    ("--health-cmd true --health-retries -1", "--health-retries"),
    ("--health-cmd true --health-retries three", "--health-retries"),
    ("--health-cmd true --health-timeout 5", "--health-timeout"),
    ("--health-cmd true --health-interval -5s", "--health-interval"),
    ("--health-cmd true --health-start-period 1d", "--health-start-period"),
])
def test_bad_health_settings_name_the_option(text: str, option: str) -> None:
    """A setting without a command (runner ignores images' HEALTHCHECK), or a bad value."""
    assert refused(text, service=True).option == option


@pytest.mark.parametrize(("text", "seconds"), [
    ("0", 0.0), ("10s", 10.0), ("1m30s", 90.0), ("500ms", 0.5), ("1.5h", 5400.0),
    (".5s", 0.5), ("2m3s4ms", 123.004), ("100us", 0.0001), ("7ns", 7e-9),
])
def test_go_durations(text: str, seconds: float) -> None:
    """docker reads durations with Go's time.ParseDuration: units are needed, and may chain."""
    assert parse_go_duration("--x", text) == pytest.approx(seconds)


@pytest.mark.parametrize("text", ["", "10", "5 s", "1d", "s", "-1s", "1m 30s"])
def test_bad_go_durations(text: str) -> None:
    with pytest.raises(OptionRefused, match="--x"):
        parse_go_duration("--x", text)


def test_env_every_spelling_in_order() -> None:
    """-e/--env in each of docker's spellings; values keep '=' and spaces; order is kept."""
    options = parse_container_options(
        "-e A=1 -eB=2 -e=C=3 --env D=x=y --env='E=two words' --env F=")
    assert options.env == (("A", "1"), ("B", "2"), ("C", "3"), ("D", "x=y"), ("E", "two words"),
                           ("F", ""))
    assert parse_container_options("-e A=1", service=True).env == (("A", "1"),)


def test_env_without_value_or_with_a_bad_name_is_refused() -> None:
    """A bare NAME would copy the runner machine's variable into the job; refused."""
    error = refused("-e HOME")
    assert error.option == "--env"
    assert "NAME=VALUE" in str(error)
    assert refused("--env 'A B=1'").option == "--env"
    assert refused("--env =1").option == "--env"


def test_entrypoint_of_a_service() -> None:
    """A service's --entrypoint replaces the image's; an empty one clears it."""
    assert parse_container_options("--entrypoint /bin/sh", service=True).entrypoint == \
        ("/bin/sh",)
    assert parse_container_options('--entrypoint ""', service=True).entrypoint == ()
    assert parse_container_options("", service=True).entrypoint is None


def test_entrypoint_of_the_job_container_is_refused() -> None:
    """The job's container runs runner's supervisor; GitHub refuses it there too."""
    error = refused("--entrypoint /bin/sh")
    assert error.option == "--entrypoint"
    assert "supervisor" in str(error)


def test_limits_of_the_job_container() -> None:
    """--memory (docker's sizes), --cpus and --pids-limit become the job's Limits."""
    options = parse_container_options("-m 512m --cpus 1.5 --pids-limit 200")
    assert options.limits == Limits(memory=512 << 20, pids=200, cpus=1.5)
    assert parse_container_options("--memory=2g").limits == Limits(memory=2 << 30)
    assert parse_container_options("--pids-limit -1").limits == Limits()
    assert parse_container_options("--pids-limit 0").limits == Limits()


@pytest.mark.parametrize(("text", "option"), [
    ("--memory lots", "--memory"), ("-m 0", "--memory"), ("--cpus 0", "--cpus"),
    ("--cpus many", "--cpus"), ("--cpus inf", "--cpus"), ("--cpus nan", "--cpus"),
    ("--pids-limit -5", "--pids-limit"), ("--pids-limit 1.5", "--pids-limit"),
])
def test_bad_limits(text: str, option: str) -> None:
    assert refused(text).option == option


@pytest.mark.parametrize("text", ["--memory 1g", "--cpus 1", "--pids-limit 10"])
def test_limits_on_a_service_are_refused(text: str) -> None:
    """A service runs under its job's limits; the error says where to put them."""
    assert "job container" in str(refused(text, service=True))


@pytest.mark.parametrize("option", sorted(optiontable.NO_EFFECT))
def test_every_option_without_local_effect_is_accepted_and_noted(option: str) -> None:
    """Each such option is taken (with a value if it needs one) and listed with why."""
    text = option if option in optiontable.BOOLEAN else f"{option} x"
    for service in (False, True):
        options = parse_container_options(text, service=service)
        assert options.no_effect == ((option, optiontable.NO_EFFECT[option]),)
        assert options == ContainerOptions(no_effect=options.no_effect)


@pytest.mark.parametrize("option", sorted(optiontable.REFUSED))
def test_every_refused_option_is_refused_by_name_with_its_reason(option: str) -> None:
    """Each refused option raises, naming itself and the reason, for a job and a service."""
    text = option if option in optiontable.BOOLEAN else f"{option} x"
    for service in (False, True):
        error = refused(text, service=service)
        assert error.option == option
        assert str(error) == f"option {option}: refused: {optiontable.REFUSED[option]}"


@pytest.mark.parametrize(("text", "option"), [
    ("--privileged", "--privileged"),
    ("--privileged=true", "--privileged"),
    ("--privileged=false", "--privileged"),
    ("--cap-add=SYS_ADMIN", "--cap-add"),
    ("-v /:/host", "--volume"),
    ("-v/var/run/docker.sock:/var/run/docker.sock", "--volume"),
    ("--mount type=bind,src=/,dst=/host", "--mount"),
    ("--net=host", "--network"),
    ("--network host", "--network"),
    ("--pid=host", "--pid"),
    ("--userns=host", "--userns"),
    ("--security-opt seccomp=unconfined", "--security-opt"),
    ("--device /dev/kvm", "--device"),
    ("-p 5432:5432", "--publish"),
    ("-P", "--publish-all"),
    ("-h db", "--hostname"),
    ("-u 1000", "--user"),
    ("-w /src", "--workdir"),
    ("--env-file /etc/shadow", "--env-file"),
    ("--health-cmd true --privileged", "--privileged"),
    ("-it --privileged", "--privileged"),
])
def test_dangerous_options_in_every_spelling(text: str, option: str) -> None:
    """Short, long, `=`, glued and alias spellings all reach the same verdict."""
    assert refused(text, service=True).option == option
    assert refused(text).option == option


@pytest.mark.parametrize(("text", "option"), [
    ("--bogus", "--bogus"), ("--bogus=1", "--bogus"), ("-x", "-x"), ("-ix", "-x"),
])
def test_unknown_options_are_refused(text: str, option: str) -> None:
    error = refused(text)
    assert error.option == option
    assert "not an option of docker create" in str(error)


def test_grouped_switches() -> None:
    """`-it` is -i and -t; `-dit` too; a value-taking letter ends the group (`-ie A=1`)."""
    assert [o for o, _ in parse_container_options("-dit").no_effect] == [
        "--detach", "--interactive", "--tty"]
    options = parse_container_options("-ieA=1")
    assert options.env == (("A", "1"),)
    assert [o for o, _ in options.no_effect] == ["--interactive"]


def test_words_that_are_not_options() -> None:
    """An image or command in options is refused: the image is `image:`."""
    error = refused("--rm postgres:16")
    assert "not an option" in str(error)
    assert "postgres:16" in str(error)


def test_missing_value_and_bad_booleans() -> None:
    assert refused("--health-cmd", service=True).option == "--health-cmd"
    assert refused("-e").option == "--env"
    assert refused("--rm=maybe").option == "--rm"


def test_unbalanced_quotes() -> None:
    error = refused("--health-cmd 'pg_isready", service=True)
    assert error.option == "options"
    assert "split" in str(error)


def test_the_last_of_a_repeated_option_wins() -> None:
    """As docker's flags: the last --health-cmd, --memory or --entrypoint counts."""
    options = parse_container_options(
        "--health-cmd a --health-cmd b --entrypoint x --entrypoint y", service=True)
    assert options.health is not None
    assert options.health.command == "b"
    assert options.entrypoint == ("y",)
    assert parse_container_options("-m 1g -m 2g").limits.memory == 2 << 30


def test_the_table_covers_every_option_of_docker_create() -> None:
    """Every flag `docker create --help` lists has a verdict, and no verdict names a non-flag."""
    docker = shutil.which("docker")
    if docker is None:
        pytest.skip("no docker CLI to list its options")
    text = subprocess.run([docker, "create", "--help"], capture_output=True, text=True,
                          check=True, timeout=30).stdout
    listed = set(re.findall(r"^\s+(?:-\w, )?(--[a-z0-9-]+)", text, re.MULTILINE))
    assert listed - optiontable.KNOWN == set()
    assert set(optiontable.SHORT.values()) <= optiontable.KNOWN
    assert not optiontable.NO_EFFECT.keys() & optiontable.REFUSED.keys()
    assert not optiontable.HONOURED & optiontable.REFUSED.keys()
