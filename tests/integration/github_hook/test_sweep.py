"""What abandoned jobs leave is removed: by the next prepare_job of their runner, or prune.

actions/runner runs one job at a time; when it dies, its job's pod stays.
"""

from __future__ import annotations

import asyncio
import os
import secrets
import signal
import subprocess

import pytest

from runner.ghhook.jobdir import hook_root
from runner.ghhook.sweep import sweep_abandoned
from tests.integration.github_hook.harness import (
    BUSYBOX,
    HOOK_SH,
    FakeRunner,
    HookResult,
    hook_dir,
    job_leftovers,
    read_response,
    runner_pods,
    state_of,
)

pytestmark = pytest.mark.podman


def _prepare(fake: FakeRunner, args: dict[str, object]) -> dict[str, object]:
    state = state_of(fake.prepare(args))
    fake.jobs.append(state)
    return state


def test_abandoned_job_is_removed_by_the_next_prepare_job(fake: FakeRunner) -> None:
    abandoned = state_of(fake.prepare({"container": fake.container(BUSYBOX), "services": []}))
    assert job_leftovers(str(abandoned["job"])) != []
    _prepare(fake, {"container": fake.container(BUSYBOX), "services": []})
    assert job_leftovers(str(abandoned["job"])) == []
    assert not hook_dir(str(abandoned["job"])).exists()


def test_a_runner_of_the_same_name_elsewhere_keeps_its_job(fake: FakeRunner) -> None:
    """Two runners may share a name (registered with two repositories) and a VM: one's
    prepare_job must not sweep the other's running job."""
    other = FakeRunner(fake.root.parent / "second-install", name=fake.name)
    running = _prepare(other, {"container": other.container(BUSYBOX), "services": []})
    try:
        _prepare(fake, {"container": fake.container(BUSYBOX), "services": []})
        assert job_leftovers(str(running["job"])) != []
        done = other.call("run_script_step", other.script("echo alive\n", shell="sh"), running)
        assert done.code == 0 and "alive" in done.output
    finally:
        other.call("cleanup_job", {}, running)


def test_runner_prune_removes_a_job_whose_worker_is_gone(fake: FakeRunner) -> None:
    """The worker (the hook's parent) ends without cleanup_job: prune sweeps the job; a job
    whose worker still runs (this test's process) is left alone."""
    alive = _prepare(fake, {"container": fake.container(BUSYBOX), "services": []})
    other = FakeRunner(fake.root.parent / "other", name=f"hook-{secrets.token_hex(4)}")
    line, response = other.input_line("prepare_job", {"container": other.container(BUSYBOX),
                                                      "services": []}, None)
    worker = subprocess.run(["sh", "-c", 'bash -e "$0"; true', str(HOOK_SH)], input=line,
                            text=True, capture_output=True, cwd=other.workspace,
                            env=other.env(), timeout=600, check=False)
    assert worker.returncode == 0, worker.stdout + worker.stderr
    gone = state_of(HookResult(0, "", read_response(response)))
    assert job_leftovers(str(gone["job"])) != []
    assert str(gone["job"]) in asyncio.run(sweep_abandoned(hook_root(os.environ), dry_run=True))
    removed = asyncio.run(sweep_abandoned(hook_root(os.environ)))
    assert str(gone["job"]) in removed and str(alive["job"]) not in removed
    assert job_leftovers(str(gone["job"])) == []
    assert job_leftovers(str(alive["job"])) != []



def test_container_step_of_a_job_without_container_is_kept_while_it_runs_and_cancellable(
        fake: FakeRunner) -> None:
    """A ``docker://`` step of a job with no job container is a job of its own: prune must
    not take it while its worker runs, and cancelling stops its container, whose PID 1
    ignores TERM (KILL follows)."""
    step = {"image": BUSYBOX, "dockerfile": None, "entryPoint": "sh",
            "entryPointArgs": ["-c", '"echo', "started;", "sleep", '600"'],
            "workingDirectory": "/github/workspace", "createOptions": None, "registry": None,
            "environmentVariables": {}, "portMappings": [],
            "systemMountVolumes": fake.step_mounts(), "userMountVolumes": []}
    proc, _ = fake.popen("run_container_step", step, None)
    assert proc.stdout is not None
    assert proc.stdout.readline() == b"started\n"
    running = runner_pods(fake, "container")
    assert len(running) == 1
    asyncio.run(sweep_abandoned(hook_root(os.environ)))
    assert runner_pods(fake, "container") == running
    proc.send_signal(signal.SIGINT)
    assert proc.wait(timeout=120) != 0
    proc.stdout.close()
    assert runner_pods(fake, "container") == []
