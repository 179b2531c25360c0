"""Child pipelines of trigger jobs: composed from their include items, translated, named.

A child pipeline's configuration is what GitLab would read from a file that
holds only ``include: <the trigger's items>``: each item is composed as the
main file's includes are (local paths, globs, nested includes), the results
deep-merged in order, then ``extends``, ``!reference`` and ``default`` applied.
An ``artifact`` item is a file an upstream job generated; a child with one
is translated only when the executor calls the trigger's ``load`` with the
artifacts of those jobs, so the executor never sees YAML.

Child jobs are named ``<trigger job> > <job>`` (a grandchild's ``a > b > c``),
so logs, artifacts and results of a child never meet the parent's. A need
on a job of the parent (``needs: pipeline: $PARENT_PIPELINE_ID``) becomes a
need on that job's model name, for its artifacts.

GitLab nests at most two levels of child pipelines
(Ci::CreateDownstreamPipelineService::MAX_NESTED_CHILDREN): a trigger job
deeper than that fails with "You reached the maximum depth of child pipelines".
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import replace
from pathlib import Path

from runner.errors import UsageError
from runner.pipeline import yamlsrc
from runner.pipeline.fields import FieldReader
from runner.pipeline.gitlab import source as gitlab_source
from runner.pipeline.gitlab.compose import Composed, compose_merged
from runner.pipeline.gitlab.include import expand_includes
from runner.pipeline.gitlab.merge import deep_merge
from runner.pipeline.gitlab.ordering import PARENT_NEED
from runner.pipeline.gitlab.trigger import ChildFile, TriggerSpec
from runner.pipeline.model import ChildLoader, Job, Need, Pipeline, Trigger
from runner.pipeline.yamlsrc import Entry, Map, Seq

MAX_NESTED_CHILDREN = 2
"""Levels of child pipelines GitLab allows under a parent pipeline."""

SEPARATOR = " > "
"""Between a trigger job's name and its child's job names."""

Translate = Callable[[Composed], Pipeline]
"""Translates a composed child with the child's options (``translate`` supplies it)."""


def trigger_for(
    spec: TriggerSpec,
    name: str,
    *,
    parent: yamlsrc.Source,
    root: Path,
    depth: int,
    translate: Translate,
) -> Trigger:
    """The model of trigger job ``name`` of a pipeline ``depth`` levels below the top."""
    if spec.project is not None:
        return Trigger(depend=spec.depend, project=spec.project)
    if depth >= MAX_NESTED_CHILDREN:
        return Trigger(
            depend=spec.depend,
            failure=f"{spec.spot.file}:{spec.spot.line}: you reached the maximum depth of child"
            f" pipelines (GitLab nests at most {MAX_NESTED_CHILDREN} levels of child pipelines)",
        )
    prefix = name + SEPARATOR
    jobs = spec.artifact_jobs
    if not jobs:
        child = translate(compose_child(spec, parent, root, {}))
        return Trigger(depend=spec.depend, child=named(child, prefix))

    def load(dirs: tuple[Path, ...]) -> Pipeline:
        return named(translate(compose_child(spec, parent, root, dict(zip(jobs, dirs,
                                                                         strict=True)))), prefix)

    return Trigger(depend=spec.depend, load=load, artifact_jobs=jobs)


def compose_child(
    spec: TriggerSpec, parent: yamlsrc.Source, root: Path, artifacts: Mapping[str, Path]
) -> Composed:
    """The child's configuration; ``artifacts`` holds the artifacts dir of each generating job."""
    merged: Map | None = None
    notes: list[str] = []
    for item in spec.files:
        if item.job is None:
            source = yamlsrc.Source(
                parent.file, parent.text,
                Map((Entry("include", item.node.pos, Seq((item.node,), item.node.pos)),),
                    item.node.pos),
                parent.values,
            )
        else:
            source = _generated(item, artifacts[item.job], FieldReader(parent))
        tree, more = expand_includes(source, root, FieldReader(source))
        merged = tree if merged is None else deep_merge(merged, tree)
        notes += more
    assert merged is not None  # read_trigger refuses an empty include
    main = yamlsrc.Source(parent.file, parent.text, merged, parent.values)
    return compose_merged(main, FieldReader(main), merged, tuple(notes))


def _generated(item: ChildFile, directory: Path, reader: FieldReader) -> yamlsrc.Source:
    """The file a job generated, read from its artifacts (never from outside them)."""
    assert item.artifact is not None and item.job is not None
    path = directory / item.artifact
    where = f"'{item.artifact}' from the artifacts of job '{item.job}'"
    try:
        real = path.resolve()
        inside = real.is_relative_to(directory.resolve())
        if not inside or not real.is_file():
            raise FileNotFoundError(path)
        text = yamlsrc.read_text(real)
    except (OSError, UsageError):
        raise reader.fail(
            item.node.pos,
            item.key,
            f"the child pipeline includes {where}, but the job left no such file in its"
            " artifacts (list it in the job's 'artifacts: paths')",
        ) from None
    return gitlab_source.load_text(text, str(path))


def named(pipeline: Pipeline, prefix: str) -> Pipeline:
    """``pipeline`` with every job name (and need, and nested child) under ``prefix``."""
    return replace(pipeline, jobs=tuple(_job(job, prefix) for job in pipeline.jobs))


def _job(job: Job, prefix: str) -> Job:
    needs = tuple(
        Need(need.job.removeprefix(PARENT_NEED), need.artifacts)
        if need.job.startswith(PARENT_NEED) else Need(prefix + need.job, need.artifacts)
        for need in job.needs
    )
    trigger = job.trigger
    if trigger is not None:
        trigger = replace(
            trigger,
            child=None if trigger.child is None else named(trigger.child, prefix),
            load=None if trigger.load is None else _renaming(trigger.load, prefix),
            artifact_jobs=tuple(prefix + name for name in trigger.artifact_jobs),
        )
    return replace(job, name=prefix + job.name, needs=needs, trigger=trigger)


def _renaming(load: ChildLoader, prefix: str) -> ChildLoader:
    def renamed(dirs: tuple[Path, ...]) -> Pipeline:
        return named(load(dirs), prefix)

    return renamed
