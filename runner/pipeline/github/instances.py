"""Each job's matrix instances as model jobs, with their names, images, needs and steps.

A job needed by another is waited for in every one of its instances (GitHub
waits for the whole matrix). Model job names are GitHub's display names;
two instances that would show the same name (a ``name:`` that leaves out a
matrix value) get `` #2``, `` #3`` so each can be selected and logged.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from runner.pipeline.github import exprs, wiring
from runner.pipeline.github.images import Images
from runner.pipeline.github.jobsread import JobDraft
from runner.pipeline.github.matrix import Instance, Strategy, display_name, read_strategy
from runner.pipeline.github.reading import WorkflowReader, text
from runner.pipeline.github.stepspec import JobSpec, Json
from runner.pipeline.model import Job, Need, Registry, When
from runner.pipeline.spot import Spot
from runner.pipeline.steps import MatrixGroup
from runner.pipeline.yamlsrc import Node, Scalar

DEFAULT_TIMEOUT_MINUTES = 360.0


@dataclass(frozen=True)
class Row:
    """What ``--list`` shows of one instance beyond the model job."""

    name: str
    job_id: str
    runs_on: str
    image: str
    environment: str | None
    permissions: str | None
    registries: tuple[Registry, ...] = ()
    container: bool = False
    spec: JobSpec | None = None
    """What the job's step program is made from (steps as written, contexts)."""
    needs: tuple[str, ...] = ()
    condition: str | None = None
    concurrency: str | None = None


@dataclass(frozen=True)
class Shared:
    """What every job of the workflow shares: contexts, env, defaults, secrets."""

    contexts: dict[str, Json]
    """``github``, ``inputs`` and ``vars``."""
    workflow: str
    env: tuple[tuple[str, str], ...]
    defaults: tuple[str | None, str | None]
    secrets: tuple[str, ...]


def instances(reader: WorkflowReader, images: Images, drafts: tuple[JobDraft, ...],
              shared: Shared) -> tuple[tuple[Job, ...], tuple[Row, ...]]:
    """Model jobs (in file order, instances in matrix order) and their list rows."""
    planned: list[tuple[JobDraft, Strategy, list[str]]] = []
    taken: set[str] = set()
    for draft in drafts:
        strategy = Strategy((Instance({}, ()),))
        if (got := draft.node.get("strategy")) is not None:
            strategy = read_strategy(reader, got.value, f"jobs.{draft.id}.strategy",
                                     shared.contexts)
        names = []
        for index, instance in enumerate(strategy.instances):
            contexts = _contexts(shared.contexts, strategy, instance, index)
            name = _unique(_name(reader, draft, strategy, instance, contexts), taken)
            taken.add(name)
            names.append(name)
        planned.append((draft, strategy, names))
    by_id = {draft.id: names for draft, _, names in planned}
    jobs: list[Job] = []
    rows: list[Row] = []
    for draft, strategy, names in planned:
        needs = [(n, need) for need, _ in draft.needs for n in by_id.get(need, [])]
        for index, name in enumerate(names):
            made = _Instance(reader, images, shared, draft, strategy, index).job(name, needs)
            if made is not None:
                jobs.append(made[0])
                rows.append(made[1])
    return tuple(jobs), tuple(rows)


def _unique(name: str, taken: set[str]) -> str:
    if name not in taken:
        return name
    count = 2
    while f"{name} #{count}" in taken:
        count += 1
    return f"{name} #{count}"


def _strategy_context(strategy: Strategy, index: int) -> dict[str, Json]:
    return {"fail-fast": strategy.fail_fast, "job-index": float(index),
            "job-total": float(len(strategy.instances)),
            "max-parallel": float(strategy.max_parallel or len(strategy.instances))}


def _contexts(base: dict[str, Json], strategy: Strategy, instance: Instance,
              index: int) -> dict[str, Json]:
    return {**base, "matrix": instance.matrix, "strategy": _strategy_context(strategy, index)}


def _name(reader: WorkflowReader, draft: JobDraft, strategy: Strategy, instance: Instance,
          contexts: dict[str, Json]) -> str:
    """GitHub's display name: an evaluated ``name:`` with ``${{ }}`` as is, else
    ``name`` (or the id) followed by the matrix values."""
    got = draft.node.get("name")
    written = text(got.value) if got is not None and isinstance(got.value, Scalar) else None
    if written and "${{" in written:
        value = _evaluate(reader, got.value, written, f"jobs.{draft.id}.name",  # type: ignore[union-attr]
                          contexts)
        if isinstance(value, str) and value:
            return display_name(value, ())
    return display_name(written or draft.id, instance.segments if strategy.matrix else ())


def _evaluate(reader: WorkflowReader, node: Node, raw: str, key: str,
              contexts: dict[str, Json]) -> Json:
    """``raw`` evaluated now (a template of one expression keeps its type); None on a problem."""
    from runner.pipeline.github.expr import ExprError, parse_template  # noqa: PLC0415

    try:
        template = parse_template(raw)
        if any("needs" in e.contexts() for e in template.expressions):
            reader.problem(node.pos, key, f"'{key}' depends on 'needs', which runner cannot "
                           "know when it reads the file")
            return None
        return exprs.evaluate(template, contexts)
    except ExprError:
        return None  # already reported when the job was read
    except Exception as exc:
        reader.problem(node.pos, key, f"cannot evaluate '{raw}': {getattr(exc, 'message', exc)}")
        return None


def _setting(reader: WorkflowReader, draft: JobDraft, name: str, contexts: dict[str, Json]
             ) -> Json:
    got = draft.node.get(name)
    if got is None or not isinstance(got.value, Scalar):
        return None
    from runner.pipeline.github.reading import value  # noqa: PLC0415

    raw = value(got.value)
    if isinstance(raw, str) and "${{" in raw:
        raw = _evaluate(reader, got.value, raw, f"jobs.{draft.id}.{name}", contexts)
    return raw


@dataclass(frozen=True)
class _Instance:
    """One instance of a job being made into a model job."""

    reader: WorkflowReader
    images: Images
    shared: Shared
    draft: JobDraft
    strategy: Strategy
    index: int

    def job(self, name: str, needs: list[tuple[str, str]]) -> tuple[Job, Row] | None:
        """The model job called ``name`` needing ``needs`` (model name, job id), and its row."""
        reader, draft, strategy, shared = self.reader, self.draft, self.strategy, self.shared
        instance = strategy.instances[self.index]
        key = f"jobs.{draft.id}"
        contexts = _contexts(shared.contexts, strategy, instance, self.index)
        placement = self.images.placement(draft.node, key, contexts)
        timeout = _minutes(reader, draft, contexts)
        continue_on_error = _setting(reader, draft, "continue-on-error", contexts)
        if isinstance(continue_on_error, str):
            continue_on_error = continue_on_error.strip().lower() == "true"
        if placement is None:
            return None
        spot = Spot(reader.file, draft.pos.line, draft.pos.column)
        # The container's env is its processes' environment on GitHub, under every step's
        # own; steps here get only what the session gives them, so it leads the job's env.
        merged = dict(placement.env)
        merged.update(shared.env)
        merged.update(draft.env)
        need_names = tuple(n for n, _ in needs)
        spec = JobSpec(
            workflow=shared.workflow, job_id=draft.id, name=name, spot=spot, steps=draft.steps,
            env=tuple(merged.items()), defaults_shell=draft.shell or shared.defaults[0],
            defaults_working_directory=draft.working_directory or shared.defaults[1],
            outputs=draft.outputs, github={**_dict(contexts["github"]), "job": draft.id},
            matrix=instance.matrix, strategy=_strategy_context(strategy, self.index),
            inputs=_dict(contexts["inputs"]), vars=_dict(contexts["vars"]), needs=need_names,
            need_ids=tuple(i for _, i in needs), container=placement.container,
            timeout_minutes=timeout, continue_on_error=continue_on_error is True,
        )
        if reader.problems:
            return None  # the file is refused: its problems are the whole report
        group = (MatrixGroup(draft.id, strategy.fail_fast, strategy.max_parallel)
                 if strategy.matrix else None)
        job = Job(
            name=name, image=placement.image, script=(), variables=placement.env,
            needs=tuple(Need(n, artifacts=False) for n in need_names), timeout_s=timeout * 60,
            allow_failure=continue_on_error is True, when=When.ON_SUCCESS,
            secrets=shared.secrets, spot=spot, services=placement.services,
            limits=placement.limits, steps=wiring.program(spec), group=group,
            condition=wiring.condition(spec, draft.condition),
        )
        row = Row(name, draft.id, placement.label, placement.image, draft.environment,
                  draft.permissions, placement.registries, placement.container, spec,
                  need_names, draft.condition, draft.concurrency)
        return job, row


def _minutes(reader: WorkflowReader, draft: JobDraft, contexts: dict[str, Json]) -> float:
    got = _setting(reader, draft, "timeout-minutes", contexts)
    if got is None:
        return DEFAULT_TIMEOUT_MINUTES
    try:
        minutes = float(got)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        minutes = -1.0
    if minutes <= 0:
        node = draft.node.get("timeout-minutes")
        reader.problem(node.value.pos if node else draft.pos,
                       f"jobs.{draft.id}.timeout-minutes",
                       f"'timeout-minutes' must be a positive number, got {got!r}")
        return DEFAULT_TIMEOUT_MINUTES
    return minutes


def _dict(data: Any) -> dict[str, Json]:  # noqa: ANN401 - contexts are JSON objects
    return dict(data) if isinstance(data, dict) else {}
