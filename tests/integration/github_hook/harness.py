"""Drive ``runner github-hook`` exactly as actions/runner 2.336 does (no github.com needed).

The runner's side, from docs/github-runner.md's interface notes: a work
tree laid out as the runner lays it out, the hook input serialized on one
line with every null written out, the response file created empty under
``_work/_temp/_runner_hook_responses/`` before the call, the ``.sh`` entry
point run with ``bash -e`` in ``GITHUB_WORKSPACE``, with the runner's
``GITHUB_*``/``RUNNER_*`` variables, and the response read back, then deleted.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import uuid
from dataclasses import dataclass
from pathlib import Path

from runner.ghhook.jobdir import runner_label

HOOK_SH = Path(__file__).resolve().parents[3] / "deploy" / "github-runner" / "runner-hook.sh"
RUNNER_BIN = Path(sys.executable).parent / "runner"
CI_IMAGE = "localhost/runner-ci:bookworm"
BUSYBOX = "localhost/busybox:latest"
REPO = "demo"


@dataclass
class HookResult:
    code: int
    output: str
    response: dict[str, object] | None


def mount(source: Path | str | None, target: str, read_only: bool = False,
          user: str | None = None) -> dict[str, object]:
    return {"userProvidedValue": user, "sourceVolumePath": None if source is None else str(source),
            "targetVolumePath": target, "readOnly": read_only}


class FakeRunner:
    """One actions/runner installation: its root, ``_work`` and ``externals``."""

    def __init__(self, root: Path, name: str = "hook-test", node: Path | None = None) -> None:
        self.root = root
        self.name = name
        self.work = root / "_work"
        self.temp = self.work / "_temp"
        self.workspace = self.work / REPO / REPO
        self.externals = root / "externals"
        self.jobs: list[dict[str, object]] = []
        """States of the jobs a test prepared, for its fixture to clean up."""
        for path in (self.temp / "_runner_hook_responses", self.temp / "_github_home",
                     self.temp / "_github_workflow", self.temp / "_runner_file_commands",
                     self.work / "_actions", self.work / "_tool", self.workspace,
                     self.externals):
            path.mkdir(parents=True, exist_ok=True)
        if node is not None:
            (self.externals / "node20" / "bin").mkdir(parents=True, exist_ok=True)
            target = self.externals / "node20" / "bin" / "node"
            if not target.exists():
                os.link(node, target) if node.stat().st_uid == os.getuid() else \
                    shutil.copy2(node, target)

    def env(self) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith(("GITHUB_", "RUNNER_"))}
        env.update({
            "GITHUB_WORKSPACE": str(self.workspace), "GITHUB_ACTIONS": "true", "CI": "true",
            "RUNNER_NAME": self.name, "RUNNER_TEMP": str(self.temp),
            "RUNNER_WORKSPACE": str(self.work / REPO), "RUNNER_BIN": str(RUNNER_BIN),
        })
        return env

    def job_mounts(self) -> list[dict[str, object]]:
        """``systemMountVolumes`` of a job container, in the runner's order."""
        return [mount("/var/run/docker.sock", "/var/run/docker.sock"),
                mount(self.work, "/__w"), mount(self.externals, "/__e", read_only=True),
                mount(self.temp, "/__w/_temp"), mount(self.work / "_actions", "/__w/_actions"),
                mount(self.work / "_tool", "/__w/_tool"),
                mount(self.temp / "_github_home", "/github/home"),
                mount(self.temp / "_github_workflow", "/github/workflow")]

    def step_mounts(self) -> list[dict[str, object]]:
        """``systemMountVolumes`` of a container action step."""
        return [mount("/var/run/docker.sock", "/var/run/docker.sock"),
                mount(self.temp, "/github/runner_temp"),
                mount(self.temp / "_github_home", "/github/home"),
                mount(self.temp / "_github_workflow", "/github/workflow"),
                mount(self.temp / "_runner_file_commands", "/github/file_commands"),
                mount(self.workspace, "/github/workspace")]

    def container(self, image: str | None, *, env: dict[str, str] | None = None,
                  ports: list[str] | None = None, options: str | None = None,
                  registry: dict[str, str] | None = None, job: bool = True,
                  ) -> dict[str, object]:
        """A ``HookContainer`` for a job container (``job``) or a service."""
        return {"image": image, "dockerfile": None, "entryPointArgs": [], "entryPoint": None,
                "workingDirectory": f"/__w/{REPO}/{REPO}" if job else None,
                "createOptions": options, "registry": registry,
                "environmentVariables": ({"HOME": "/github/home"} if job else {}) | (env or {}),
                "portMappings": ports or [],
                "systemMountVolumes": self.job_mounts() if job else [],
                "userMountVolumes": []}

    def script(self, text: str, shell: str = "bash") -> dict[str, object]:
        """``run_script_step`` args for a ``run:`` step, its script in ``_temp`` as the runner
        writes it."""
        name = f"{uuid.uuid4()}.sh"
        (self.temp / name).write_text(text)
        args = (["--noprofile", "--norc", "-e", "-o", "pipefail", f"/__w/_temp/{name}"]
                if shell == "bash" else ["-e", f"/__w/_temp/{name}"])
        return {"entryPointArgs": args, "entryPoint": shell,
                "environmentVariables": {"GITHUB_WORKSPACE": f"/__w/{REPO}/{REPO}",
                                         "RUNNER_TEMP": "/__w/_temp", "CI": "true"},
                "prependPath": [], "workingDirectory": f"/__w/{REPO}/{REPO}"}

    def input_line(self, command: str, args: dict[str, object],
                   state: dict[str, object] | None) -> tuple[str, Path]:
        response = self.temp / "_runner_hook_responses" / f"{uuid.uuid4()}.json"
        response.write_text("")
        doc = {"command": command, "responseFile": str(response), "args": args,
               "state": state}
        return json.dumps(doc, separators=(",", ":")) + "\n", response

    def popen(self, command: str, args: dict[str, object],
              state: dict[str, object] | None = None) -> tuple[subprocess.Popen[bytes], Path]:
        line, response = self.input_line(command, args, state)
        proc = subprocess.Popen(["bash", "-e", str(HOOK_SH)], stdin=subprocess.PIPE,
                                stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                cwd=self.workspace, env=self.env())
        assert proc.stdin is not None
        proc.stdin.write(line.encode())
        proc.stdin.close()  # as the runner does: one line, then end of input
        proc.stdin = None
        return proc, response

    def call(self, command: str, args: dict[str, object],
             state: dict[str, object] | None = None, timeout: float = 600) -> HookResult:
        proc, response = self.popen(command, args, state)
        out, _ = proc.communicate(timeout=timeout)
        return HookResult(proc.returncode, out.decode("utf-8", "replace"),
                          read_response(response))

    def prepare(self, args: dict[str, object]) -> HookResult:
        found = self.call("prepare_job", args)
        assert found.code == 0, found.output
        assert found.response is not None
        return found


def read_response(path: Path) -> dict[str, object] | None:
    """What the runner reads: the file's JSON (the last line hooklib appended), then gone."""
    text = path.read_text() if path.exists() else ""
    path.unlink(missing_ok=True)
    lines = [line for line in text.splitlines() if line.strip()]
    return json.loads(lines[-1]) if lines else None


def state_of(result: HookResult) -> dict[str, object]:
    assert result.response is not None
    state = result.response["state"]
    assert isinstance(state, dict)
    return state


def job_leftovers(job: str) -> list[str]:
    """Pods and containers of hook job ``job`` that podman still has."""
    found = []
    for argv in (["podman", "pod", "ps", "--filter", f"label=io.github.runner.run={job}",
                  "--format", "{{.Name}}"],
                 ["podman", "ps", "--all", "--filter", f"label=io.github.runner.run={job}",
                  "--format", "{{.Names}}"]):
        done = subprocess.run(argv, capture_output=True, text=True, timeout=120, check=True)
        found += [line for line in done.stdout.splitlines() if line.strip()]
    return found


def hook_dir(job: str) -> Path:
    runtime = os.environ.get("XDG_RUNTIME_DIR") or f"/run/user/{os.getuid()}"
    return Path(runtime) / "runner" / "github-hook" / job



def runner_pods(runner: FakeRunner, what: str = "pod") -> list[str]:
    """The pods (``what="pod"``) or containers (``"container"``) podman has of ``runner``'s
    jobs."""
    label = runner_label(runner.env())
    listing = ["pod", "ps"] if what == "pod" else ["ps", "--all"]
    done = subprocess.run(["podman", *listing, "--filter",
                           f"label=io.github.runner.github-runner={label}",
                           "--format", "{{.Name}}" if what == "pod" else "{{.Names}}"],
                          capture_output=True, text=True, timeout=120, check=True)
    return [line for line in done.stdout.splitlines() if line.strip()]
