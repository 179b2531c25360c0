"""The Docker API's create policy: every refused option, binds, and the whole libpod spec."""

from __future__ import annotations

from typing import Any

import pytest

from runner.dockerapi.policy import (
    LABEL_DIND,
    Bind,
    Refused,
    Scope,
    check_build,
    check_exec,
    check_volume,
    plan_create,
)
from runner.engine.argv import CONTAINER_CAPS, LABEL_JOB, LABEL_RUN, Resources

SCOPE = Scope("runner-r1-build-1-pod", "tok", "r1", "build", "/builds/p",
              Resources(memory=1 << 30, pids=100))


def create(**host: Any) -> dict[str, Any]:
    return {"Image": "localhost/app:1", "Cmd": ["sh", "-c", "true"], "HostConfig": host}


def test_a_plain_run_becomes_a_pod_container_with_the_jobs_limits_and_hardening() -> None:
    body = {"Image": "localhost/app:1", "Cmd": ["echo", "hi"], "Env": ["A=1", "B=x=y"],
            "Tty": True, "OpenStdin": True, "WorkingDir": "/w", "User": "1000",
            "Labels": {"k": "v"}, "Entrypoint": None,
            "HostConfig": {"AutoRemove": True, "Memory": 1 << 20, "Init": True},
            "NetworkingConfig": {"EndpointsConfig": {"n": {"Aliases": ["db", "bad name"]}}}}
    plan = plan_create(body, "web", SCOPE)
    assert plan.spec == {
        "pod": "runner-r1-build-1-pod", "image": "localhost/app:1", "name": "web",
        "env": {"A": "1", "B": "x=y"},
        "labels": {"k": "v", LABEL_DIND: "tok", LABEL_RUN: "r1", LABEL_JOB: "build"},
        "terminal": True, "stdin": True, "remove": True,
        "cap_drop": ["ALL"], "cap_add": list(CONTAINER_CAPS), "no_new_privileges": True,
        "httpproxy": False, "mounts": [], "volumes": [], "read_only_filesystem": False,
        "command": ["echo", "hi"], "work_dir": "/w", "user": "1000", "init": True,
        "resource_limits": {"memory": {"limit": 1 << 20, "swap": 1 << 20},
                            "pids": {"limit": 100}},
    }
    assert plan.binds == []
    assert plan.hosts == ["web", "db"]


@pytest.mark.parametrize(("host", "option"), [
    ({"Privileged": True}, "--privileged"),
    ({"CapAdd": ["SYS_ADMIN"]}, "--cap-add"),
    ({"Devices": [{"PathOnHost": "/dev/fuse"}]}, "--device"),
    ({"DeviceRequests": [{"Count": -1}]}, "--gpus"),
    ({"SecurityOpt": ["seccomp=unconfined"]}, "--security-opt"),
    ({"Sysctls": {"net.ipv4.ip_forward": "1"}}, "--sysctl"),
    ({"CgroupParent": "/"}, "--cgroup-parent"),
    ({"VolumesFrom": ["other"]}, "--volumes-from"),
    ({"PidMode": "host"}, "--pid=host"),
    ({"IpcMode": "host"}, "--ipc=host"),
    ({"UTSMode": "host"}, "--uts=host"),
    ({"UsernsMode": "host"}, "--userns=host"),
    ({"CgroupnsMode": "host"}, "--cgroupns=host"),
    ({"PidMode": "container:x"}, "--pid=container:x"),
    ({"NetworkMode": "host"}, "--network=host"),
    ({"NetworkMode": "container:other"}, "--network=container:other"),
    ({"NetworkMode": "ns:/proc/1/ns/net"}, "--network=ns:/proc/1/ns/net"),
    ({"Runtime": "runc"}, "--runtime"),
])
def test_every_option_that_leaves_the_sandbox_is_refused_by_name(
        host: dict[str, Any], option: str) -> None:
    with pytest.raises(Refused, match=f"runner: {option} is not allowed"):
        plan_create(create(**host), None, SCOPE)


@pytest.mark.parametrize("bind", ["/etc:/x", "/builds:/x", "/builds/p/../q:/x",
                                  "/builds/pq:/x", "/:/x", "/builds/p/a:/x:shared",
                                  "rel/path:/x", "/builds/p:x"])
def test_binds_outside_the_workspace_or_odd_ones_are_refused(bind: str) -> None:
    with pytest.raises(Refused):
        plan_create(create(Binds=[bind]), None, SCOPE)


def test_workspace_binds_are_relative_to_it_and_named_volumes_pass() -> None:
    plan = plan_create(create(Binds=["/builds/p:/src:ro", "/builds/p/a/b/:/ab", "cache:/c"]),
                       None, SCOPE)
    assert plan.binds == [Bind("", "/src", ("ro",)), Bind("a/b", "/ab", ())]
    assert plan.spec["volumes"] == [{"Name": "cache", "Dest": "/c", "Options": []}]


@pytest.mark.parametrize("mount", [
    {"Type": "bind", "Source": "/etc", "Target": "/x"},
    {"Type": "bind", "Source": "/builds/p", "Target": "/x",
     "BindOptions": {"Propagation": "rshared"}},
    {"Type": "volume", "Source": "v", "Target": "/x",
     "VolumeOptions": {"DriverConfig": {"Options": {"device": "/etc", "o": "bind"}}}},
    {"Type": "npipe", "Source": "x", "Target": "/x"},
])
def test_mounts_that_could_reach_the_host_are_refused(mount: dict[str, Any]) -> None:
    with pytest.raises(Refused):
        plan_create(create(Mounts=[mount]), None, SCOPE)


def test_published_ports_must_keep_their_number() -> None:
    plan_create(create(PortBindings={"8080/tcp": [{"HostPort": "8080"}]}), None, SCOPE)
    plan_create(create(PortBindings={"8080/tcp": [{"HostPort": ""}]}), None, SCOPE)
    with pytest.raises(Refused, match="-p 9090:8080 is not supported"):
        plan_create(create(PortBindings={"8080/tcp": [{"HostPort": "9090"}]}), None, SCOPE)


def test_exec_volume_and_build_checks() -> None:
    check_exec({"Cmd": ["sh"]})
    with pytest.raises(Refused, match="docker exec --privileged"):
        check_exec({"Privileged": True})
    check_volume({"Name": "v"})
    with pytest.raises(Refused):
        check_volume({"Name": "v", "DriverOpts": {"device": "/etc", "o": "bind"}})
    check_build("default")
    for mode in ("host", "container:x"):
        with pytest.raises(Refused):
            check_build(mode)
