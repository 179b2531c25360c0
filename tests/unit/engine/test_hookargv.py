"""Whole-list asserts for ``runner github-hook``'s podman command lines."""

from __future__ import annotations

from runner.engine import hookargv
from runner.engine.hookargv import Bind, HookPod, HookRun, Publish, VolumeMount
from runner.engine.imageref import ImageRef
from runner.pipeline.model import Health

HARDENING = ["--cap-drop", "all", "--cap-add",
             "CHOWN,DAC_OVERRIDE,FOWNER,FSETID,KILL,NET_BIND_SERVICE,SETFCAP,SETGID,SETPCAP,"
             "SETUID,SYS_CHROOT", "--security-opt", "no-new-privileges", "--http-proxy=false"]
LABELS = ["--label", "io.github.runner.run=gh0123456789ab", "--label",
          "io.github.runner.job=github-hook", "--label", "io.github.runner.github-runner=6869"]
IMAGE = ImageRef("docker.io/library/node:20")


def test_pod_maps_every_id_root_included_to_the_slice_and_never_the_user() -> None:
    pod = HookPod(name="gh0123456789ab-pod", job="gh0123456789ab", runner_label="6869",
                  id_base=65537, hosts=("redis",),
                  publish=(Publish(None, 6379), Publish(8080, 80, "udp")))
    assert hookargv.pod_argv(pod) == [
        "podman", "pod", "create", "--name=gh0123456789ab-pod", *LABELS,
        "--uidmap", "0:65537:65536", "--gidmap", "0:65537:65536",
        "--add-host=redis:127.0.0.1",
        "--publish=127.0.0.1::6379/tcp", "--publish=127.0.0.1:8080:80/udp",
    ]


def test_job_container_holds_the_lease_and_has_the_runners_mounts() -> None:
    spec = HookRun(name="gh0123456789ab-job", image=IMAGE, job="gh0123456789ab",
                   runner_label="6869", pod="gh0123456789ab-pod", env_file="/r/job.env",
                   binds=(Bind("/a/_work", "/__w"), Bind("/a/externals", "/__e", True)),
                   volumes=(VolumeMount("gh0123456789ab-data", "/data"),), workdir="/",
                   entrypoint="/bin/sh", args=("-c", "SUPERVISOR"), detach=True,
                   pidfile="/r/pid", preserve_fds=1)
    assert hookargv.run_argv(spec) == [
        "podman", "run", "--detach", "--name=gh0123456789ab-job", *LABELS,
        "--pod=gh0123456789ab-pod", *HARDENING, "--pull=never",
        "--image-volume", "ignore", "--security-opt", "mask=/sys/fs/cgroup",
        "--log-driver", "none", "--pidfile", "/r/pid", "--preserve-fds=1",
        "--env-file", "/r/job.env", "--volume=/a/_work:/__w", "--volume=/a/externals:/__e:ro",
        "--volume=gh0123456789ab-data:/data", "--workdir=/", "--entrypoint=/bin/sh",
        "--", "docker.io/library/node:20", "-c", "SUPERVISOR",
    ]


def test_service_keeps_its_log_and_volumes_and_gets_its_health_check() -> None:
    spec = HookRun(name="gh0123456789ab-svc0", image=ImageRef("docker.io/library/redis:7"),
                   job="gh0123456789ab", runner_label="6869", pod="gh0123456789ab-pod",
                   env_file="/r/s.env", user="999", detach=True, service=True,
                   health=Health("redis-cli ping", interval_s=10, timeout_s=5, retries=5))
    assert hookargv.run_argv(spec) == [
        "podman", "run", "--detach", "--name=gh0123456789ab-svc0", *LABELS,
        "--pod=gh0123456789ab-pod", *HARDENING, "--pull=never",
        "--security-opt", "mask=/sys/fs/cgroup", "--env-file", "/r/s.env", "--user=999",
        "--health-cmd=redis-cli ping", "--health-interval=10s", "--health-timeout=5s",
        "--health-retries=5", "--health-start-period=0s",
        "--", "docker.io/library/redis:7",
    ]


def test_action_step_without_a_pod_gets_the_slice_and_network_itself() -> None:
    spec = HookRun(name="gh0123456789ab-stepab", image=IMAGE, job="gh0123456789ab",
                   runner_label="6869", pod=None, id_base=1, env_file="/r/step.env",
                   workdir="/github/workspace", entrypoint="node", args=("a b", "--x"),
                   network="slirp4netns")
    assert hookargv.run_argv(spec) == [
        "podman", "run", "--rm", "--name=gh0123456789ab-stepab", *LABELS,
        "--uidmap", "0:1:65536", "--gidmap", "0:1:65536", "--network=slirp4netns",
        *HARDENING, "--pull=never",
        "--image-volume", "ignore", "--security-opt", "mask=/sys/fs/cgroup",
        "--log-driver", "none", "--env-file", "/r/step.env",
        "--workdir=/github/workspace", "--entrypoint=node",
        "--", "docker.io/library/node:20", "a b", "--x",
    ]


def test_small_builders() -> None:
    assert hookargv.pod_ports_argv("p") == [
        "podman", "pod", "inspect", "--format", "{{json .InfraConfig.PortBindings}}", "--", "p"]
    assert hookargv.runner_pods_argv("6869") == [
        "podman", "pod", "ps", "--filter", "label=io.github.runner.github-runner=6869",
        "--format", "{{.Name}}"]
    assert hookargv.runner_containers_argv("6869") == [
        "podman", "ps", "--all", "--filter", "label=io.github.runner.github-runner=6869",
        "--format", "{{.Names}}"]
    assert hookargv.healthcheck_argv("s") == ["podman", "healthcheck", "run", "--", "s"]
    assert hookargv.volume_remove_argv(["v"]) == ["podman", "volume", "rm", "--force", "--", "v"]
    assert hookargv.stop_argv("c", 5) == ["podman", "stop", "--ignore", "--time", "5", "--",
                                          "c"]
    assert hookargv.pid_argv("c") == ["podman", "inspect", "--format", "{{.State.Pid}}", "--",
                                      "c"]
