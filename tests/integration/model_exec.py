"""Run a pickled ``Pipeline`` the way ``runner exec`` does, for model fields no file format has yet.

Usage: ``python -m tests.integration.model_exec PIPELINE.pickle CACHE_DIR [--manual JOB]...``

It builds ``Settings`` from the same host facts, runs ``execute`` with the
same console and prints the same summary table, then exits as ``runner exec``
would (0 passed, 1 a job failed, 130 interrupted, 2/3 for explained errors).
A separate process, like the real CLI: signal handlers, the namespace helper
and asyncio live and die with it.
"""

from __future__ import annotations

import asyncio
import os
import pickle
import sys
from pathlib import Path

from runner import log
from runner.cli import error_text, exit_code_for
from runner.errors import RunnerError
from runner.execute.report import annotation_lines, summary_rows
from runner.execute.results import Settings
from runner.execute.run import execute
from runner.host.doctor import ensure_ready
from runner.host.facts import gather_quick
from runner.logs.console import Console
from runner.logs.summary import render
from runner.pipeline.model import Pipeline


def main(argv: list[str]) -> int:
    """Run the pipeline in ``argv[0]`` with caches under ``argv[1]``; returns the exit code."""
    pipeline: Pipeline = pickle.loads(Path(argv[0]).read_bytes())  # our own test's file
    manual = frozenset(argv[index + 1] for index, word in enumerate(argv) if word == "--manual")
    log.configure()
    try:
        facts = gather_quick()
        ensure_ready(facts)
        runtime = os.environ.get("XDG_RUNTIME_DIR")
        settings = Settings(
            concurrency=2, color=False, cache_root=Path(argv[1]),
            slot_dir=(Path(runtime) if runtime else Path.home() / ".cache") / "runner" / "slots",
            subordinate_ids=min(sum(r.count for r in facts.subuids),
                                sum(r.count for r in facts.subgids)),
            manual=manual,
        )
        console = Console(sys.stdout.buffer, [job.name for job in pipeline.jobs], color=False)
        results, interruption = asyncio.run(execute(pipeline, settings, console, os.environ))
    except RunnerError as exc:
        print(error_text(exc), file=sys.stderr)
        return exit_code_for(exc)
    sys.stdout.write("\n" + render(summary_rows(results), color=False,
                                    notes=annotation_lines(results)))
    sys.stdout.flush()
    if interruption.canceling.is_set():
        return 130
    return 1 if any(result.failed for result in results) else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
