"""Whole-list asserts for pods, services and resource limits."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from runner.engine import argv, podargv
from runner.engine.argv import Resources, StoreSpec
from runner.engine.podargv import PodSpec, ServiceSpec
from tests.unit.engine.test_argv import _spec

POD = PodSpec(name="runner-r1-test-1-pod", run_id="r1", job="test", id_base=65537,
              hosts=("postgres", "db"))


def test_pod_create_carries_the_slice_the_labels_and_the_aliases() -> None:
    assert podargv.pod_create_argv(POD) == [
        "podman", "pod", "create", "--name=runner-r1-test-1-pod",
        "--label", "io.github.runner.run=r1", "--label", "io.github.runner.job=test",
        "--uidmap", "0:65537:65536", "--gidmap", "0:65537:65536",
        "--add-host=postgres:127.0.0.1", "--add-host=db:127.0.0.1",
    ]


def test_pod_create_with_network_and_runtime() -> None:
    pod = PodSpec(name="p", run_id="r", job="j", id_base=1, network="none", runtime="runc")
    assert podargv.pod_create_argv(pod) == [
        "podman", "--runtime", "runc", "pod", "create", "--name=p",
        "--label", "io.github.runner.run=r", "--label", "io.github.runner.job=j",
        "--uidmap", "0:1:65536", "--gidmap", "0:1:65536", "--network", "none",
    ]


def test_service_runs_detached_in_the_pod_with_an_env_file() -> None:
    """Values go through a file, never argv; entrypoint as JSON keeps its words apart."""
    spec = ServiceSpec(name="runner-r1-test-1-pod-svc0", image="localhost/pg:15",
                       env_file=Path("/w/service0.env"), entrypoint=("docker-entrypoint.sh",),
                       command=("postgres", "-c", "fsync=off"),
                       resources=Resources(memory=1 << 30, pids=100, cpus=0.5))
    assert podargv.service_argv(POD, spec) == [
        "podman", "run", "--detach", "--pod=runner-r1-test-1-pod",
        "--name=runner-r1-test-1-pod-svc0", "--label", "io.github.runner.run=r1",
        "--label", "io.github.runner.job=test",
        "--label", "io.github.runner.service=localhost/pg:15",
        "--cap-drop", "all", "--cap-add",
        "CHOWN,DAC_OVERRIDE,FOWNER,FSETID,KILL,NET_BIND_SERVICE,SETFCAP,SETGID,SETPCAP,SETUID,"
        "SYS_CHROOT",
        "--security-opt", "no-new-privileges", "--http-proxy=false",
        "--pull=missing",
        "--env-file", "/w/service0.env",
        "--memory", "1073741824", "--memory-swap", "1073741824", "--pids-limit", "100",
        "--cpus", "0.5",
        '--entrypoint=["docker-entrypoint.sh"]', "--", "localhost/pg:15",
        "postgres", "-c", "fsync=off",
    ]


def test_service_without_limits_has_its_cgroup_tmpfs_masked() -> None:
    """podman's /sys/fs/cgroup tmpfs (cgroup v1, no size) is hidden, its volumes kept."""
    spec = ServiceSpec(name="s", image="localhost/pg:15", env_file=Path("/w/e"))
    got = podargv.service_argv(POD, spec)
    at = got.index("--env-file")
    assert got[at:at + 4] == ["--env-file", "/w/e", "--security-opt", "mask=/sys/fs/cgroup"]
    assert "--image-volume" not in got


def test_pod_remove_list_and_inspect() -> None:
    assert podargv.pod_remove_argv("p") == [
        "podman", "pod", "rm", "--force", "--ignore", "--time", "0", "--", "p"]
    assert podargv.run_pods_argv("r1") == [
        "podman", "pod", "ps", "--filter", "label=io.github.runner.run=r1", "--format",
        "{{.Name}}"]
    assert podargv.exposed_ports_argv(["a", "b"]) == [
        "podman", "image", "inspect", "--format", "{{json .Config.ExposedPorts}}", "--", "a", "b"]


def test_a_pod_in_a_tenant_store_keeps_every_call_there() -> None:
    """A pod's containers share one store: create, services, removal, sweeps, inspects."""
    store = StoreSpec(Path("/d/builds/t1"), Path("/run/builds/t1"))
    opts = ["--root", "/d/builds/t1", "--runroot", "/run/builds/t1", "--storage-driver",
            "overlay"]
    pod = PodSpec(name="p", run_id="r", job="j", id_base=1, runtime="runc", store=store)
    assert podargv.pod_create_argv(pod)[:8] == ["podman", *opts, "--runtime"]
    spec = ServiceSpec(name="p-svc0", image="reg.example/pg:15", env_file=Path("/w/e"))
    assert podargv.service_argv(pod, spec)[:10] == ["podman", *opts, "--runtime", "runc", "run"]
    assert podargv.pod_remove_argv("p", "runc", store) == [
        "podman", *opts, "--runtime", "runc", "pod", "rm", "--force", "--ignore", "--time", "0",
        "--", "p"]
    assert podargv.run_pods_argv("r1", store) == [
        "podman", *opts, "pod", "ps", "--filter", "label=io.github.runner.run=r1", "--format",
        "{{.Name}}"]
    assert podargv.exposed_ports_argv(["a"], store) == [
        "podman", *opts, "image", "inspect", "--format", "{{json .Config.ExposedPorts}}", "--", "a"]
    assert podargv.logs_argv("p-svc0", 5, store) == ["podman", *opts, "logs", "--tail", "5",
                                                     "--", "p-svc0"]
    assert podargv.state_argv("p-svc0", store) == [
        "podman", *opts, "inspect", "--format", "{{.State.Status}} {{.State.ExitCode}}",
        "--", "p-svc0"]
    assert argv.list_containers_argv("l=v", store) == [
        "podman", *opts, "ps", "--all", "--external", "--filter", "label=l=v", "--format",
        "{{.Names}}"]


def test_job_container_in_a_pod_takes_the_pods_slice_and_network() -> None:
    """podman refuses a uidmap on a pod member; the network is the pod's."""
    got = argv.job_container_argv(_spec(pod="runner-r1-build-1-pod", network="none"), "S")
    assert got[:10] == [
        "podman", "run", "--rm", "--interactive", "--name=runner-r1-build-1",
        "--label", "io.github.runner.run=r1", "--label", "io.github.runner.job=build",
        "--pod=runner-r1-build-1-pod"]
    assert "--uidmap" not in got and "--gidmap" not in got and "--network" not in got


def test_job_container_resources() -> None:
    got = argv.job_container_argv(_spec(resources=Resources(memory=512 << 20, pids=64)), "S")
    at = got.index("--memory")
    assert got[at:at + 6] == ["--memory", "536870912", "--memory-swap", "536870912",
                              "--pids-limit", "64"]
    assert "--cpus" not in got
    assert Resources().options() == []
    # a job with cgroup limits (cgroup v2 only) keeps its cgroup mount to read them
    assert got[at + 6:at + 8] == ["--image-volume", "ignore"]
    assert "mask=/sys/fs/cgroup" not in got


def test_rebind_netns_mounts_an_empty_namespace_on_each_lost_file() -> None:
    paths = [Path("/run/user/1001/netns/netns-a"), Path("/run/user/1001/netns/netns-b")]
    assert podargv.rebind_netns_argv(paths) == [
        "podman", "unshare", "sh", "-c",
        'for f; do grep -qF " $f " /proc/self/mountinfo || unshare --net mount --bind'
        ' /proc/self/ns/net "$f"; done',
        "sh", "/run/user/1001/netns/netns-a", "/run/user/1001/netns/netns-b"]


def test_health_exec_reads_the_command_from_stdin() -> None:
    """The command never reaches argv (a secret may be in it): sh reads it from stdin."""
    assert podargv.health_exec_argv("p-svc0") == [
        "podman", "exec", "--interactive", "--", "p-svc0", "/bin/sh", "-c",
        podargv.HEALTH_SCRIPT]
    store = StoreSpec(Path("/d/builds/t1"), Path("/run/builds/t1"))
    assert podargv.health_exec_argv("--rm", "runc", store) == [
        "podman", "--root", "/d/builds/t1", "--runroot", "/run/builds/t1", "--storage-driver",
        "overlay", "--runtime", "runc", "exec", "--interactive", "--", "--rm", "/bin/sh", "-c",
        podargv.HEALTH_SCRIPT]


@pytest.mark.parametrize(("command", "code", "output"), [
    ("echo one; echo two", 0, "one\ntwo\n"),
    ("test -f /nonexistent", 1, ""),
    ("x='a  b'; echo \"$x\" && exit 3", 3, "a  b\n"),
    ("printf 'multi\\n'\nfalse", 1, "multi\n"),
    ("if true; then\n  echo in-if\nfi", 0, "in-if\n"),
    ("cat; echo after", 0, "after\n"),
])
def test_health_script_runs_the_command_as_sh_c_would(command: str, code: int,
                                                      output: str) -> None:
    """The stdin reader runs every kind of command as ``sh -c`` does, its stdin empty."""
    done = subprocess.run(["/bin/sh", "-c", podargv.HEALTH_SCRIPT], input=command + "\n",
                          capture_output=True, text=True, timeout=30, check=False)
    assert (done.returncode, done.stdout) == (code, output)
    direct = subprocess.run(["/bin/sh", "-c", command], capture_output=True, text=True,
                            timeout=30, check=False, stdin=subprocess.DEVNULL)
    assert (direct.returncode, direct.stdout) == (code, output)


def test_a_docker_jobs_socket_and_certificates_follow_its_own_mounts() -> None:
    mounts = ((Path("/run/user/1/runner/dind/t/docker.sock"), "/var/run/docker.sock"),
              (Path("/w/docker/certs/client"), "/certs/client"))
    got = argv.job_container_argv(_spec(pod="p", mounts=mounts), "S")
    at = got.index("--workdir")
    assert got[at - 2:at] == ["--volume=/run/user/1/runner/dind/t/docker.sock:/var/run/docker.sock",
                              "--volume=/w/docker/certs/client:/certs/client"]
