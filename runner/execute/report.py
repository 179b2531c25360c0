"""Job results as the summary the CLI prints at the end of a run: rows, then failures."""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

from runner.execute.results import JobResult, JobStatus
from runner.logs.summary import Failure, Row


def _status(result: JobResult) -> str:
    status = result.status.value
    if result.passed and result.status in (JobStatus.FAILED, JobStatus.TIMED_OUT):
        status += " (allowed)"
    return status


def summary_rows(results: Sequence[JobResult]) -> list[Row]:
    """One row per job: allowed failures marked, coverage figures and built images shown."""
    rows: list[Row] = []
    for result in results:
        note = result.note
        if result.image is not None:  # a build job: where its image is, digest included
            note = f"image {result.image}" + (f"; {note}" if note else "")
        rows.append(Row(result.name, _status(result), result.duration_s, note, result.coverage))
    return rows


def annotation_lines(results: Sequence[JobResult]) -> list[str]:
    """Every job's annotations (``::error`` and the like), ``job: level: where: text``."""
    return [f"{result.name}: {line}" for result in results for line in result.annotations]


def failures(results: Sequence[JobResult], cwd: Path) -> list[Failure]:
    """Jobs that failed or timed out (allowed to or not): their output is what to read next."""
    found: list[Failure] = []
    for result in results:
        if result.status not in (JobStatus.FAILED, JobStatus.TIMED_OUT):
            continue
        log = "-" if result.log is None else shown(result.log, cwd)
        found.append(Failure(result.name, _status(result), result.exit_code, log, result.tail))
    return found


def shown(path: Path, cwd: Path) -> str:
    """``path`` relative to ``cwd`` when it is under it (shorter to read and to paste)."""
    try:
        return str(path.relative_to(cwd))
    except ValueError:
        return os.fspath(path)
