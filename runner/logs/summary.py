"""The table printed when a pipeline ends."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass


@dataclass(frozen=True)
class Row:
    """One job's line in the summary."""

    job: str
    status: str
    duration_s: float | None
    note: str = ""
    coverage: str | None = None


def render(rows: Sequence[Row], *, color: bool) -> str:
    """A fixed-width table: job, status, duration, coverage (if any job has one), note."""
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
