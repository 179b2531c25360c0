"""``runner github-hook`` rows: prepare_job, a step, cleanup_job; beside the docker hook's commands.

Each hook call is timed as actions/runner makes it: ``bash -e runner-hook.sh``
with the input on stdin and a fresh empty response file, so the figures
include starting runner's Python. The reference docker hook
(actions/runner-container-hooks, packages/docker) is timed by its command
sequence, each command run with ``podman`` in place of ``docker`` (podman's
docker CLI compatibility), on the same image; its own Node start is left out.
"""

from __future__ import annotations

import json
import os
import secrets
import statistics
import subprocess
import sys
import time
import uuid
from pathlib import Path

IMAGE = "localhost/busybox:latest"
HOOK_SH = Path(__file__).resolve().parents[1] / "deploy" / "github-runner" / "runner-hook.sh"
Row = tuple[str, str, str]
STEPS = 10
BIG_WORKSPACE = 20000
"""Files in the workspace of the hand-over rows (a mid-size checkout with its build output)."""


class _Runner:
    """A minimal actions/runner work tree and its hook calls."""

    def __init__(self, root: Path) -> None:
        self.temp = root / "_work" / "_temp"
        self.workspace = root / "_work" / "bench" / "bench"
        for path in (self.temp / "_runner_hook_responses", self.workspace,
                     self.temp / "_github_home", self.temp / "_github_workflow"):
            path.mkdir(parents=True, exist_ok=True)
        self.work = root / "_work"
        self.env = {**os.environ, "GITHUB_WORKSPACE": str(self.workspace),
                    "RUNNER_NAME": f"bench-{secrets.token_hex(4)}", "RUNNER_TEMP": str(self.temp),
                    "RUNNER_BIN": str(Path(sys.executable).parent / "runner")}

    def container(self, service: bool = False) -> dict[str, object]:
        mounts = [] if service else [
            {"userProvidedValue": None, "sourceVolumePath": str(self.work),
             "targetVolumePath": "/__w", "readOnly": False},
            {"userProvidedValue": None, "sourceVolumePath": str(self.temp / "_github_home"),
             "targetVolumePath": "/github/home", "readOnly": False}]
        return {"image": IMAGE, "dockerfile": None,
                "entryPointArgs": ["-f", "-p", "8080"] if service else [],
                "entryPoint": "httpd" if service else None,
                "workingDirectory": None if service else "/__w/bench/bench",
                "createOptions": None, "registry": None, "environmentVariables": {},
                "portMappings": ["8080"] if service else [], "systemMountVolumes": mounts,
                "userMountVolumes": []}

    def call(self, command: str, args: dict[str, object],
             state: dict[str, object] | None) -> tuple[float, dict[str, object] | None]:
        response = self.temp / "_runner_hook_responses" / f"{uuid.uuid4()}.json"
        response.write_text("")
        line = json.dumps({"command": command, "responseFile": str(response), "args": args,
                           "state": state}) + "\n"
        start = time.perf_counter()
        done = subprocess.run(["bash", "-e", str(HOOK_SH)], input=line, text=True,
                              capture_output=True, cwd=self.workspace, env=self.env,
                              timeout=600, check=False)
        took = time.perf_counter() - start
        if done.returncode:
            raise RuntimeError(f"hook {command} failed: {done.stdout}{done.stderr}")
        text = response.read_text().strip()
        response.unlink()
        return took, json.loads(text.splitlines()[-1]) if text else None

    def step(self) -> dict[str, object]:
        name = f"{uuid.uuid4()}.sh"
        (self.temp / name).write_text("true\n")
        return {"entryPointArgs": ["-e", f"/__w/_temp/{name}"], "entryPoint": "sh",
                "environmentVariables": {"CI": "true"}, "prependPath": [],
                "workingDirectory": "/__w/bench/bench"}


def hook_rows(base: Path, repeat: int) -> list[Row]:
    """Rows for runner's hook and the docker hook's sequence under podman."""
    samples: dict[str, list[float]] = {key: [] for key in (
        "prepare", "prepare_svc", "step", "cleanup", "ref_prepare", "ref_prepare_svc",
        "ref_step", "ref_cleanup")}
    for index in range(repeat + 1):  # the first round warms up
        runner = _Runner(base / f"r{index}")
        took, response = runner.call("prepare_job", {"container": runner.container(),
                                                     "services": []}, None)
        assert response is not None
        state = response["state"]
        assert isinstance(state, dict)
        steps = [runner.call("run_script_step", runner.step(), state)[0] for _ in range(STEPS)]
        cleanup, _ = runner.call("cleanup_job", {}, state)
        took_svc, response = runner.call(
            "prepare_job", {"container": runner.container(),
                            "services": [runner.container(service=True)]}, None)
        assert response is not None
        runner.call("cleanup_job", {}, response["state"])  # type: ignore[arg-type]
        reference = _reference(runner, services=False)
        reference_svc = _reference(runner, services=True)
        if index == 0:
            continue
        samples["prepare"].append(took)
        samples["prepare_svc"].append(took_svc)
        samples["step"].append(statistics.median(steps))
        samples["cleanup"].append(cleanup)
        samples["ref_prepare"].append(reference[0])
        samples["ref_step"].append(reference[1])
        samples["ref_cleanup"].append(reference[2])
        samples["ref_prepare_svc"].append(reference_svc[0])
    med = {key: statistics.median(values) for key, values in samples.items()}
    return [
        ("github-hook prepare_job (no services)", _s(med["prepare"]),
         f"docker hook's commands via podman: {_s(med['ref_prepare'])}"),
        ("github-hook prepare_job (one service)", _s(med["prepare_svc"]),
         f"docker hook's commands via podman: {_s(med['ref_prepare_svc'])}"),
        ("github-hook run_script_step (whole call)", _s(med["step"]),
         f"docker hook's podman exec: {_s(med['ref_step'])}"),
        ("github-hook cleanup_job", _s(med["cleanup"]),
         f"docker hook's commands via podman: {_s(med['ref_cleanup'])}"),
        *_workspace_rows(base, repeat, med["prepare"], med["cleanup"]),
    ]


def _workspace_rows(base: Path, repeat: int, prepare: float, cleanup: float) -> list[Row]:
    """prepare_job and cleanup_job with a big workspace: the cost of handing it to the job's
    slice and giving it back, beside the same calls with an empty one."""
    took: dict[str, list[float]] = {"prepare": [], "cleanup": []}
    for index in range(repeat):
        runner = _Runner(base / f"big{index}")
        for folder in range(BIG_WORKSPACE // 100):
            path = runner.workspace / f"d{folder}"
            path.mkdir()
            for number in range(99):
                (path / f"f{number}").write_text("x\n")
        took_prepare, response = runner.call("prepare_job", {"container": runner.container(),
                                                             "services": []}, None)
        assert response is not None
        took_cleanup, _ = runner.call("cleanup_job", {}, response["state"])  # type: ignore
        took["prepare"].append(took_prepare)
        took["cleanup"].append(took_cleanup)
    return [(f"github-hook prepare_job, workspace of {BIG_WORKSPACE} files (handed to the "
             "slice)", _s(statistics.median(took["prepare"])), f"empty workspace: {_s(prepare)}"),
            (f"github-hook cleanup_job, workspace of {BIG_WORKSPACE} files (given back)",
             _s(statistics.median(took["cleanup"])), f"empty workspace: {_s(cleanup)}")]


def _s(seconds: float) -> str:
    return f"{seconds:.3f}s"


def _podman(*args: str, check: bool = True) -> str:
    done = subprocess.run(["podman", *args], capture_output=True, text=True, timeout=300,
                          check=False)
    if done.returncode and check:
        raise RuntimeError(f"podman {' '.join(args)} failed: {done.stderr}")
    return done.stdout.strip()


def _reference(runner: _Runner, *, services: bool) -> tuple[float, float, float]:
    """(prepare, one step, cleanup) of the docker hook's own sequence, podman for docker."""
    label = f"bench-ref-{secrets.token_hex(4)}"
    start = time.perf_counter()
    ids = _podman("ps", "--all", "--quiet", "--no-trunc", "--filter", f"label={label}").split()
    if ids:
        _podman("rm", "--force", *ids)
    # Timed but not judged: podman's prune trips over other users' containers going away.
    _podman("network", "prune", "--force", "--filter", f"label={label}", check=False)
    network = f"github_network_{uuid.uuid4().hex}"
    _podman("network", "create", "--label", label, network)
    job = _podman("create", f"--label={label}", f"--network={network}",
                  "-v", f"{runner.work}:/__w", "--entrypoint", "tail", IMAGE, "-f", "/dev/null")
    _podman("start", job)
    started = [job]
    if services:
        service = _podman("create", f"--label={label}", f"--network={network}",
                          "--network-alias=web", "-p", "8080", "--entrypoint", "httpd", IMAGE,
                          "-f", "-p", "8080")
        _podman("start", service)
        started.append(service)
    subprocess.run(["podman", "exec", job, "sh", "-c",
                    '[ $(cat /etc/*release* | grep -i -e "^ID=*alpine*" -c) != 0 ] || exit 1'],
                   capture_output=True, timeout=300, check=False)
    for container in started[1:]:
        _podman("port", container)
        _podman("inspect", "--format",
                "{{if .Config.Healthcheck}}{{print .State.Health.Status}}{{end}}", container)
    prepare = time.perf_counter() - start
    step = runner.step()
    args = step["entryPointArgs"]
    assert isinstance(args, list)
    start = time.perf_counter()
    subprocess.run(["podman", "exec", "-i", "--workdir=/__w/bench/bench", "-e", "CI", job,
                    "sh", *args], stdin=subprocess.DEVNULL, capture_output=True, timeout=300,
                   check=True, env={**os.environ, "CI": "true"})
    step_s = time.perf_counter() - start
    start = time.perf_counter()
    ids = _podman("ps", "--all", "--quiet", "--no-trunc", "--filter", f"label={label}").split()
    _podman("rm", "--force", *ids)
    _podman("network", "prune", "--force", "--filter", f"label={label}", check=False)
    took = time.perf_counter() - start
    _podman("network", "rm", "--force", network, check=False)  # if the prune tripped
    return prepare, step_s, took
