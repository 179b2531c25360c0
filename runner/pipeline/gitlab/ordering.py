"""Stages, ``needs`` and ``dependencies`` turned into the model's only ordering: ``Job.needs``.

GitLab orders a job without ``needs`` after every job of all earlier stages
and hands it their artifacts, unless ``dependencies`` lists the few it wants
(``[]``: none). A job with ``needs`` waits only for those (any stage, since
GitLab 14.2) and takes their artifacts unless a need says
``artifacts: false``. A need on a parallel job means all of its instances
(``parallel:matrix`` in the need picks some). Jobs left out by ``rules`` or
``only``/``except`` are not waited for; needing one is an error unless the
need is ``optional``.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass, field, replace

from runner.errors import PipelineError, SourceSpot
from runner.pipeline import dag, yamlsrc
from runner.pipeline.gitlab.parallel import matrix_combinations
from runner.pipeline.gitlab.reading import GitLabReader
from runner.pipeline.model import Job, Need
from runner.pipeline.yamlsrc import Map, Node, Scalar, join_index

DEFAULT_STAGES = ("build", "test", "deploy")
DEFAULT_JOB_STAGE = "test"
NEED_KEYS = ("job", "artifacts", "optional", "parallel", "pipeline", "project", "ref")
NEED_PARALLEL_KEYS = ("matrix",)

Combo = tuple[tuple[str, str], ...]

PARENT_NEED = "\x00parent\x00"
"""Marks a need on a job of the parent pipeline (``needs: [{pipeline: $PARENT_PIPELINE_ID,
job: x}]`` in a child): ``child`` resolves it to the parent's job name."""


@dataclass(frozen=True)
class NeedSpec:
    """One ``needs`` item; ``matrix`` (if given) picks instances of a parallel job."""

    job: str
    spot: SourceSpot
    artifacts: bool = True
    optional: bool = False
    matrix: tuple[Combo, ...] | None = None
    parent: bool = False
    """A need on a job of the parent pipeline (only in a child pipeline): its artifacts."""


@dataclass(frozen=True)
class Dependency:
    """One ``dependencies`` item."""

    job: str
    spot: SourceSpot


@dataclass
class Placed:
    """A job instance in the pipeline, waiting for its needs to be resolved."""

    job: Job
    base: str
    """The definition it came from (the same as ``job.name`` unless parallel)."""
    stage: str
    spot: SourceSpot
    needs: tuple[NeedSpec, ...] | None
    dependencies: tuple[Dependency, ...] | None
    matrix: Combo = ()
    need_spots: list[SourceSpot] = field(default_factory=list)


def read_stages(reader: GitLabReader, top: Map) -> tuple[str, ...]:
    """``stages`` (default build, test, deploy) between the built-in ``.pre`` and ``.post``."""
    if (entry := top.get("types")) is not None:
        raise reader.fail(
            entry.key_pos,
            "types",
            "'types' is a deprecated name for 'stages' that GitLab no longer reads;"
            " rename it to 'stages'",
        )
    names: Sequence[str] = DEFAULT_STAGES
    if (entry := top.get("stages")) is not None:
        names = [text for text, _, _ in reader.strings(entry.value, "stages", "'stages'")]
    ordered = dict.fromkeys(n for n in names if n not in (".pre", ".post"))
    return (".pre", *ordered, ".post")


def job_stage(
    reader: GitLabReader, body: Map, key: str, what: str, stages: Sequence[str]
) -> str:
    """A job's stage (``test`` unless given), which must be one of ``stages``."""
    if (entry := body.get("type")) is not None:
        raise reader.fail(
            entry.key_pos,
            yamlsrc.join_key(key, "type"),
            f"'type' of {what} is a deprecated name for 'stage' that GitLab no longer reads;"
            " rename it to 'stage'",
        )
    got = reader.child(body, "stage", key, what)
    if got is None:
        name = DEFAULT_JOB_STAGE
        if name not in stages:
            raise reader.fail(
                body.pos,
                yamlsrc.join_key(key, "stage"),
                f"{what} has no 'stage', and the default stage 'test' is not in 'stages';"
                " give the job a 'stage'",
            )
        return name
    name = reader.nonempty_str(*got)
    if name not in stages:
        raise reader.fail(
            got[0].pos,
            got[1],
            f"{got[2]} is '{name}', which is not in 'stages'" + dag.closest(name, list(stages)),
        )
    return name


def read_needs(
    reader: GitLabReader,
    node: Node,
    key: str,
    what: str,
    *,
    job: str,
    known: Collection[str],
    child: bool = False,
) -> tuple[NeedSpec, ...]:
    """``needs``: job names or ``{job, artifacts, optional, parallel}`` items.

    In a ``child`` pipeline an item may name a job of the parent pipeline
    (``pipeline: $PARENT_PIPELINE_ID``), for its artifacts.
    """
    items = reader.expect_seq(node, key, what)
    specs: list[NeedSpec] = []
    seen: dict[tuple[str, tuple[Combo, ...] | None], int] = {}
    for index, item in enumerate(items.items):
        path = join_index(key, index)
        spec = _need(reader, item, path, f"a 'needs' item of job '{job}'", child)
        if spec.job not in known and not spec.parent:
            if spec.optional:
                continue
            raise reader.fail(
                item.pos,
                path,
                f"job '{job}' needs '{spec.job}', which is not a job in this pipeline"
                + dag.closest(spec.job, [k for k in known if k != job]),
            )
        ident = (("\x00" if spec.parent else "") + spec.job, spec.matrix)
        if ident in seen:
            raise reader.fail(
                item.pos,
                path,
                f"job '{job}' needs '{spec.job}' twice (first at line {seen[ident]})",
            )
        seen[ident] = item.pos.line
        specs.append(spec)
    return tuple(specs)


def _need(reader: GitLabReader, node: Node, key: str, what: str, child: bool) -> NeedSpec:
    spot = reader.spot(node.pos, key)
    if isinstance(node, Scalar):
        return NeedSpec(reader.nonempty_str(node, key, what), spot)
    spec = reader.expect_map(node, key, f"{what} (a job name or a mapping with 'job')")
    parent = child and spec.get("pipeline") is not None and spec.get("project") is None
    if parent and (got := reader.child(spec, "pipeline", key, what)) is not None:
        reader.nonempty_str(*got)  # $PARENT_PIPELINE_ID: the one other pipeline of a local run
    elif spec.get("pipeline") is not None or spec.get("project") is not None:
        raise reader.fail(
            spec.pos,
            key,
            f"{what} names another pipeline or project; cross-pipeline needs are not"
            " supported (a local run has only this pipeline)",
        )
    reader.check_keys(spec, NEED_KEYS, key, f"in {what}")
    got = reader.child(spec, "job", key, what)
    if got is None:
        raise reader.fail(spec.pos, yamlsrc.join_key(key, "job"), f"{what} has no 'job'")
    name = reader.nonempty_str(*got)
    if (ref := reader.child(spec, "ref", key, what)) is not None:
        reader.expect_str(*ref)
    artifacts: bool | None = None
    optional: bool | None = None
    if (got := reader.child(spec, "artifacts", key, what)) is not None:
        artifacts = reader.expect_bool(*got)
    if (got := reader.child(spec, "optional", key, what)) is not None:
        optional = reader.expect_bool(*got)
    matrix: tuple[Combo, ...] | None = None
    if (got := reader.child(spec, "parallel", key, what)) is not None:
        par = reader.expect_map(got[0], got[1], f"{got[2]} (a mapping with 'matrix')")
        reader.check_keys(par, NEED_PARALLEL_KEYS, got[1], f"in {got[2]}")
        inner = reader.child(par, "matrix", got[1], got[2])
        if inner is None:
            raise reader.fail(par.pos, got[1], f"{got[2]} has no 'matrix'")
        matrix = tuple(matrix_combinations(reader, *inner))
    return NeedSpec(name, spot, artifacts is not False, optional is True, matrix, parent)


def read_dependencies(
    reader: GitLabReader, node: Node, key: str, what: str, *, job: str, known: Collection[str]
) -> tuple[Dependency, ...]:
    """``dependencies``: names of jobs whose artifacts this one takes."""
    found: list[Dependency] = []
    for name, pos, path in reader.strings(reader.expect_seq(node, key, what), key, what):
        if name not in known:
            raise reader.fail(
                pos,
                path,
                f"{what} names '{name}', which is not a job in this pipeline"
                + dag.closest(name, [k for k in known if k != job]),
            )
        found.append(Dependency(name, reader.spot(pos, path)))
    return tuple(found)


def resolve(placed: Sequence[Placed], stages: Sequence[str], stage_of: dict[str, str]) -> tuple[
    Job, ...
]:
    """Every placed job with its final ``needs``, the graph checked for unknowns and cycles.

    ``stage_of`` gives the stage of every job defined in the file, including
    those left out of this pipeline (``dependencies`` may name them).
    """
    rank = {name: index for index, name in enumerate(stages)}
    instances: dict[str, list[Placed]] = {}
    for item in placed:
        instances.setdefault(item.base, []).append(item)
    for item in placed:
        _check_dependencies(item, rank, stage_of)
        wanted = None if item.dependencies is None else {d.job for d in item.dependencies}
        needs: list[Need] = []
        spots: list[SourceSpot] = []
        if item.needs is None:
            mine = rank[item.stage]
            for other in placed:
                if rank[other.stage] < mine:
                    needs.append(Need(other.job.name, wanted is None or other.base in wanted))
                    spots.append(item.spot)
        else:
            parents = [spec for spec in item.needs if spec.parent]
            for spec in item.needs:
                if spec.parent:
                    continue
                for other in _targets(item, spec, instances):
                    artifacts = spec.artifacts and (wanted is None or spec.job in wanted)
                    if all(n.job != other.job.name for n in needs):
                        needs.append(Need(other.job.name, artifacts))
                        spots.append(spec.spot)
            # Last, so the spots of the needs validated below keep their indices.
            needs += [Need(PARENT_NEED + spec.job, spec.artifacts) for spec in parents]
        item.job = replace(item.job, needs=tuple(needs))
        item.need_spots = spots
    spot_of = {item.job.name: item for item in placed}

    def where(job: Job, index: int) -> SourceSpot:
        found = spot_of[job.name]
        return found.need_spots[index] if index < len(found.need_spots) else found.spot

    jobs = tuple(item.job for item in placed)
    dag.validate([_own_needs(job) for job in jobs], where)
    return jobs


def _own_needs(job: Job) -> Job:
    """``job`` without its needs on the parent pipeline's jobs (this graph does not have them)."""
    if all(not need.job.startswith(PARENT_NEED) for need in job.needs):
        return job
    return replace(job, needs=tuple(n for n in job.needs if not n.job.startswith(PARENT_NEED)))


def _check_dependencies(item: Placed, rank: dict[str, int], stage_of: dict[str, str]) -> None:
    """GitLab's rules for ``dependencies``: earlier stages only, or a subset of ``needs``."""
    for dep in item.dependencies or ():
        if item.needs is not None:
            if all(spec.job != dep.job for spec in item.needs):
                raise PipelineError(
                    dep.spot,
                    f"job '{item.base}' lists '{dep.job}' in 'dependencies' but not in"
                    " 'needs'; with 'needs', dependencies must be among the needed jobs",
                )
        elif rank[stage_of[dep.job]] >= rank[item.stage]:
            raise PipelineError(
                dep.spot,
                f"job '{item.base}' (stage '{item.stage}') lists '{dep.job}' (stage"
                f" '{stage_of[dep.job]}') in 'dependencies'; only jobs of earlier stages can"
                " be dependencies (or add it to 'needs')",
            )


def _targets(item: Placed, spec: NeedSpec, instances: dict[str, list[Placed]]) -> list[Placed]:
    """The instances a need stands for; an error if a needed job is not in the pipeline."""
    found = instances.get(spec.job, [])
    if spec.matrix is not None:
        wanted = [dict(combo) for combo in spec.matrix]
        found = [other for other in found if dict(other.matrix) in wanted]
        if not found and instances.get(spec.job) and not spec.optional:
            raise PipelineError(
                spec.spot,
                f"job '{item.base}' needs '{spec.job}' with a 'parallel:matrix' that matches"
                " none of its jobs; give every matrix variable with a value it has",
            )
    if not found and not spec.optional:
        raise PipelineError(
            spec.spot,
            f"job '{item.base}' needs '{spec.job}', which is not in this pipeline (its rules"
            " or only/except leave it out for this ref); add 'optional: true' to the need"
            " to run without it",
        )
    return found
