"""A workflow's ports, ``options:``, volumes and service names, checked before podman sees them."""

from __future__ import annotations

import pytest

from runner.engine.hookargv import Publish, VolumeMount
from runner.engine.imageref import ImageRef
from runner.ghhook.hookinput import HookContainer, HookInputError, Mount
from runner.ghhook.options import (
    named_volumes,
    parse_options,
    parse_ports,
    service_alias,
)


def _with(**fields: object) -> HookContainer:
    return HookContainer(image=ImageRef("docker.io/library/redis:7"), **fields)  # type: ignore


def test_ports_are_published_on_loopback() -> None:
    assert parse_ports(_with(port_mappings=("8080:80", "6379", "53/udp", "0.0.0.0:9:9")), "s") == (
        Publish(8080, 80), Publish(None, 6379), Publish(None, 53, "udp"), Publish(9, 9))


@pytest.mark.parametrize("bad", ["x", "80:99999", "--publish=1", "1:2:3:4"])
def test_bad_port_is_refused(bad: str) -> None:
    with pytest.raises(HookInputError, match="portMappings"):
        parse_ports(_with(port_mappings=(bad,)), "args.services[0]")


def test_health_env_user_and_workdir_options() -> None:
    found = parse_options('--health-cmd "redis-cli ping" --health-interval=10s '
                          "--health-timeout 5s --health-retries 5 -e A=1 --env=B=2 -u 999 "
                          "-w /srv", "s")
    assert found.env == (("A", "1"), ("B", "2"))
    assert found.user == "999" and found.workdir == "/srv"
    assert found.health is not None
    assert (found.health.command, found.health.interval_s, found.health.timeout_s,
            found.health.retries) == ("redis-cli ping", 10.0, 5.0, 5)


@pytest.mark.parametrize("bad", ["--privileged", "-v /:/host", "--network=host",
                                 "--cap-add SYS_ADMIN", "--security-opt=seccomp=unconfined",
                                 "--user", "'unbalanced"])
def test_confinement_options_are_refused_by_name(bad: str) -> None:
    with pytest.raises(HookInputError, match="createOptions"):
        parse_options(bad, "args.container")


def test_only_named_volumes_private_to_the_job() -> None:
    mounts = (Mount("data", "/data"), Mount(None, "/scratch"), Mount("cache", "/c", True))
    assert named_volumes(mounts, "gh0123456789ab", "s") == (
        VolumeMount("gh0123456789ab-data", "/data"),
        VolumeMount("gh0123456789ab-cache", "/c", True))
    with pytest.raises(HookInputError, match="host path"):
        named_volumes((Mount("/var/lib", "/x"),), "gh0123456789ab", "s")


def test_service_alias_from_the_key_else_the_image_name() -> None:
    taken: set[str] = set()
    assert service_alias(_with(context_name="Cache"), taken) == "cache"
    assert service_alias(_with(), taken) == "redis"
    assert service_alias(_with(), taken) is None
    assert service_alias(HookContainer(image=ImageRef("ghcr.io/o/my_db@sha256:" + "a" * 64)),
                         taken) is None  # '_' is no host name
