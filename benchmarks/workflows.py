"""GitHub workflow benchmarks (issue 17): reading and listing a large workflow, and the
3-job workload written as a workflow beside the native format's.

The parse row runs in this process (no Python start), as the GitLab parse row does:
read, check every key and expression, expand a 50-entry matrix, translate into the
model and render ``--list``.
"""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

IMAGE = "localhost/busybox:latest"
PLATFORM = (("ubuntu-latest", IMAGE),)

Row = tuple[str, str, str]

THREE_JOBS = """\
name: three
on: push
jobs:
  build:
    runs-on: ubuntu-latest
    steps:
      - run: echo build
      - run: mkdir -p out && echo bin > out/app
      - run: echo built
  lint:
    runs-on: ubuntu-latest
    steps:
      - run: echo lint
      - run: echo linted
  package:
    needs: [build, lint]
    runs-on: ubuntu-latest
    steps:
      - run: echo package
      - run: echo packaged
"""


def big_workflow(lines: int = 1000, matrix: int = 50) -> str:
    """A workflow of about ``lines`` lines: one job with a ``matrix``-entry matrix, then
    jobs of ten lines each needing it (env, expressions in names and runs, a built-in)."""
    out = ["name: big", "on: [push, pull_request]", "env: {GLOBAL: g}", "jobs:",
           "  test:", "    runs-on: ubuntu-latest", "    strategy:", "      matrix:",
           "        n: [" + ", ".join(str(i) for i in range(matrix)) + "]",
           "    steps:", "      - run: echo ${{ matrix.n }}"]
    index = 0
    while len(out) < lines:
        out += [f"  job{index}:", "    runs-on: ubuntu-latest", "    needs: test",
                "    env:", f"      A: ${{{{ github.sha }}}}-{index}", "    steps:",
                "      - name: step ${{ github.job }}",
                f"        run: echo {index} && test -n \"$A\"",
                "      - uses: actions/checkout@v4",
                "        if: ${{ github.event_name == 'push' }}"]
        index += 1
    return "\n".join(out) + "\n"


def _median(action: object, repeat: int) -> float:
    assert callable(action)
    action()
    samples = []
    for _ in range(repeat):
        start = time.perf_counter()
        action()
        samples.append(time.perf_counter() - start)
    return sorted(samples)[len(samples) // 2]


def parse_row(root: Path, repeat: int) -> Row:
    """Read, check, expand and list the big workflow in this process."""
    from runner.pipeline.github.preview import render_list  # noqa: PLC0415
    from runner.pipeline.github.translate import GithubOptions, load_workflow  # noqa: PLC0415

    text = big_workflow()
    path = root / ".github" / "workflows" / "ci.yml"
    path.parent.mkdir(parents=True)
    path.write_text(text)
    subprocess.run(["git", "init", "-q", "-b", "main", str(root)], check=True)
    options = GithubOptions(platforms=PLATFORM)

    def parse() -> None:
        render_list(load_workflow(path, root, options))

    took = _median(parse, repeat)
    jobs = len(load_workflow(path, root, options).pipeline.jobs)
    return (f"parse + --list a workflow: {text.count(chr(10))} lines, 50-entry matrix, "
            f"{jobs} jobs", f"{took:.3f} s", "< 0.5 s")


def exec_row(root: Path, repeat: int, native_s: float | None) -> Row:
    """The 3-job workload as a GitHub workflow, run with ``runner exec`` (wall)."""
    path = root / ".github" / "workflows" / "three.yml"
    path.parent.mkdir(parents=True)
    path.write_text(THREE_JOBS)

    def run() -> None:
        subprocess.run([sys.executable, "-m", "runner", "exec", "--color", "never",
                        "--cache-dir", str(root / ".cache"), "--platform",
                        f"ubuntu-latest={IMAGE}", str(path)],
                       check=True, capture_output=True, timeout=300)

    took = _median(run, repeat)
    target = f"<= {native_s * 1.1:.3f} s (native + 10 %)" if native_s else "native + 10 %"
    return ("same 3 jobs as a GitHub workflow (runner exec, wall)", f"{took:.3f} s", target)


def workflow_rows(base: Path, repeat: int, native_s: float | None = None) -> list[Row]:
    """Both rows, in fresh directories under ``base``."""
    (base / "big").mkdir(parents=True)
    (base / "three").mkdir(parents=True)
    return [parse_row(base / "big", repeat), exec_row(base / "three", repeat, native_s)]
