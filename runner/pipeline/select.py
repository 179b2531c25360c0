"""Running part of a pipeline: the jobs a user names, with or without what they need.

Dialect-neutral, over the model only. Without ``with_needs`` a named job runs
alone: its needs on jobs left out are dropped (GitLab's "run this one job"
habit from gitlab-ci-local), and the caller is told which ones.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence

from runner.errors import UsageError
from runner.pipeline.dag import closest, upstream
from runner.pipeline.model import Pipeline


def select_jobs(pipeline: Pipeline, names: Sequence[str], *, with_needs: bool) -> Pipeline:
    """``pipeline`` cut down to ``names`` (plus everything upstream with ``with_needs``)."""
    known = [job.name for job in pipeline.jobs]
    for name in names:
        if name not in known:
            raise UsageError(f"no job '{name}' in {pipeline.source}" + closest(name, known))
    keep = set(names)
    if with_needs:
        for name in names:
            keep |= upstream(pipeline.jobs, name)
    jobs = []
    notes = list(pipeline.notes)
    for job in pipeline.jobs:
        if job.name not in keep:
            continue
        dropped = [need.job for need in job.needs if need.job not in keep]
        if dropped:
            shown = ", ".join(f"'{name}'" for name in dropped)
            notes.append(f"job '{job.name}' runs without {shown}, which it needs; add --needs "
                         "to run them first")
            jobs.append(dataclasses.replace(
                job, needs=tuple(need for need in job.needs if need.job in keep)))
        else:
            jobs.append(job)
    return dataclasses.replace(pipeline, jobs=tuple(jobs), notes=tuple(notes))
