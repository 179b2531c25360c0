"""Stages and "final" jobs resolved into explicit needs, then the whole job graph checked.

Dialect-neutral: a translator reads each job into a ``Draft`` and hands all of
them to ``resolve_needs``, so the executor only ever sees a DAG.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

from runner.errors import PipelineError, SourceSpot
from runner.pipeline import dag
from runner.pipeline.fields import FieldReader
from runner.pipeline.model import Job, Need, When
from runner.pipeline.yamlsrc import Node, join_index


@dataclass
class Draft:
    """A parsed job before its needs are resolved (which takes all jobs and the stages)."""

    name: str
    spot: SourceSpot
    """Where the job is named: graph errors not tied to one of its ``needs`` point here."""
    job: Job
    stage: str | None
    explicit_needs: bool
    need_spots: list[SourceSpot] = field(default_factory=list)


def stage_list(reader: FieldReader, node: Node) -> list[str]:
    """The top-level ``stages``: stage names in run order, each once."""
    items = reader.expect_seq(node, "stages", "'stages'")
    if not items.items:
        raise reader.fail(node.pos, "stages", "'stages' is empty; name at least one stage")
    stages: list[str] = []
    for index, item in enumerate(items.items):
        path = join_index("stages", index)
        name = reader.nonempty_str(item, path, "a stage name")
        if name in stages:
            raise reader.fail(item.pos, path, f"stage '{name}' is listed twice")
        stages.append(name)
    return stages


def job_stage(
    reader: FieldReader, stages: list[str] | None, node: Node, key: str, what: str
) -> str:
    """A job's stage, which must be one of the top-level ``stages``."""
    name = reader.expect_str(node, key, what)
    if stages is None:
        raise reader.fail(
            node.pos,
            key,
            f"{what} needs a top-level 'stages' list naming the stages in order",
        )
    if name not in stages:
        raise reader.fail(
            node.pos,
            key,
            f"{what} is '{name}', which is not in 'stages'" + dag.closest(name, stages),
        )
    return name


def resolve_needs(drafts: list[Draft], stages: list[str] | None) -> tuple[Job, ...]:
    """Turn stages and "final" jobs into explicit needs, then check the whole graph."""
    if stages is not None:
        _stage_needs(drafts, stages)
    else:
        _final_needs(drafts)
    _output_needs(drafts)
    by_name = {draft.name: draft for draft in drafts}

    def where(job: Job, index: int) -> SourceSpot:
        draft = by_name[job.name]
        if draft.explicit_needs and index < len(draft.need_spots):
            return draft.need_spots[index]
        return draft.spot

    jobs = tuple(draft.job for draft in drafts)
    dag.validate(jobs, where)
    return jobs


def _output_needs(drafts: list[Draft]) -> None:
    """A job using a build job's output (``${{ jobs.X.image }}``) waits for X, artifacts or not."""
    builds = {d.name for d in drafts if d.job.build is not None}
    names = {d.name for d in drafts}
    for draft in drafts:
        have = {need.job for need in draft.job.needs}
        added: list[Need] = []
        for ref in sorted(draft.job.output_refs()):
            if ref not in builds:
                why = ("it has no 'build', so it makes no image" if ref in names
                       else "there is no such job" + dag.closest(ref, sorted(names)))
                raise PipelineError(draft.spot, f"job '{draft.name}' uses an output of job "
                                    f"'{ref}' (${{{{ jobs.{ref}... }}}}), but {why}")
            if ref not in have:
                added.append(Need(ref, artifacts=False))
        if added:
            draft.job = replace(draft.job, needs=draft.job.needs + tuple(added))


def _stage_needs(drafts: list[Draft], stages: list[str]) -> None:
    """A job without ``needs`` waits for every job of all earlier stages, as in GitLab."""
    rank = {name: index for index, name in enumerate(stages)}
    stage_of = {d.name: d.stage if d.stage is not None else stages[0] for d in drafts}
    for draft in drafts:
        mine = rank[stage_of[draft.name]]
        if draft.explicit_needs:
            for index, need in enumerate(draft.job.needs):
                theirs = stage_of.get(need.job)
                if theirs is not None and rank[theirs] > mine:
                    raise PipelineError(
                        draft.need_spots[index],
                        f"job '{draft.name}' (stage '{stage_of[draft.name]}') needs"
                        f" '{need.job}' of the later stage '{theirs}'; a job can only need"
                        " jobs of its own or earlier stages",
                    )
            continue
        needs = tuple(Need(d.name) for d in drafts if rank[stage_of[d.name]] < mine)
        draft.job = replace(draft.job, needs=needs)


def _final_needs(drafts: list[Draft]) -> None:
    """Without stages, an on_failure/always job without ``needs`` runs after the rest."""

    def final(draft: Draft) -> bool:
        return not draft.explicit_needs and draft.job.when is not When.ON_SUCCESS

    others = tuple(Need(d.name) for d in drafts if not final(d))
    for draft in drafts:
        if final(draft):
            draft.job = replace(draft.job, needs=others)
