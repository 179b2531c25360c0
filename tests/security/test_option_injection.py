"""A tenant's image names cannot become podman options (issue 14, H1).

The attack that found the hole: in the native format, a service whose image is
``--label=x.y/z`` reached ``podman run`` as an option, and its ``command`` went on
with ``--pod= --volume=/:/h IMAGE sh -c ...``, so podman started a container
outside the job's pod, as the runner user, with the host's ``/`` mounted
read-write. Now every image is parsed against the OCI reference grammar
(``runner.engine.imageref``) before any argv is built, and builders put ``--``
before positionals; ``tests/unit/engine/test_argv_injection.py`` feeds every
builder ``-``-leading values. These tests make the attack for real.
"""

from __future__ import annotations

import subprocess
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from tests.agent.fake_gitlab import FakeGitLab
from tests.agent.harness import AgentProcess, GitRepo, job
from tests.agent.payloads import DEFAULT_FAILURE_REASONS
from tests.integration.harness import Project
from tests.security.conftest import IMAGE, TOOL_TIMEOUT

pytestmark = pytest.mark.podman

LABEL = "x.y/z"
"""The label the smuggled option puts on the escaped container (for clean-up on failure)."""


@pytest.fixture
def host_marker(tmp_path: Path) -> Iterator[Path]:
    """Where an escaped container with the host's / mounted at /h would write."""
    marker = tmp_path / "escaped"
    try:
        yield marker
    finally:  # on the old code the escaped container outlives the run: take it away
        found = subprocess.run(["podman", "ps", "-aq", "--filter", f"label={LABEL}"],
                               capture_output=True, text=True, timeout=TOOL_TIMEOUT,
                               check=False).stdout.split()
        if found:
            subprocess.run(["podman", "rm", "-f", "-t", "0", *found], capture_output=True,
                           timeout=TOOL_TIMEOUT, check=False)


def escape_command(marker: Path) -> list[str]:
    """The rest of the smuggled ``podman run``: leave the pod, mount the host, write there."""
    return ["--pod=", "--volume=/:/h", IMAGE, "sh", "-c", f"touch /h{marker}; sleep 2"]


def test_service_image_cannot_smuggle_podman_options(project: Project,
                                                      host_marker: Path) -> None:
    """The native format refuses the image, naming file, line and key; nothing starts."""
    command = ", ".join(f"'{word}'" for word in escape_command(host_marker))
    project.write(f"""
        version: 1
        image: {IMAGE}
        jobs:
          a:
            services:
              - image: '--label={LABEL}'
                command: [{command}]
            script: ['sleep 3']
        """)
    run = project.run()
    assert not host_marker.exists(), "a service image reached podman as an option"
    assert run.code == 2, run.out + run.err
    assert "pipeline.yml:7" in run.err and "jobs.a.services[0].image" in run.err, run.err
    assert f"'--label={LABEL}' is not an image reference" in run.err, run.err
    assert "Traceback" not in run.err


def test_job_image_like_an_option_is_refused(project: Project, host_marker: Path) -> None:
    """The same through a job's own image (the job container's argv)."""
    project.write(f"""
        version: 1
        jobs:
          a:
            image: '--volume=/:/h'
            script: ['touch /h{host_marker}']
        """)
    run = project.run()
    assert not host_marker.exists()
    assert run.code == 2, run.out + run.err
    assert "'--volume=/:/h' is not an image reference" in run.err, run.err


def test_coordinators_image_like_an_option_fails_the_job(
        gl: FakeGitLab, repo: GitRepo, agent: Callable[..., AgentProcess],
        host_marker: Path) -> None:
    """What GitLab sends is a tenant's text too: a job whose image or service image is an
    option fails with ``image_pull_failure`` (as gitlab-runner's does for a name it cannot
    pull), and nothing reaches the host."""
    reasons = (*DEFAULT_FAILURE_REASONS, "image_pull_failure")
    as_job = gl.add_job(job(repo, image=f"--label={LABEL}", failure_reasons=reasons,
                            script=[f"touch /h{host_marker}"]))
    as_service = gl.add_job(job(repo, failure_reasons=reasons, script=["sleep 3"], services=[
        {"name": f"--label={LABEL}", "command": escape_command(host_marker)}]))
    agent(concurrent=1)
    for job_id in (as_job, as_service):
        assert gl.wait(job_id) == "failed", gl.dump(job_id)
        final = gl.final_update(job_id)
        assert final is not None and final["failure_reason"] == "image_pull_failure"
        assert "is not an image reference" in gl.trace(job_id).decode(), gl.dump(job_id)
    assert not host_marker.exists()
