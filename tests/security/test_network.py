"""A job reaches for the host's loopback services, and for the runner's own environment.

Services bound to 127.0.0.1 / ::1 on a build server (an agent's metrics
port, a local registry, a database for the host's own use) trust everything
that can connect. Jobs get slirp4netns without ``allow_host_loopback``, so
slirp's gateway (10.0.2.2, fd00::2) does not lead to the host's loopback;
``--network slirp4netns:allow_host_loopback=true`` is the per-run opt-in.
"""

from __future__ import annotations

import re

import pytest

from tests.integration.harness import Project
from tests.security.conftest import IMAGE, LoopbackServices, host_addresses, token

pytestmark = pytest.mark.podman

OPT_IN = "slirp4netns:allow_host_loopback=true"


def _probe_pipeline(services: LoopbackServices, pod: bool) -> str:
    """A job that connects to every way the host's loopback might be named, and prints
    whatever answers (the listeners greet with ``services.banner``). With ``pod``, the job
    has a service, so it runs in a pod whose network the pod sets up."""
    targets = []
    for listening, port in services.ports.items():
        gateway = "10.0.2.2" if ":" not in listening else "fd00::2"
        names = [gateway, listening, *host_addresses(), "host.containers.internal"]
        targets += [f"{name} {port}" for name in names]
    tries = " ".join(f'"{target}"' for target in targets)
    service = f"services: [{{image: {IMAGE}, command: [sleep, '600']}}]" if pod else ""
    return f"""
        version: 1
        jobs:
          probe:
            image: {IMAGE}
            {service}
            script:
              - 'for t in {tries}; do echo "try $t"; nc -w 2 $t </dev/null 2>&1 || true; done'
              - echo probes-done
        """


@pytest.mark.parametrize("pod", [False, True], ids=["plain", "with-service"])
def test_host_loopback_unreachable_by_default(project: Project,
                                              loopback_services: LoopbackServices,
                                              pod: bool) -> None:
    """Through slirp's gateway, the job's own loopback, the host's addresses and
    host.containers.internal, no connection reaches a service on the host's loopback; nor
    from a job with services, whose network is its pod's."""
    project.write(_probe_pipeline(loopback_services, pod))
    run = project.run()
    assert run.code == 0, run.out + run.err
    log = project.log("probe")
    assert "probes-done" in log
    tried = re.findall(r"^try ", log, re.MULTILINE)
    assert len(tried) == len(loopback_services.ports) * (3 + len(host_addresses()))
    assert loopback_services.banner not in log
    assert loopback_services.clients == []


@pytest.mark.parametrize("pod", [False, True], ids=["plain", "with-service"])
def test_opt_in_reaches_host_loopback(project: Project, loopback_services: LoopbackServices,
                                      pod: bool) -> None:
    """The opt-in works (so the test above can fail): with allow_host_loopback, the same
    probe reaches the host's 127.0.0.1 (and ::1) through the gateway."""
    project.write(_probe_pipeline(loopback_services, pod))
    run = project.run("--network", OPT_IN)
    assert run.code == 0, run.out + run.err
    log = project.log("probe")
    assert loopback_services.banner in log
    reached = {client.split(" <- ")[0] for client in loopback_services.clients}
    assert reached == set(loopback_services.ports)


def test_runner_environment_stays_out_of_jobs(project: Project) -> None:
    """Nothing from the environment ``runner exec`` was started with reaches a job unless the
    pipeline passes it: not a stray variable, not the operator's proxy credentials."""
    proxy_password, stray = token("proxypass"), token("stray")
    project.write(f"""
        version: 1
        jobs:
          look:
            image: {IMAGE}
            script: ["echo \\"env=$(env | od -An -tx1 -v | tr -d ' \\\\n')\\""]
        """)
    run = project.run(https_proxy=f"http://ci:{proxy_password}@127.0.0.1:3128",
                      HTTP_PROXY=f"http://ci:{proxy_password}@127.0.0.1:3128",
                      STRAY_HOST_VARIABLE=stray)
    assert run.code == 0, run.out + run.err
    line = next(line for line in project.log("look").splitlines() if line.startswith("env="))
    env = bytes.fromhex(line.removeprefix("env="))
    assert b"CI_JOB_NAME=look" in env  # control: the probe read the job's environment
    assert stray.encode() not in env
    assert proxy_password.encode() not in env
