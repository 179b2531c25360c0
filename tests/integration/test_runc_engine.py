"""The runc engine against podman's: same confinement, networking, /etc files, no leftovers."""

from __future__ import annotations

import pytest

from tests.integration.harness import Project, runc_leftovers

pytestmark = pytest.mark.podman

IMAGE = "localhost/busybox:latest"

PROBE = f"""
    version: 1
    jobs:
      probe:
        image: {IMAGE}
        script:
          - grep -E '^(Cap|NoNewPrivs|Seccomp)' /proc/self/status
          - wc -c < /proc/keys
          - echo 1 > /proc/sys/kernel/domainname || echo proc-sys-read-only
          - ip -4 addr show tap0 | grep -o 'inet [0-9./]*'
          - grep -q 10.0.2.3 /etc/resolv.conf && echo resolver-is-slirp
          - echo '192.0.2.9 extra' >> /etc/hosts && grep -c extra /etc/hosts
          - touch /in-rootfs && echo rootfs-writable
          - id -u; awk '$1 == 0 {{print "slice", $2}}' /proc/self/uid_map
          - test -f /run/.containerenv && echo in-a-container
    """


def _probe(project: Project, engine: str) -> list[str]:
    run = project.run("--engine", engine)
    assert run.code == 0, run.out + run.err
    lines = [line.split("| ", 1)[1] for line in run.out.splitlines() if line.startswith("probe | ")]
    return [line for line in lines if not line.startswith(("$ ", "runner: "))]


def test_runc_job_is_confined_exactly_as_a_podman_job(project: Project) -> None:
    project.write(PROBE)
    by_podman = _probe(project, "podman")
    by_runc = _probe(project, "runc")
    assert by_runc[-1] == by_podman[-1] == "in-a-container"
    slices = [line for line in by_runc if line.startswith("slice ")]
    assert slices and slices[0] != "slice 0"
    same = [line for line in by_podman[:-1] if not line.startswith("slice ")]
    assert same == [line for line in by_runc[:-1] if not line.startswith("slice ")]
    assert "Seccomp:\t2" in same and "NoNewPrivs:\t1" in same
    assert "CapAmb:\t0000000000000000" in same
    assert "0" in same  # /proc/keys masked: empty
    assert "proc-sys-read-only" in same and "inet 10.0.2.100/24" in same
    assert "resolver-is-slirp" in same and "rootfs-writable" in same
    assert runc_leftovers() == []


def test_runc_job_on_a_missing_image_falls_back_to_podman(project: Project) -> None:
    """An image podman's store lacks is podman's to pull (here: fail clearly, offline)."""
    project.write("""
        version: 1
        jobs:
          gone:
            image: localhost/no-such-image:1
            script: [echo never]
        """)
    run = project.run("--engine", "runc")
    assert run.code == 1
    assert "could not start" in run.out or "could not be fetched" in run.out, run.out
    assert runc_leftovers() == []
