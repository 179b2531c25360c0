"""Checks and orderings of the job graph formed by ``Job.needs``, for any dialect.

An edge ``a -> b`` means job ``a`` needs (waits for) job ``b``. Functions are
pure over a sequence of jobs. Errors point at a need through ``where``: by
default the needing job's own spot, but a dialect that knows where each need
item is written passes a sharper one.
"""

from __future__ import annotations

import difflib
import heapq
from collections.abc import Callable, Sequence

from runner.errors import PipelineError, SourceSpot
from runner.pipeline.model import Job

Where = Callable[[Job, int], SourceSpot]
"""The spot of need number ``index`` (0-based) of ``job``."""


def job_spot(job: Job, index: int) -> SourceSpot:
    """The default ``Where``: the needing job's spot, keyed ``jobs.<name>.needs[<index>]``."""
    key = f"jobs.{job.name}.needs[{index}]"
    if job.spot is None:
        return SourceSpot("<pipeline>", key=key)
    return SourceSpot(job.spot.file, job.spot.line, job.spot.column, key)


def closest(name: str, choices: Sequence[str]) -> str:
    """A hint for a misspelt ``name``: its nearest ``choices``, else all of them, else ""."""
    matches = difflib.get_close_matches(name, choices, n=3)
    if matches:
        return "; did you mean " + " or ".join(f"'{m}'" for m in matches) + "?"
    if choices:
        return "; valid names are " + ", ".join(f"'{c}'" for c in sorted(choices))
    return ""


def validate(jobs: Sequence[Job], where: Where = job_spot) -> None:
    """Raise PipelineError unless each need names another existing job once, with no cycle."""
    names = [job.name for job in jobs]
    known = set(names)
    for job in jobs:
        seen: set[str] = set()
        for index, need in enumerate(job.needs):
            if need.job == job.name:
                raise PipelineError(where(job, index), f"job '{job.name}' needs itself")
            if need.job in seen:
                raise PipelineError(
                    where(job, index), f"job '{job.name}' needs '{need.job}' more than once"
                )
            seen.add(need.job)
            if need.job not in known:
                others = [name for name in names if name != job.name]
                raise PipelineError(
                    where(job, index),
                    f"job '{job.name}' needs '{need.job}', which is not a job in this pipeline"
                    + closest(need.job, others),
                )
    cycle = find_cycle(jobs)
    if cycle is not None:
        first = next(job for job in jobs if job.name == cycle[0])
        index = next(i for i, need in enumerate(first.needs) if need.job == cycle[1])
        raise PipelineError(
            where(first, index),
            "jobs need each other in a cycle, so none of them could ever start: "
            + " -> ".join(cycle)
            + " (each needs the next); remove one of these needs",
        )


def find_cycle(jobs: Sequence[Job]) -> list[str] | None:
    """A cycle as a closed path (first name repeated last), starting at its earliest job.

    "Earliest" is file order, so the same pipeline always reports the same
    path. Needs naming unknown jobs are ignored here (``validate`` reports them).
    """
    order = {job.name: i for i, job in enumerate(jobs)}
    edges = {job.name: [n.job for n in job.needs if n.job in order] for job in jobs}
    state: dict[str, int] = {}  # 1: on the current path, 2: finished
    for start, first_needs in edges.items():
        if start in state:
            continue
        path: list[str] = [start]
        state[start] = 1
        stack = [iter(first_needs)]
        while stack:
            nxt = next(stack[-1], None)
            if nxt is None:
                state[path.pop()] = 2
                stack.pop()
            elif state.get(nxt) == 1:
                loop = path[path.index(nxt) :]
                pivot = min(range(len(loop)), key=lambda i: order[loop[i]])
                loop = loop[pivot:] + loop[:pivot]
                return [*loop, loop[0]]
            elif nxt not in state:
                state[nxt] = 1
                path.append(nxt)
                stack.append(iter(edges[nxt]))
    return None


def topological_order(jobs: Sequence[Job]) -> tuple[str, ...]:
    """Job names such that each comes after all it needs; ties keep file order.

    Call ``validate`` first: needs on unknown jobs are ignored, and a cycle
    raises ValueError here because it is a programming error by then.
    """
    position = {job.name: i for i, job in enumerate(jobs)}
    waiting = {job.name: {n.job for n in job.needs if n.job in position} for job in jobs}
    dependants: dict[str, list[str]] = {job.name: [] for job in jobs}
    for name, needs in waiting.items():
        for need in needs:
            dependants[need].append(name)
    ready = [(position[name], name) for name, needs in waiting.items() if not needs]
    heapq.heapify(ready)
    result: list[str] = []
    while ready:
        _, name = heapq.heappop(ready)
        result.append(name)
        for dependant in dependants[name]:
            waiting[dependant].discard(name)
            if not waiting[dependant]:
                heapq.heappush(ready, (position[dependant], dependant))
    if len(result) != len(jobs):
        raise ValueError("the job graph has a cycle; run dag.validate first")
    return tuple(result)


def upstream(jobs: Sequence[Job], name: str) -> set[str]:
    """Every job ``name`` waits for, directly or through others; KeyError for an unknown name."""
    needs = {job.name: [n.job for n in job.needs] for job in jobs}
    if name not in needs:
        raise KeyError(name)
    found: set[str] = set()
    todo = list(needs[name])
    while todo:
        current = todo.pop()
        if current in found:
            continue
        found.add(current)
        todo.extend(needs.get(current, ()))
    return found
