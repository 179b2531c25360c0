"""Issue 17's rows: GitHub workflows beside the native format, a big matrix, and act.

- The exec benchmark's 3-job workload written as a GitHub workflow, run with
  ``runner exec .github/workflows/ci.yml`` beside the native file's time (goal:
  within 10 %). Each job's script is one ``run:`` step, as a GitHub user writes
  it; the artifact GitLab and the native format pass from build to package goes
  through upload-artifact/download-artifact steps.
- A 1,000-line workflow whose test job has a 50-entry matrix: loaded and listed
  in-process (goal < 0.5 s), and ``runner exec --list`` as a user types it, beside
  the floor of starting Python at all.
- act (nektos/act, with a podman API socket) on the same workflow, when an
  ``act`` binary is on PATH; otherwise the row says so and what issue 17 reports,
  rather than invent a number.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

Row = tuple[str, str, str]
WORKFLOW = Path(".github/workflows/ci.yml")

THREE_JOBS_GITHUB = """name: three jobs
on: push
jobs:
  build:
    runs-on: ubuntu-latest
    steps:
      - run: |
          echo build
          mkdir -p out && echo bin > out/app
          echo built
      - uses: actions/upload-artifact@v4
        with: {name: out, path: out/}
  lint:
    runs-on: ubuntu-latest
    steps:
      - run: |
          echo lint
          echo linted
  package:
    needs: [build, lint]
    runs-on: ubuntu-latest
    steps:
      - uses: actions/download-artifact@v4
        with: {name: out, path: out}
      - run: |
          cat out/app
          echo packaged
"""

MATRIX_ENTRIES = 50


def big_workflow(lines: int = 1000) -> str:
    """A workflow of about ``lines`` lines: a lint job, a test job with a 50-entry matrix
    (10 x 5, expressions in its name and steps), and ordinary jobs needing it."""
    out = [
        "name: big", "on:", "  push:", "    branches: [main]", "  pull_request:",
        "env:", "  GLOBAL: g",
        "jobs:",
        "  test:",
        "    name: test ${{ matrix.shard }} on ${{ matrix.python }}",
        "    runs-on: ubuntu-latest",
        "    strategy:",
        "      fail-fast: false",
        "      matrix:",
        "        shard: [" + ", ".join(str(i) for i in range(1, 11)) + "]",
        '        python: ["3.9", "3.10", "3.11", "3.12", "3.13"]',
        "    steps:",
        "      - uses: actions/checkout@v4",
        "      - run: echo shard ${{ matrix.shard }} of ${{ strategy.job-total }}",
    ]
    job = 0
    while len(out) < lines - 12:
        out += [
            f"  job{job}:",
            "    needs: test",
            f"    if: ${{{{ always() && needs.test.result != 'cancelled' && {job} >= 0 }}}}",
            "    runs-on: ubuntu-latest",
            "    env:",
            f"      N: '{job}'",
            "    steps:",
            "      - id: a",
            '        run: echo "n=$N" >> "$GITHUB_OUTPUT"',
            "      - if: steps.a.outputs.n != ''",
            "        run: echo ${{ format('{0}-{1}', env.GLOBAL, steps.a.outputs.n) }}",
        ]
        job += 1
    return "\n".join(out) + "\n"


def _project(root: Path, text: str) -> Path:
    """``root`` as a git checkout on main holding ``text`` as its workflow."""
    (root / WORKFLOW).parent.mkdir(parents=True, exist_ok=True)
    (root / WORKFLOW).write_text(text)
    for argv in (["init", "-q", "-b", "main"], ["add", "-A"],
                 ["-c", "user.name=b", "-c", "user.email=b@example.com", "commit", "-qm", "b"]):
        subprocess.run(["git", "-C", str(root), *argv], check=True, capture_output=True)
    return root


def _exec(root: Path, image: str, *extra: str) -> Callable[[], None]:
    def run() -> None:
        subprocess.run([sys.executable, "-m", "runner", "exec", str(WORKFLOW), "--color",
                        "never", "--cache-dir", str(root / ".cache"),
                        "--platform", f"ubuntu-latest={image}", *extra],
                       cwd=root, check=True, capture_output=True, timeout=300)
    return run


def github_rows(base: Path, repeat: int, native_s: float, image: str,
                timed: Callable[[Callable[[], None], int], float]) -> list[Row]:
    """The rows, ``native_s`` being the native 3-job pipeline's median of the same table."""
    rows: list[Row] = []
    three = _project(base / "gh-three", THREE_JOBS_GITHUB)
    took = timed(_exec(three, image), repeat)
    rows.append(("same as .github/workflows/ci.yml (runner exec, wall)", f"{took:.3f} s",
                 f"<= {native_s * 1.1:.3f} s (native + 10 %)"))
    rows.append(_act_row(three, image, repeat, timed))
    rows += _big_rows(base / "gh-big", image, repeat, timed)
    return rows


def _act_row(root: Path, image: str, repeat: int,
             timed: Callable[[Callable[[], None], int], float]) -> Row:
    """act on the same workflow when it is installed; never a made-up figure."""
    label = "  same, nektos/act -P ubuntu-latest=IMAGE (podman socket)"
    act = shutil.which("act")
    if act is None:
        return (label, "n/a", "act not installed, no network here; issue 17 reports ~13 s")

    def run() -> None:
        subprocess.run([act, "push", "-W", str(WORKFLOW), "-P", f"ubuntu-latest={image}",
                        "--pull=false"], cwd=root, check=True, capture_output=True,
                       timeout=600)
    return (label, f"{timed(run, repeat):.3f} s", "(for comparison)")


def _big_rows(root: Path, image: str, repeat: int,
              timed: Callable[[Callable[[], None], int], float]) -> list[Row]:
    from runner.pipeline.github.preview import render_list  # noqa: PLC0415
    from runner.pipeline.github.translate import GithubOptions  # noqa: PLC0415
    from runner.pipeline.load import LoadOptions, load_github  # noqa: PLC0415

    root.mkdir()
    text = big_workflow()
    _project(root, text)
    options = LoadOptions(github=GithubOptions(platforms=(("ubuntu-latest", image),)))
    listed = render_list(load_github(root / WORKFLOW, root, options))
    instances = sum(1 for line in listed.splitlines() if line.startswith("test "))
    if instances != MATRIX_ENTRIES:
        raise RuntimeError(f"expected {MATRIX_ENTRIES} matrix instances, got {instances}")

    def parse() -> None:
        render_list(load_github(root / WORKFLOW, root, options))

    lines = text.count("\n")
    in_process = timed(parse, repeat)
    cli = timed(_exec(root, image, "--list"), repeat)
    def bare_python() -> None:
        subprocess.run([sys.executable, "-c", "pass"], check=True)

    floor = timed(bare_python, repeat)
    return [
        (f"parse + list workflow: {lines} lines, {MATRIX_ENTRIES}-entry matrix (in-process)",
         f"{in_process:.3f} s", "< 0.5 s"),
        ("  same, runner exec --list (wall)", f"{cli:.3f} s",
         f"{cli / floor:.1f} x python -c pass ({floor:.3f} s)"),
    ]
