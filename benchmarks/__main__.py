"""Benchmarks of `runner exec` against the targets in the issues, printed as a table.

Run as the unprivileged user with the busybox image built (`make bench` does
both). Each figure is the median of several runs after one warm-up run.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

IMAGE = "localhost/busybox:latest"

THREE_JOBS = f"""version: 1
image: {IMAGE}
jobs:
  build:
    script: ["echo build", "mkdir -p out && echo bin > out/app", "echo built"]
    artifacts: {{paths: [out/]}}
  lint:
    script: ["echo lint", "echo linted"]
  package:
    needs: [build, lint]
    script: ["cat out/app", "echo packaged"]
"""


THREE_JOBS_GITLAB = f"""image: {IMAGE}
stages: [build, package]
build:
  stage: build
  script: ["echo build", "mkdir -p out && echo bin > out/app", "echo built"]
  artifacts: {{paths: [out/]}}
lint:
  stage: build
  script: ["echo lint", "echo linted"]
package:
  stage: package
  needs: [build, lint]
  script: ["cat out/app", "echo packaged"]
"""


def big_gitlab(jobs: int = 200) -> str:
    """About five lines per job, each job at the end of a three-level extends chain."""
    lines = [
        f"image: {IMAGE}",
        "stages: [build, test, deploy]",
        "variables: {GLOBAL: g}",
        ".base: {before_script: [echo base], variables: {LEVEL: base}}",
        ".lang: {extends: .base, variables: {LANG_V: '3'}}",
        ".suite: {extends: .lang, stage: test, artifacts: {paths: [out/], when: always}}",
    ]
    for i in range(jobs):
        lines += [
            f"job{i}:",
            "  extends: .suite",
            f"  variables: {{N: '{i}', REF: $GLOBAL-$N}}",
            "  rules: [{if: '$CI_COMMIT_BRANCH == \"main\" || $N =~ /^1/'}]",
            f"  script: [echo {i}, mkdir -p out, echo $REF > out/r{i}]",
        ]
    return "\n".join(lines) + "\n"


def one_job(steps: int) -> str:
    lines = ", ".join(f'"echo step{i}"' for i in range(steps))
    return f"version: 1\njobs:\n  only:\n    image: {IMAGE}\n    script: [{lines}]\n"


def timed(action: Callable[[], None], repeat: int) -> float:
    action()  # warm-up: first use of a slot re-owns image layers once
    samples = []
    for _ in range(repeat):
        start = time.perf_counter()
        action()
        samples.append(time.perf_counter() - start)
    return statistics.median(samples)


def exec_pipeline(root: Path, text: str, name: str = "pipeline.yml",
                  engine: str = "auto") -> Callable[[], None]:
    (root / name).write_text(text)

    def run() -> None:
        subprocess.run([sys.executable, "-m", "runner", "exec", "--color", "never",
                        "--engine", engine, "--cache-dir", str(root / ".cache"),
                        str(root / name)],
                       check=True, capture_output=True, timeout=300)
    return run


def parse_row(root: Path) -> tuple[str, str, str]:
    """Compose and translate a 1,000-line GitLab file in this process (no Python start)."""
    from runner.pipeline.load import load_pipeline  # noqa: PLC0415

    text = big_gitlab()
    path = root / ".gitlab-ci.yml"
    path.write_text(text)
    subprocess.run(["git", "init", "-q", "-b", "main", str(root)], check=True)
    pipeline = load_pipeline(path, root)
    if len(pipeline.jobs) != 200:
        raise RuntimeError(f"expected 200 jobs, got {len(pipeline.jobs)}")

    def parse() -> None:
        load_pipeline(path, root)

    took = timed(parse, 5)
    lines = text.count("\n")
    return (f"parse .gitlab-ci.yml: {lines} lines, 200 jobs, extends x3", f"{took:.3f} s",
            "< 0.5 s")


def command(argv: list[str]) -> Callable[[], None]:
    def run() -> None:
        subprocess.run(argv, check=True, capture_output=True, timeout=300)
    return run


def concurrent_podman_runs(count: int) -> Callable[[], None]:
    """The floor podman itself sets: ``count`` containers started and removed at once."""
    def run() -> None:
        procs = [subprocess.Popen(["podman", "run", "--rm", "--uidmap", mapping,
                                   "--gidmap", mapping, IMAGE, "true"],
                                  stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
                 for mapping in (f"0:{1 + i * 65536}:65536" for i in range(count))]
        for proc in procs:
            if proc.wait(timeout=300):
                raise RuntimeError("podman run failed")
    return run


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m benchmarks")
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--only", choices=["exec", "build", "services", "images", "agent",
                                           "expr", "hooks"],
                        help="one group of rows")
    args = parser.parse_args()
    rows: list[tuple[str, str, str]] = []
    with tempfile.TemporaryDirectory(prefix="runner-bench-") as tmp:
        base = Path(tmp)
        if args.only in (None, "exec"):
            rows += exec_rows(base, args.repeat)
        if args.only in (None, "build"):
            from benchmarks.builds import build_rows  # noqa: PLC0415

            rows += build_rows(base / "builds", args.repeat)
        if args.only in (None, "services"):
            from benchmarks.services import service_rows  # noqa: PLC0415

            rows += service_rows(base / "services", args.repeat)
        if args.only in (None, "images"):
            from benchmarks.images import image_rows  # noqa: PLC0415

            rows += image_rows(base / "images", args.repeat)
        if args.only in (None, "expr"):
            from benchmarks.expressions import expression_rows  # noqa: PLC0415

            rows += expression_rows(args.repeat)
        if args.only in (None, "agent"):
            from benchmarks.agent import agent_rows  # noqa: PLC0415

            rows += agent_rows(base / "agent")
        if args.only in (None, "hooks"):
            from benchmarks.hooks import hook_rows  # noqa: PLC0415

            rows += hook_rows(base / "hooks", args.repeat)
    width = max(len(row[0]) for row in rows)
    print(f"{'benchmark':<{width}}  {'median':>10}  target")
    for label, value, target in rows:
        print(f"{label:<{width}}  {value:>10}  {target}")


def exec_rows(base: Path, repeat: int) -> list[tuple[str, str, str]]:
    """Issue 2's figures: whole pipelines, per-step cost, podman's own floor (and issue 17's
    GitHub rows beside the native time)."""
    rows: list[tuple[str, str, str]] = []
    for name in ("three", "one", "many", "gitlab", "big"):
        (base / name).mkdir()
    whole = timed(exec_pipeline(base / "three", THREE_JOBS), repeat)
    rows.append(("3 jobs, 7 steps (runner exec, wall)", f"{whole:.3f} s", "<= 0.5 s"))
    (base / "three-podman").mkdir()
    podman_engine = timed(exec_pipeline(base / "three-podman", THREE_JOBS, engine="podman"),
                          repeat)
    rows.append(("  same, --engine podman (every job via podman run)",
                 f"{podman_engine:.3f} s", "(the runc engine's gain)"))
    gitlab = timed(exec_pipeline(base / "gitlab", THREE_JOBS_GITLAB, ".gitlab-ci.yml"),
                   repeat)
    rows.append(("same as .gitlab-ci.yml (runner exec, wall)", f"{gitlab:.3f} s",
                 f"<= {whole * 1.1:.3f} s (native + 10 %)"))
    from benchmarks.github import github_rows  # noqa: PLC0415

    rows += github_rows(base, repeat, whole, IMAGE, timed)
    rows.append(parse_row(base / "big"))
    one = timed(exec_pipeline(base / "one", one_job(1)), repeat)
    many = timed(exec_pipeline(base / "many", one_job(41)), repeat)
    rows.append(("1 job, 1 step (runner exec, wall)", f"{one:.3f} s", ""))
    rows.append(("1 job, 41 steps (runner exec, wall)", f"{many:.3f} s", ""))
    per_step = (many - one) / 40 * 1000
    rows.append(("each extra step", f"{per_step:.1f} ms", "<= 40 ms"))
    bare = timed(command(["podman", "run", "--rm", "--uidmap", "0:1:65536",
                          "--gidmap", "0:1:65536", IMAGE, "true"]), repeat)
    rows.append(("baseline: podman run --rm true", f"{bare:.3f} s", "(for scale)"))
    floor = timed(concurrent_podman_runs(3), repeat)
    rows.append(("baseline: 3 concurrent podman run --rm true", f"{floor:.3f} s",
                 "(podman's floor for 3 jobs)"))
    startup = timed(command([sys.executable, "-m", "runner", "--version"]), repeat)
    rows.append(("baseline: runner --version (Python start)", f"{startup:.3f} s", ""))
    return rows


if __name__ == "__main__":
    main()
