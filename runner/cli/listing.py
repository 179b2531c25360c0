"""``runner exec --list``: the jobs a pipeline would run, without running anything."""

from __future__ import annotations

from runner.pipeline.model import Pipeline


def render_list(pipeline: Pipeline) -> str:
    """A table of name, stage, when, allow_failure and needs, in the order jobs would start.

    Stages come first in their declared order (jobs of the same stage in file
    order), so the table reads like GitLab's pipeline graph from left to right.
    """
    rank = {stage: index for index, stage in enumerate(pipeline.stages)}
    order = sorted(range(len(pipeline.jobs)),
                   key=lambda i: (rank.get(pipeline.jobs[i].stage, len(rank)), i))
    rows = [("name", "stage", "when", "allow_failure", "needs")]
    for index in order:
        job = pipeline.jobs[index]
        allowed = "true" if job.allow_failure else "false"
        if job.allow_failure and job.allow_failure_codes:
            allowed = "exit " + ",".join(str(code) for code in job.allow_failure_codes)
        needs = ", ".join(need.job for need in job.needs)
        rows.append((job.name, job.stage or "-", job.when.value, allowed, f"[{needs}]"))
    widths = [max(len(row[column]) for row in rows) for column in range(4)]
    lines = ["  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=False))
             + "  " + row[4] for row in rows]
    return "\n".join(line.rstrip() for line in lines) + "\n"
