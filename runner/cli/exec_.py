"""``runner exec``: run a pipeline file on this machine."""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from runner.cli import EXIT_INTERRUPTED, EXIT_JOB_FAILED, EXIT_OK
from runner.errors import UsageError
from runner.execute.interrupt import Interruption
from runner.execute.results import JobStatus, Settings
from runner.execute.run import execute, stderr_notice
from runner.logs.console import Console
from runner.logs.summary import Row, render

if TYPE_CHECKING:
    from runner.host.facts import HostFacts

DEFAULT_FILES = ("pipeline.yml", ".gitlab-ci.yml")


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add the ``exec`` subcommand."""
    parser = sub.add_parser("exec", help="run a pipeline file locally, each job in its own "
                            "rootless container")
    parser.add_argument("pipeline", nargs="?", type=Path,
                        help=f"pipeline file (default: {' or '.join(DEFAULT_FILES)} here)")
    parser.add_argument("-j", "--concurrency", type=int, default=os.cpu_count() or 2,
                        help="jobs running at once (default: CPU count)")
    parser.add_argument("--dialect", choices=["native", "gitlab"],
                        help="pipeline dialect (default: from the file name)")
    parser.add_argument("--project-dir", type=Path,
                        help="project copied into each job (default: the pipeline file's "
                        "directory)")
    parser.add_argument("--state-dir", type=Path,
                        help="where logs, artifacts and scratch go (default: PROJECT/.runner)")
    parser.add_argument("--color", choices=["auto", "always", "never"], default="auto")
    parser.add_argument("--runtime", help="OCI runtime for podman (default: containers.conf)")
    parser.add_argument("--network", help="podman network mode for jobs (default: podman's)")
    parser.add_argument("--cache-dir", type=Path,
                        help="where caches persist between runs (default: ~/.cache/runner)")
    parser.set_defaults(func=handle)


def _pipeline_file(given: Path | None) -> Path:
    if given is not None:
        if not given.is_file():
            raise UsageError(f"pipeline file {given} does not exist or is not a file")
        return given
    for name in DEFAULT_FILES:
        if Path(name).is_file():
            return Path(name)
    raise UsageError(f"no pipeline file given and none of {', '.join(DEFAULT_FILES)} "
                     "found in the current directory")


def _cache_root(given: Path | None) -> Path:
    if given is not None:
        return given.resolve()
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "runner" / "cache"


def handle(args: argparse.Namespace) -> int:
    """Run the pipeline; 0 passed, 1 a job failed, 130 interrupted."""
    from runner.host.identity import refuse_root  # noqa: PLC0415
    from runner.pipeline.load import load_pipeline  # noqa: PLC0415

    refuse_root(os.environ)
    path = _pipeline_file(args.pipeline)
    root = (args.project_dir or path.parent).resolve()
    pipeline = load_pipeline(path, root, args.dialect)
    facts = _check_host()
    if args.concurrency < 1:
        raise UsageError("--concurrency must be at least 1")
    color = args.color == "always" or (args.color == "auto" and sys.stdout.isatty())
    settings = Settings(
        concurrency=args.concurrency, color=color, cache_root=_cache_root(args.cache_dir),
        state_dir=args.state_dir.resolve() if args.state_dir else None,
        slot_dir=_slot_dir(),
        subordinate_ids=min(sum(r.count for r in facts.subuids),
                            sum(r.count for r in facts.subgids)),
        runtime=args.runtime, network=args.network,
    )
    console = Console(sys.stdout.buffer, [job.name for job in pipeline.jobs], color=color)
    for note in pipeline.notes:
        stderr_notice(note)

    def told(interruption: Interruption) -> None:
        if interruption.killing.is_set():
            stderr_notice("stopping now")
        else:
            stderr_notice("stopping: running after_script (Ctrl-C again to stop at once)")

    results, interruption = asyncio.run(execute(pipeline, settings, console, os.environ, told))
    rows = [Row(r.name, r.status.value + (" (allowed)" if r.passed and r.status is not
                                          JobStatus.SUCCESS else ""), r.duration_s, r.note)
            for r in results]
    sys.stdout.write("\n" + render(rows, color=color))
    sys.stdout.flush()
    if interruption.canceling.is_set():
        return EXIT_INTERRUPTED
    return EXIT_JOB_FAILED if any(result.failed for result in results) else EXIT_OK


def _check_host() -> HostFacts:
    """The cheap host checks (no subprocess); full advice comes from ``runner doctor``."""
    from runner.host.doctor import ensure_ready  # noqa: PLC0415
    from runner.host.facts import gather_quick  # noqa: PLC0415

    facts = gather_quick()
    ensure_ready(facts)
    return facts


def _slot_dir() -> Path:
    """UID-slice leases live in the user's runtime dir (per user, gone at reboot)."""
    runtime = os.environ.get("XDG_RUNTIME_DIR")
    base = Path(runtime) if runtime else Path.home() / ".cache"
    return base / "runner" / "slots"
