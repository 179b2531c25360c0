"""The table printed when a pipeline ends, and what follows it: the run's wall time and,
for each failed job, its exit status, its log and its last lines, so the first thing to
act on is on screen without opening a file."""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass

_ESCAPE = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")
"""An ANSI CSI sequence (colours, cursor moves): dropped from a plain summary."""


@dataclass(frozen=True)
class Row:
    """One job's line in the summary."""

    job: str
    status: str
    duration_s: float | None
    note: str = ""
    coverage: str | None = None


@dataclass(frozen=True)
class Failure:
    """What to look at for a job that failed or timed out."""

    job: str
    status: str
    exit_code: int | None
    log: str
    """The job's log file, as the user can open it (relative to the working dir if under it)."""
    tail: tuple[str, ...]
    """The log's last lines, masked as the log is."""


def render(rows: Sequence[Row], *, color: bool, wall_s: float | None = None,
           failures: Sequence[Failure] = (), notes: Sequence[str] = ()) -> str:
    """The table (job, status, duration, coverage if any job has one, note), the run's wall
    time as a sentence when given, the jobs' annotations, then one block per failure."""
    text = _table(rows, color=color)
    if wall_s is not None:
        counts = Counter(row.status for row in rows)
        jobs = "1 job" if len(rows) == 1 else f"{len(rows)} jobs"
        how = ", ".join(f"{number} {status}" for status, number in counts.items())
        text += f"{jobs} in {wall_s:.2f}s (wall time): {how}\n"
    if notes:
        text += "\nannotations:\n" + "".join(f"  {note}\n" for note in notes)
    for failure in failures:
        code = f" (exit status {failure.exit_code})" if failure.exit_code is not None else ""
        text += f"\n{failure.job} {failure.status}{code}; log: {failure.log}\n"
        for line in failure.tail:
            text += f"  | {line if color else _ESCAPE.sub('', line)}\n"
    return text


def _table(rows: Sequence[Row], *, color: bool) -> str:
    colors = {"success": 32, "failed": 31, "timed out": 31, "canceled": 33, "skipped": 90}
    width_job = max([len("job"), *(len(row.job) for row in rows)])
    width_status = max([len("status"), *(len(row.status) for row in rows)])
    with_coverage = any(row.coverage is not None for row in rows)
    width_cov = max([len("coverage"), *(len(row.coverage or "") for row in rows)])
    coverage_head = f"  {'coverage':>{width_cov}}" if with_coverage else ""
    lines = [f"{'job':<{width_job}}  {'status':<{width_status}}  {'duration':>8}"
             f"{coverage_head}  note"]
    for row in rows:
        took = f"{row.duration_s:.2f}s" if row.duration_s is not None else "-"
        status = f"{row.status:<{width_status}}"
        code = colors.get(row.status.split(" (")[0])
        if color and code:
            status = f"\x1b[{code}m{status}\x1b[0m"
        cov = f"  {row.coverage or '-':>{width_cov}}" if with_coverage else ""
        lines.append(f"{row.job:<{width_job}}  {status}  {took:>8}{cov}  {row.note}".rstrip())
    return "\n".join(lines) + "\n"
