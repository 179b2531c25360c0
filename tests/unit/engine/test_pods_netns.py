"""Which netns files podman says it lost are ours to mend (``pods.lost_netns``)."""

from __future__ import annotations

from pathlib import Path

from runner.engine.pods import lost_netns

SAID = (
    'Error: 1 error occurred:\n\t* removing container 7f87 from pod 9f9b: joining network'
    " namespace of container 7f87: retrieving network namespace at"
    " /run/user/1001/netns/netns-c0f93584-ac0f-a087-2fd8-8a793b289e68: unknown FS magic on"
    ' "/run/user/1001/netns/netns-c0f93584-ac0f-a087-2fd8-8a793b289e68": ef53\n'
    'time="x" level=error msg="Joining network namespace for container 1: retrieving network'
    " namespace at /run/user/1001/netns/netns-016ddf2f-91ed-5f4e-16f8-c5b5f9211812: unknown FS"
    ' magic on ..."\n'
)


def test_lost_netns_files_under_the_users_runtime_dir() -> None:
    assert lost_netns(SAID, "/run/user/1001") == [
        Path("/run/user/1001/netns/netns-016ddf2f-91ed-5f4e-16f8-c5b5f9211812"),
        Path("/run/user/1001/netns/netns-c0f93584-ac0f-a087-2fd8-8a793b289e68"),
    ]


def test_nothing_outside_it_or_not_named_as_podman_names_them() -> None:
    assert lost_netns(SAID, "/run/user/1002") == []
    assert lost_netns(SAID, None) == []
    odd = ("retrieving network namespace at /run/user/1001/netns/../../../etc/passwd: unknown FS"
           " magic; retrieving network namespace at /run/user/1001/netns/netns-x y: unknown FS"
           " magic")
    assert lost_netns(odd, "/run/user/1001") == []
    assert lost_netns("Error: no pod with name or ID x found", "/run/user/1001") == []
