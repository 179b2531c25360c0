"""Whole-list asserts for every podman argv builder."""

from __future__ import annotations

from pathlib import Path

from runner.engine import argv
from runner.engine.imageref import qualified_image


def _spec(**over: object) -> argv.ContainerSpec:
    fields: dict[str, object] = {
        "name": "runner-r1-build-1", "image": "localhost/busybox", "run_id": "r1",
        "job": "build", "workspace": Path("/p/.runner/work/r1/build.1/ws"),
        "project_dir": "/builds/p", "control": Path("/p/.runner/work/r1/build.1/ctl"),
        "pidfile": Path("/p/.runner/work/r1/build.1/pid"),
        "id_base": 65537,
    }
    fields.update(over)
    return argv.ContainerSpec(**fields)  # type: ignore[arg-type]


def test_job_container_argv_defaults() -> None:
    """A job container: --rm, own uid/gid slice, no new privileges, no podman log, supervisor."""
    assert argv.job_container_argv(_spec(), "SUP") == [
        "podman", "run", "--rm", "--interactive", "--name=runner-r1-build-1",
        "--label", "io.github.runner.run=r1", "--label", "io.github.runner.job=build",
        "--uidmap", "0:65537:65536", "--gidmap", "0:65537:65536",
        "--cap-drop", "all", "--cap-add",
        "CHOWN,DAC_OVERRIDE,FOWNER,FSETID,KILL,NET_BIND_SERVICE,SETFCAP,SETGID,SETPCAP,SETUID,"
        "SYS_CHROOT",
        "--security-opt", "no-new-privileges", "--http-proxy=false",
        "--log-driver", "none", "--pull=missing",
        "--pidfile", "/p/.runner/work/r1/build.1/pid",
        "--image-volume", "ignore", "--security-opt", "mask=/sys/fs/cgroup",
        "--volume", "/p/.runner/work/r1/build.1/ws:/builds/p",
        "--volume", "/p/.runner/work/r1/build.1/ctl:/.runner",
        "--workdir", "/", "--entrypoint", "/bin/sh", "--", "localhost/busybox", "-c", "SUP",
    ]


def test_job_container_argv_runtime_network_pull() -> None:
    """Runtime goes before the subcommand; network and pull policy are passed through."""
    got = argv.job_container_argv(_spec(runtime="runc", network="none", pull="never"), "S")
    assert got[:4] == ["podman", "--runtime", "runc", "run"]
    assert "--pull=never" in got
    assert got[got.index("--network") + 1] == "none"


def test_signal_argv() -> None:
    """Signals reach the supervisor through podman kill."""
    assert argv.signal_argv("c1", "TERM") == ["podman", "kill", "--signal", "TERM", "--", "c1"]


def test_force_remove_argv() -> None:
    """Force removal kills at once and ignores names already gone."""
    assert argv.force_remove_argv(["a", "b"]) == [
        "podman", "rm", "--force", "--ignore", "--time", "0", "--", "a", "b",
    ]
    assert argv.force_remove_argv(["a"], "runc")[:3] == ["podman", "--runtime", "runc"]


def test_list_containers_argv() -> None:
    """Listing includes stopped and external (buildah) containers, names only."""
    assert argv.list_containers_argv("io.github.runner.run=r1") == [
        "podman", "ps", "--all", "--external", "--filter", "label=io.github.runner.run=r1",
        "--format", "{{.Names}}",
    ]


def test_written_paths_argv() -> None:
    """A container's whole record, as JSON, in its own store."""
    assert argv.written_paths_argv("c1") == [
        "podman", "container", "inspect", "--format", "json", "--", "c1"]
    assert argv.written_paths_argv("c1", "crun")[:3] == ["podman", "--runtime", "crun"]


INSPECT = """[{"GraphDriver": {"Name": "overlay", "Data": {"UpperDir": "/s/overlay/abc/diff"}},
  "HostsPath": "/run/c/infra/userdata/hosts",
  "ResolvConfPath": "/run/c/infra/userdata/resolv.conf",
  "HostnamePath": "/run/c/job/userdata/hostname",
  "State": {"Pid": 4242},
  "Mounts": [{"Type": "bind", "Source": "/p/ws", "Destination": "/builds/p"},
             {"Type": "volume", "Source": "/s/volumes/0a1b/_data", "Destination": "/data"}]}]"""
DIRS = (Path("/s/overlay/abc/diff"), Path("/run/c/infra/userdata"), Path("/run/c/job/userdata"),
        Path("/s/volumes/0a1b/_data"))


def test_written_dirs_are_the_upper_dir_the_etc_files_dirs_and_volumes() -> None:
    """Each dir once; a pod's infra container's dir for the files a job shares with it;
    volumes but not runner's own bind mounts (counted already); PID 1's host pid."""
    assert argv.written_dirs(INSPECT) == argv.Written(DIRS, 4242)


def test_written_dirs_skip_podmans_warnings_and_what_is_missing() -> None:
    warned = 'time="x" level=warning msg="[ignored]"\n' + INSPECT.replace(
        '"HostsPath": "/run/c/infra/userdata/hosts"', '"HostsPath": ""').replace(
        '"Pid": 4242', '"Pid": 0')
    assert argv.written_dirs(warned) == argv.Written(DIRS)
    nothing = argv.Written()
    assert argv.written_dirs('[{"HostsPath": "relative/hosts", "HostnamePath": "/h"}]') == nothing
    assert argv.written_dirs("Error: no such container c1") == nothing
    assert argv.written_dirs("[]") == nothing
    assert argv.written_dirs('[{"Mounts": "bogus"}]') == nothing


def test_unshare_argv() -> None:
    """A command is wrapped in podman unshare unchanged."""
    assert argv.unshare_argv(["python3", "-m", "x"]) == ["podman", "unshare", "python3", "-m", "x"]


def test_qualified_image_writes_docker_hub_out() -> None:
    """Short names are docker.io's: podman's local short-name match must never decide."""
    assert qualified_image("alpine") == "docker.io/library/alpine"
    assert qualified_image("alpine:3.20") == "docker.io/library/alpine:3.20"
    assert qualified_image("team/app:1") == "docker.io/team/app:1"
    assert qualified_image("localhost/busybox:latest") == "localhost/busybox:latest"
    assert qualified_image("quay.io/x/y") == "quay.io/x/y"
    assert qualified_image("reg:5000/x") == "reg:5000/x"
    assert qualified_image("sha256:" + "a" * 64) == "sha256:" + "a" * 64


def test_store_spec_round_trips_through_json() -> None:
    """Slice markers and agent job records name a store this way; anything else is None."""
    store = argv.StoreSpec(Path("/d/builds/t1"), Path("/run/builds/t1"), "vfs")
    assert argv.StoreSpec.from_json(store.to_json()) == store
    assert argv.StoreSpec.from_json({"root": "/d/builds/t1"}) is None
    assert argv.StoreSpec.from_json(["/d"]) is None
    assert argv.StoreSpec.from_json(None) is None
