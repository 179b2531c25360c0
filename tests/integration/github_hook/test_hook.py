"""``runner github-hook`` driven as actions/runner drives its container hooks.

Each test plays the runner's part (``harness``): the recorded input
JSON with its nulls, the empty response file, ``bash -e runner-hook.sh``.
"""

from __future__ import annotations

import os
import secrets
import signal
import urllib.request
from pathlib import Path

import pytest

from tests.integration.github_hook.harness import (
    BUSYBOX,
    CI_IMAGE,
    FakeRunner,
    hook_dir,
    job_leftovers,
    runner_pods,
    state_of,
)

pytestmark = pytest.mark.podman


def _prepare(fake: FakeRunner, args: dict[str, object]) -> dict[str, object]:
    found = fake.prepare(args)
    state = state_of(found)
    fake.jobs.append(state)
    return state


def test_container_job_two_run_steps_share_files_and_failure_is_the_exit_status(
        fake: FakeRunner) -> None:
    prepared = fake.prepare({"container": fake.container(CI_IMAGE), "services": []})
    state = state_of(prepared)
    fake.jobs.append(state)
    response = prepared.response
    assert response is not None
    assert response["isAlpine"] is False
    assert response["context"] == {"container": {"id": state["container"],
                                                 "network": state["pod"]}, "services": []}
    env_file = fake.temp / "_runner_file_commands" / "set_env_1"
    env_file.write_text("")  # the runner makes each file-command file before the step
    first = fake.script('echo one > shared.txt\necho "FROM_STEP=yes" >> "$GITHUB_ENV"\n'
                        'echo "home=$HOME"\n')
    first["environmentVariables"]["GITHUB_ENV"] = (  # type: ignore[index]
        "/__w/_temp/_runner_file_commands/set_env_1")
    done = fake.call("run_script_step", first, state)
    assert done.code == 0, done.output
    assert "home=/github/home" in done.output
    assert env_file.read_text() == "FROM_STEP=yes\n"
    shared = fake.workspace / "shared.txt"
    assert shared.stat().st_uid != os.getuid()  # the job's root is its slice's, not the user
    assert shared.read_text() == "one\n"  # ... and the runner reads what the job wrote

    second = fake.script('cat shared.txt\necho "path=$PATH"\necho "secret=$MY_SECRET"\n'
                         'env | grep INPUT_ || true\n')
    second["environmentVariables"] |= {"MY_SECRET": "it's a 'value'\nline2",  # type: ignore
                                       "INPUT_MY-KEY": "dashed"}
    second["prependPath"] = ["/opt/tool/bin", "/opt/other/bin"]
    done = fake.call("run_script_step", second, state)
    assert done.code == 0, done.output
    assert "one\n" in done.output
    assert "path=/opt/tool/bin:/opt/other/bin:/usr/local/sbin" in done.output
    assert "secret=it's a 'value'\nline2" in done.output
    assert "INPUT_MY-KEY=dashed" in done.output

    failing = fake.call("run_script_step", fake.script("echo before\nexit 7\necho after\n"),
                        state)
    assert failing.code == 7
    assert "before" in failing.output and "after" not in failing.output
    missing_dir = fake.script("true\n")
    missing_dir["workingDirectory"] = "/__w/demo/demo/nowhere"
    assert fake.call("run_script_step", missing_dir, state).code != 0


def test_service_reached_by_alias_and_by_mapped_port(fake: FakeRunner, web_image: str) -> None:
    service = fake.container(web_image, ports=["80"], job=False)
    prepared = fake.prepare({"container": fake.container(BUSYBOX), "services": [service]})
    state = state_of(prepared)
    fake.jobs.append(state)
    assert prepared.response is not None
    services = prepared.response["context"]["services"]  # type: ignore[index]
    assert len(services) == 1
    port = services[0]["ports"]["80"]
    assert port.isdigit()
    assert services[0]["network"] == state["pod"]
    done = fake.call("run_script_step", fake.script(
        "wget -qO- http://runner-hook-web/index.html\n", shell="sh"), state)
    assert done.code == 0, done.output
    assert "hello from web" in done.output
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/index.html", timeout=30) as reply:
        assert reply.read() == b"hello from web\n"


def test_javascript_action_runs_with_the_runners_node_from_externals(
        tmp_path: Path, busybox_image: str, node_binary: Path) -> None:
    fake = FakeRunner(tmp_path / "actions-runner", name=f"hook-{secrets.token_hex(4)}",
                      node=node_binary)
    state = state_of(fake.prepare({"container": fake.container(CI_IMAGE), "services": []}))
    try:
        action = fake.work / "_actions" / "acme" / "greet" / "v 1" / "dist"
        action.mkdir(parents=True)
        (action / "index.js").write_text(
            "const fs = require('fs');\n"
            "console.log(`hello ${process.env['INPUT_WHO']} from node ${process.version}`);\n"
            "fs.appendFileSync(process.env.GITHUB_OUTPUT, 'greeting=hi\\n');\n")
        outputs = fake.temp / "_runner_file_commands" / "set_output_1"
        outputs.write_text("")
        step = {"entryPointArgs": ['"/__w/_actions/acme/greet/v', '1/dist/index.js"'],
                "entryPoint": "/__e/node20/bin/node",
                "environmentVariables": {
                    "INPUT_WHO": "world",
                    "GITHUB_OUTPUT": "/__w/_temp/_runner_file_commands/set_output_1"},
                "prependPath": [], "workingDirectory": "/__w/demo/demo"}
        done = fake.call("run_script_step", step, state)
        assert done.code == 0, done.output
        assert "hello world from node v20." in done.output
        assert outputs.read_text() == "greeting=hi\n"
    finally:
        assert fake.call("cleanup_job", {}, state).code == 0
    assert job_leftovers(str(state["job"])) == []


def _step(fake: FakeRunner, image: str | None, *, dockerfile: Path | None = None,
          entry: str | None = None, args: list[str] | None = None,
          env: dict[str, str] | None = None) -> dict[str, object]:
    return {"image": image, "dockerfile": None if dockerfile is None else str(dockerfile),
            "entryPointArgs": args or [], "entryPoint": entry,
            "workingDirectory": "/github/workspace", "createOptions": None, "registry": None,
            "environmentVariables": env or {}, "portMappings": [],
            "systemMountVolumes": fake.step_mounts(), "userMountVolumes": []}


def test_dockerfile_action_is_built_rootless_cached_and_run_in_the_jobs_pod(
        fake: FakeRunner, web_image: str) -> None:
    service = fake.container(web_image, ports=[], job=False)
    state = _prepare(fake, {"container": fake.container(BUSYBOX), "services": [service]})
    action = fake.work / "_actions" / "acme" / "dock" / "v1"
    action.mkdir(parents=True)
    (action / "Dockerfile").write_text(
        f"FROM {BUSYBOX}\nCOPY entrypoint.sh /entrypoint.sh\n"
        'ENTRYPOINT ["/bin/sh", "/entrypoint.sh"]\n')
    (action / "entrypoint.sh").write_text(
        'echo "input=$INPUT_NAME args=$*"\n'
        "echo made > /github/workspace/from-action.txt\n"
        "wget -qO- http://runner-hook-web/index.html\n")
    step = _step(fake, None, dockerfile=action / "Dockerfile", args=["one", "two"],
                 env={"INPUT_NAME": "dock"})
    first = fake.call("run_container_step", step, state)
    assert first.code == 0, first.output
    assert "input=dock args=one two" in first.output
    assert "hello from web" in first.output  # the job's network: its service by alias
    assert (fake.workspace / "from-action.txt").read_text() == "made\n"
    again = fake.call("run_container_step", step, state)
    assert again.code == 0, again.output
    assert "Using cache" in again.output


def test_docker_action_without_a_job_container_and_its_exit_status(fake: FakeRunner) -> None:
    step = _step(fake, BUSYBOX, entry="sh",
                 args=["-c", '"echo', "from", "docker", "action", "in", '$PWD;', "exit", '4"'])
    done = fake.call("run_container_step", step, None)
    assert done.code == 4, done.output
    assert "from docker action in /github/workspace" in done.output
    ok = fake.call("run_container_step", _step(fake, f"docker://{BUSYBOX}", entry="sh",
                                               args=["-c", '"echo', 'one=$ONE"'],
                                               env={"ONE": "1", "MULTI": "a\nb"}), None)
    assert ok.code == 0, ok.output
    assert "one=1" in ok.output
    assert "variable MULTI holds a newline" in ok.output  # said, not silently dropped


def test_cleanup_after_a_killed_step_removes_everything(fake: FakeRunner) -> None:
    state = state_of(fake.prepare({"container": fake.container(BUSYBOX), "services": []}))
    proc, _ = fake.popen("run_script_step",
                         fake.script("echo started\nsleep 600\n", shell="sh"), state)
    assert proc.stdout is not None
    assert proc.stdout.readline() == b"started\n"
    proc.send_signal(signal.SIGKILL)  # the runner's last resort: the hook dies mid-step
    proc.wait(timeout=60)
    proc.stdout.close()
    assert job_leftovers(str(state["job"])) != []
    done = fake.call("cleanup_job", {}, state)
    assert done.code == 0, done.output
    assert job_leftovers(str(state["job"])) == []
    assert not hook_dir(str(state["job"])).exists()


def test_cancelled_step_is_stopped_and_fails(fake: FakeRunner) -> None:
    state = _prepare(fake, {"container": fake.container(BUSYBOX), "services": []})
    proc, _ = fake.popen("run_script_step",
                         fake.script("echo started\nsleep 600\n", shell="sh"), state)
    assert proc.stdout is not None
    assert proc.stdout.readline() == b"started\n"
    proc.send_signal(signal.SIGINT)  # what the runner sends first on cancel
    assert proc.wait(timeout=60) != 0
    proc.stdout.close()
    after = fake.call("run_script_step", fake.script("echo still usable\n", shell="sh"), state)
    assert after.code == 0 and "still usable" in after.output



def test_services_only_job_and_container_less_prepare_always_answer(
        fake: FakeRunner, web_image: str) -> None:
    empty = fake.call("prepare_job", {"container": None, "services": []})
    assert empty.code == 0 and empty.response == {"state": {}}
    service = fake.container(web_image, ports=["80"], job=False)
    prepared = fake.prepare({"container": None, "services": [service]})
    fake.jobs.append(state_of(prepared))
    assert prepared.response is not None
    assert "isAlpine" not in prepared.response
    port = prepared.response["context"]["services"][0]["ports"]["80"]  # type: ignore[index]
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/index.html", timeout=30) as reply:
        assert reply.read() == b"hello from web\n"


@pytest.mark.parametrize(("args", "said"), [
    ({"container": {"image": "--privileged"}, "services": []}, "args.container.image"),
    ({"container": {"image": "localhost/busybox:latest", "createOptions": "--privileged"},
      "services": []}, "option '--privileged' is not allowed"),
    ({"container": {"image": "localhost/busybox:latest",
                    "userMountVolumes": [{"sourceVolumePath": "/etc",
                                          "targetVolumePath": "/host-etc", "readOnly": False}]},
      "services": []}, "is a host path"),
])
def test_refused_input_is_a_clear_error_not_a_traceback(
        fake: FakeRunner, args: dict[str, object], said: str) -> None:
    done = fake.call("prepare_job", args)
    assert done.code == 2, done.output
    assert said in done.output
    assert "Traceback" not in done.output



def test_service_health_command_is_waited_for_and_a_failing_one_fails_the_job(
        fake: FakeRunner, web_image: str) -> None:
    """GitHub's usual ``options: --health-cmd ...``: the job starts once it passes; a service
    that never passes fails prepare_job, as the docker hook fails it."""
    healthy = fake.container(web_image, job=False, options=(
        '--health-cmd "wget -qO- http://127.0.0.1/index.html" --health-interval 1s '
        "--health-retries 30"))
    prepared = fake.prepare({"container": fake.container(BUSYBOX), "services": [healthy]})
    fake.jobs.append(state_of(prepared))
    assert "healthy after" in prepared.output
    sick = fake.container(web_image, job=False, options=(
        "--health-cmd false --health-interval 1s --health-retries 2"))
    failed = fake.call("prepare_job", {"container": fake.container(BUSYBOX), "services": [sick]})
    assert failed.code != 0
    assert "did not pass its health check ('false')" in failed.output
    assert "Traceback" not in failed.output
    # The failed job removed its own pod; its prepare_job swept the healthy job's before.
    assert runner_pods(fake) == []
