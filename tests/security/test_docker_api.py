# ruff: noqa: E501 - job scripts are written as users write them, one command a line
"""Attacks through a job's Docker API (issue 21): each must be tried for real, and fail.

Every refused option is tried with the docker CLI (each attempt's control is
the plain run that works in the same job); podman's own libpod API is tried
with a raw request; a job tries to see, exec into and stop another running
job's container; and a run killed mid-job must leave no container and no
API service behind.
"""

from __future__ import annotations

import os
import signal
import subprocess
import textwrap
import time

import pytest

from tests.integration.harness import Project, Tenants, podman_leftovers, wait_for_line
from tests.integration.test_docker_jobs import DOCKER_IMAGE, docker_image  # noqa: F401

pytestmark = [pytest.mark.podman, pytest.mark.usefixtures("docker_image")]

HEADER = f"""
default:
  image: {DOCKER_IMAGE}
  services: [docker:dind]
"""
SERVICE_GONE_S = 120.0
"""How long a killed run's API service may take to idle out (30 s) before it counts as left."""


def write(project: Project, jobs: str) -> None:
    (project.root / ".gitlab-ci.yml").write_text(HEADER + textwrap.dedent(jobs))


REFUSED = [
    ("--privileged", "--privileged"),
    ("--cap-add SYS_ADMIN", "--cap-add"),
    ("--device /dev/fuse", "--device"),
    ("--pid host", "--pid=host"),
    ("--network host", "--network=host"),
    ("--userns host", "--userns=host"),
    ("--ipc host", "--ipc=host"),
    ("--security-opt seccomp=unconfined", "--security-opt"),
    ("-v /etc:/host-etc", "bind mount '/etc' not allowed"),
    ("-v /:/host", "bind mount '/' not allowed"),
    ("-v $CI_PROJECT_DIR/out:/x", "out is a symbolic link"),
    ("--mount type=volume,src=v,dst=/x,volume-opt=type=none,volume-opt=o=bind,volume-opt=device=/etc", "volume driver options"),
]


def test_every_way_out_is_refused_with_a_clear_error(project: Project, tenants: Tenants) -> None:
    tenants.add(project)
    lines = ["ln -s / out", "docker run --rm localhost/busybox:latest echo control-ran"]
    lines += [f"docker run --rm {options} localhost/busybox:latest echo escaped || echo refused-{n}"
              for n, (options, _) in enumerate(REFUSED)]
    lines += [
        "docker volume create --opt type=none --opt o=bind --opt device=/etc hostetc || echo refused-volume",
        "docker run -d --name c localhost/busybox:latest sleep 60",
        "docker exec --privileged c echo escaped || echo refused-exec",
        # podman's own API would take any option: not even reachable
        "exec 3<>/dev/tcp/docker/2375; printf 'POST /v4.0.0/libpod/containers/create HTTP/1.1\\r\\nHost: d\\r\\nContent-Length: 2\\r\\n\\r\\n{}' >&3; cat <&3",
        "docker rm -f c",
    ]
    script = "\n".join(f"    - {line}" if not line.startswith("exec 3") else f"    - |\n      {line}"
                       for line in lines)
    write(project, f"attack:\n  variables: {{DOCKER_HOST: 'tcp://docker:2375'}}\n  script:\n{script}\n")
    done = project.run(".gitlab-ci.yml", timeout=600)
    log = project.log("attack")
    assert done.code == 0, log
    assert "control-ran" in log
    assert "\nescaped" not in log
    for n, (_, reason) in enumerate(REFUSED):
        assert f"refused-{n}" in log
        assert reason in log, reason
    assert "refused-volume" in log and "refused-exec" in log
    assert "HTTP/1.1 403 Forbidden" in log
    assert "does not offer POST /v4.0.0/libpod/containers/create" in log


def test_a_job_cannot_see_or_touch_another_jobs_containers(project: Project, tenants: Tenants) -> None:
    tenants.add(project)
    write(project, """
        victim:
          script:
            - docker run -d --name secret localhost/busybox:latest sleep 120
            - docker ps -a --format 'victim-sees {{.Names}}'
            - touch $CI_PROJECT_DIR/started; sleep 25
            - docker ps --format 'still {{.Names}}'
        attacker:
          script:
            - sleep 10
            - docker ps -a --format 'attacker-sees {{.Names}}'
            - docker exec secret echo got-in || echo no-exec
            - docker stop secret || echo no-stop
            - docker ps -a -q | wc -l | sed 's/^/count=/'
    """)
    done = project.run(".gitlab-ci.yml", timeout=600)
    victim, attacker = project.log("victim"), project.log("attacker")
    assert done.code == 0, victim + attacker
    assert "victim-sees runner-" in victim and "still runner-" in victim  # the control
    assert "attacker-sees runner-" not in attacker
    assert "\ngot-in" not in attacker and "no-exec" in attacker and "no-stop" in attacker
    assert "No such container: secret" in attacker
    assert "count=0" in attacker


def _services_of(tag: str) -> list[str]:
    """Running ``podman system service`` processes whose socket dir is under ``tag``."""
    found = subprocess.run(["pgrep", "-f", f"system service --time 30 unix://{tag}"],
                           capture_output=True, text=True, check=False, timeout=30)
    return found.stdout.split()


def test_a_killed_run_leaves_no_container_and_no_service(project: Project, tenants: Tenants) -> None:
    tenants.add(project)
    runtime = os.environ.get("XDG_RUNTIME_DIR", "")
    write(project, """
        crash:
          script:
            - docker run -d --name left localhost/busybox:latest sleep 300
            - echo dind-ready
            - sleep 300
    """)
    before = set(_services_of(f"{runtime}/runner/dind/"))
    proc = project.start(".gitlab-ci.yml")
    wait_for_line(proc, "dind-ready", timeout=300)
    ours = set(_services_of(f"{runtime}/runner/dind/")) - before
    assert ours, "the job's API service was running"
    proc.send_signal(signal.SIGKILL)  # the runner only: its service runs in its own session
    proc.wait(timeout=60)
    for stream in (proc.stdout, proc.stderr):
        if stream is not None:
            stream.close()
    deadline = time.monotonic() + SERVICE_GONE_S
    while set(_services_of(f"{runtime}/runner/dind/")) & ours and time.monotonic() < deadline:
        time.sleep(1)
    assert not set(_services_of(f"{runtime}/runner/dind/")) & ours
    write(project, "after:\n  image: localhost/busybox:latest\n  script: [echo swept]\n")
    assert project.run(".gitlab-ci.yml", timeout=300).code == 0
    assert not [name for name in podman_leftovers() if "-crash-" in name]
