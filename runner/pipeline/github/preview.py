"""``--list`` and ``--preview`` of a GitHub workflow: what would run, without running it.

``--list`` is one row per job instance (matrix expanded): its name, the jobs
it needs, where it runs (``runs-on`` label -> image, or its container), its
``environment`` and ``permissions`` (shown; they have no effect locally).
``--preview`` shows each instance's steps as written: id, name, ``run`` or
``uses``, and ``if``.
"""

from __future__ import annotations

from runner.pipeline.github.instances import Row
from runner.pipeline.github.translate import Workflow


def render_list(workflow: Workflow) -> str:
    """A table of the jobs in the order they are written, instances in matrix order."""
    rows = [("name", "needs", "runs-on -> image", "environment")]
    for row in workflow.rows:
        where = f"container {row.image}" if row.container else f"{row.runs_on} -> {row.image}"
        rows.append((row.name, "[" + ", ".join(row.needs) + "]", where,
                     row.environment or "-"))
    widths = [max(len(r[c]) for r in rows) for c in range(3)]
    lines = ["  ".join(cell.ljust(width) for cell, width in zip(r, widths, strict=False))
             + "  " + r[3] for r in rows]
    out = "\n".join(line.rstrip() for line in lines) + "\n"
    notes = list(workflow.notes)
    notes += [f"{row.name}: permissions: {row.permissions} (no effect locally)"
              for row in workflow.rows if row.permissions]
    notes += [f"{row.name}: concurrency: {row.concurrency} (no effect locally)"
              for row in workflow.rows if row.concurrency]
    if notes:
        out += "\n" + "\n".join(f"note: {note}" for note in notes) + "\n"
    return out


def render_steps(workflow: Workflow) -> str:
    """Each job instance and its steps as written."""
    parts = [f"workflow: {workflow.name}"]
    for note in workflow.notes:
        parts.append(f"note: {note}")
    for row in workflow.rows:
        parts.append("")
        parts.append(_job(row))
    return "\n".join(parts) + "\n"


def _job(row: Row) -> str:
    lines = [f"job: {row.name}   (jobs.{row.job_id})"]
    if row.needs:
        lines.append(f"  needs: {', '.join(row.needs)}")
    if row.condition:
        lines.append(f"  if: {row.condition}")
    where = f"container {row.image}" if row.container else f"{row.runs_on} -> {row.image}"
    lines.append(f"  runs on: {where}")
    for step in row.spec.steps if row.spec else ():
        title = f"  - id: {step.id}"
        if step.name:
            title += f"   name: {step.name}"
        lines.append(title)
        if step.condition:
            lines.append(f"    if: {step.condition}")
        if step.uses is not None:
            lines.append(f"    uses: {step.uses}")
            lines += [f"      {k}: {v}" for k, v in step.with_]
        else:
            lines.append("    run: |")
            lines += [f"      {line}" for line in (step.run or "").splitlines()]
    return "\n".join(lines)
