"""Which line of a job's script failed, said as the user wrote it: ``pipeline.yml:12 ('make')``.

The shell's own message names the generated script (``/.runner/script.sh:
line 43``), which the user never wrote. The script records the number of
each line before running it (``boot.job_script``), the supervisor reports
the last one with the exit status, and the model knows where each line is
written (``Job.script_spots``). Jobs without a file (the agent's, from
GitLab's payload) are named by their line's number in the script instead.
"""

from __future__ import annotations

from collections.abc import Sequence

from runner.pipeline.model import Spot

SHOWN = 60
"""Characters of the failing command shown; the rest is in the log, echoed before it ran."""


def where(lines: Sequence[str], spots: Sequence[Spot], step: int | None) -> str | None:
    """``FILE:LINE`` of line ``step`` (1-based), ``script line N`` without spots; None if
    ``step`` names no line (the script failed before its first, or the record is garbled)."""
    if step is None or not 1 <= step <= len(lines):
        return None
    if len(spots) == len(lines):
        spot = spots[step - 1]
        return f"{spot.file}:{spot.line}"
    return f"script line {step}"


def failed_at(lines: Sequence[str], spots: Sequence[Spot], step: int | None) -> str | None:
    """``where`` plus the command itself, cut to its first line and ``SHOWN`` characters."""
    place = where(lines, spots, step)
    if place is None or step is None:
        return None
    command = lines[step - 1].strip()
    first = command.split("\n", 1)[0]
    if len(first) > SHOWN:
        first = first[:SHOWN].rstrip() + " …"
    elif first != command:
        first += " …"
    return f"{place} ('{first}')"


def failed_line(what: str, lines: Sequence[str], spots: Sequence[Spot], step: int | None,
                code: int) -> str:
    """Runner's line for the job log: ``runner: the job failed at pipeline.yml:12 ('make
    test'): exit status 2``, or without ``at …`` when the line is not known."""
    place = failed_at(lines, spots, step)
    at = f" at {place}" if place is not None else ""
    return f"runner: {what} failed{at}: exit status {code}"
