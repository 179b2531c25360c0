"""Running part of a pipeline: the jobs a user names, with or without what they need.

Dialect-neutral, over the model only. Without ``with_needs`` a named job runs
alone, as gitlab-ci-local runs it: its needs on jobs left out are dropped
from the DAG, and ``left_out`` says which, so the caller can hand the job
what those needs left in an earlier run (``runner.execute.reuse``).

A name may also be the base name of a ``parallel`` job: ``unit`` selects
every ``unit: [...]`` (``parallel: matrix``) or ``unit 1/3`` (``parallel: 3``)
job, as those are the names GitLab gives them; a job really called ``unit``
wins. Likewise the name of a matrix group (a GitHub job's id, ``test``) selects
every instance of it (``test (3.11, ubuntu)``, ...).
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Sequence

from runner.errors import UsageError
from runner.pipeline.dag import closest, upstream
from runner.pipeline.model import Need, Pipeline


def expand_names(pipeline: Pipeline, names: Sequence[str]) -> list[str]:
    """Each name as a job's, or every job made from the ``parallel`` job or the matrix of
    that name."""
    known = [job.name for job in pipeline.jobs]
    found: list[str] = []
    for name in names:
        if name in known:
            matches = [name]
        else:
            instance = re.compile(rf"{re.escape(name)}(?: [0-9]+/[0-9]+|: \[.*\])", re.DOTALL)
            matches = [job.name for job in pipeline.jobs if instance.fullmatch(job.name)
                       or (job.group is not None and job.group.name == name)]
        if not matches:
            raise UsageError(f"no job '{name}' in {pipeline.source}" + closest(name, known))
        found += [match for match in matches if match not in found]
    return found


def select_jobs(pipeline: Pipeline, names: Sequence[str], *, with_needs: bool) -> Pipeline:
    """``pipeline`` cut down to ``names`` (plus everything upstream with ``with_needs``).

    Needs on jobs left out are dropped from the jobs that keep running;
    ``left_out`` lists them.
    """
    keep = set(expand_names(pipeline, names))
    if with_needs:
        for name in list(keep):
            keep |= upstream(pipeline.jobs, name)
    jobs = []
    for job in pipeline.jobs:
        if job.name in keep:
            jobs.append(dataclasses.replace(
                job, needs=tuple(need for need in job.needs if need.job in keep)))
    return dataclasses.replace(pipeline, jobs=tuple(jobs))


def left_out(whole: Pipeline, selected: Pipeline) -> list[tuple[str, Need]]:
    """(job, need) for each need of a selected job on a job that is not selected."""
    running = {job.name for job in selected.jobs}
    return [(job.name, need) for job in whole.jobs if job.name in running
            for need in job.needs if need.job not in running]
