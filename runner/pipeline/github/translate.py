"""A GitHub workflow file into the pipeline model: one ``model.Job`` per job (matrix) instance.

Everything the file gets wrong, and everything in it runner does not support,
is reported in one ``PipelineErrors`` before anything runs. The simulated
event (``--event``, ``--input``, ``--eventpath``) is checked after the file is
known to be sound. Each job's steps stay raw in a ``JobSpec`` that the step
program evaluates at run time; the executor never sees YAML or expressions.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from runner.errors import PipelineError, SourceSpot, UsageError, raise_all
from runner.pipeline import dag, yamlsrc
from runner.pipeline.github import exprs
from runner.pipeline.github.events import Trigger, filter_note, read_on
from runner.pipeline.github.gitctx import github_context, read_checkout, synthesized_event
from runner.pipeline.github.images import Images
from runner.pipeline.github.inputs import chosen_trigger, resolve_inputs
from runner.pipeline.github.instances import Row, Shared, instances
from runner.pipeline.github.jobsread import (
    JobDraft,
    check_env,
    permissions_text,
    read_defaults,
    read_job,
)
from runner.pipeline.github.reading import WorkflowLoader, WorkflowReader, text
from runner.pipeline.github.stepspec import Json
from runner.pipeline.model import Pipeline, SecretSource, container_project_dir
from runner.pipeline.yamlsrc import Map, Node, Scalar

WORKFLOW_KEYS = ("name", "run-name", "on", "env", "defaults", "permissions", "concurrency",
                 "jobs")


@dataclass(frozen=True)
class GithubOptions:
    """What the command line adds to a workflow file."""

    event: str = "push"
    event_path: Path | None = None
    inputs: tuple[tuple[str, str], ...] = ()
    vars: tuple[tuple[str, str], ...] = ()
    platforms: tuple[tuple[str, str], ...] = ()
    """``runs-on`` label -> image; earlier pairs (``--platform``) win over later (config)."""
    platform_hint: str = "~/.config/runner/config.yml"
    secrets: tuple[SecretSource, ...] = ()


@dataclass(frozen=True)
class Workflow:
    """The translated pipeline and what ``--list`` shows beyond the model."""

    pipeline: Pipeline
    name: str
    rows: tuple[Row, ...]
    notes: tuple[str, ...] = ()
    """Settings with no local effect (permissions, concurrency), for --list/--preview."""


def load_workflow(path: Path, root: Path, options: GithubOptions | None = None) -> Workflow:
    """Read, check and translate the workflow at ``path`` for the project at ``root``."""
    options = options or GithubOptions()
    try:
        source = yamlsrc.load_file(path, WorkflowLoader)
    except PipelineError as error:  # the loader's words are the native format's
        if "'version' and 'jobs'" not in error.message:
            raise
        raise PipelineError(error.spot, error.message.replace(
            "'version' and 'jobs'", "'on' and 'jobs'")) from None
    reader = WorkflowReader(source)
    top = source.root
    head = _head(reader, top, _shown_path(path, root))
    triggers, name, env = head.triggers, head.name, head.env
    drafts = _drafts(reader, top)
    trigger: Trigger | None = None
    inputs: dict[str, Json] = {}
    try:
        trigger = chosen_trigger(triggers, options.event, str(path))
        inputs = resolve_inputs(trigger, options.inputs, str(path))
    except UsageError:
        if not reader.problems:
            raise
        # The file's own problems come first; go on reading it to report them all.
    checkout = read_checkout(root)
    payload = _payload(options, checkout, inputs)
    github = github_context(options.event, payload, checkout, name, container_project_dir(root))
    note = filter_note(trigger, checkout.git.branch, checkout.git.tag) if trigger else None
    contexts: dict[str, Json] = {"github": github, "inputs": inputs,
                                 "vars": dict(options.vars)}
    secrets = frozenset(s.name for s in options.secrets)
    images = Images(reader, dict(reversed(options.platforms)), options.platform_hint, secrets)
    jobs, rows = instances(reader, images, drafts,
                           Shared(contexts, name, env, head.defaults, tuple(sorted(secrets))))
    unique = {str(p): p for p in reader.problems}.values()
    raise_all(sorted(unique, key=lambda p: (p.spot.line or 0, p.spot.column or 0)))
    _check_cycles(jobs, drafts, reader)
    registries = {r.host: r for job_rows in rows for r in job_rows.registries}
    pipeline = Pipeline(
        source=path, root=root, jobs=jobs, secrets=options.secrets, dialect="github",
        notes=tuple(n for n in (note, _git_note(checkout.git.note), *images.notes) if n),
        registries=tuple(registries.values()), mask="***",
    )
    return Workflow(pipeline, name, rows, head.notes)


@dataclass(frozen=True)
class _Head:
    """The workflow's own keys (everything but ``jobs``), read and checked."""

    triggers: tuple[Trigger, ...]
    name: str
    env: tuple[tuple[str, str], ...]
    defaults: tuple[str | None, str | None]
    notes: tuple[str, ...]


def _head(reader: WorkflowReader, top: Map, file: str) -> _Head:
    reader.keys(top, WORKFLOW_KEYS, "", "at the top of a workflow")
    triggers: tuple[Trigger, ...] = ()
    if (got := top.get("on")) is None:
        reader.problem(top.pos, "on", "a workflow needs 'on' (the events that run it)")
    else:
        triggers = read_on(reader, got.value)
    name = file
    if (got := top.get("name")) is not None:
        name = reader.string(got.value, "name", "'name'") or name
    if (got := top.get("run-name")) is not None and isinstance(got.value, Scalar):
        exprs.check(reader, text(got.value), got.value.pos, "run-name", "run-name")
    env: tuple[tuple[str, str], ...] = ()
    if (got := top.get("env")) is not None:
        env = check_env(reader, got.value, "env", "env")
    defaults: tuple[str | None, str | None] = (None, None)
    if (got := top.get("defaults")) is not None:
        defaults = read_defaults(reader, got.value, "defaults", exprs.JOB + "defaults.run")
    if (got := top.get("concurrency")) is not None:
        _check_concurrency(reader, got.value)
    return _Head(triggers, name, env, defaults, _no_effect(top))


def _drafts(reader: WorkflowReader, top: Map) -> tuple[JobDraft, ...]:
    got = top.get("jobs")
    if got is None:
        reader.problem(top.pos, "jobs", "a workflow needs 'jobs'")
        return ()
    jobs = reader.mapping(got.value, "jobs", "'jobs'")
    if jobs is None:
        return ()
    if not len(jobs):
        reader.problem(got.value.pos, "jobs", "'jobs' has no job")
    drafts = [read_job(reader, entry.key, entry.key_pos, entry.value) for entry in jobs]
    found = tuple(d for d in drafts if d is not None)
    ids = [entry.key for entry in jobs]
    for draft in found:
        for need, pos in draft.needs:
            if need not in ids:
                reader.problem(pos, f"jobs.{draft.id}.needs", f"job '{draft.id}' needs "
                               f"'{need}', which is not a job of this workflow"
                               + dag.closest(need, [i for i in ids if i != draft.id]))
            elif need == draft.id:
                reader.problem(pos, f"jobs.{draft.id}.needs", f"job '{draft.id}' needs itself")
    return found


def _check_cycles(jobs: tuple, drafts: tuple[JobDraft, ...], reader: WorkflowReader) -> None:  # type: ignore[type-arg]
    cycle = dag.find_cycle(jobs)
    if cycle is None:
        return
    by_name = {job.name: job for job in jobs}
    first = by_name[cycle[0]]
    spot = first.spot
    raise PipelineError(SourceSpot(reader.file, spot.line if spot else None,
                                   spot.column if spot else None, f"jobs.{cycle[0]}.needs"),
                        "the jobs' needs form a cycle: " + " -> ".join(cycle))


def _payload(options: GithubOptions, checkout: object, inputs: dict[str, Json]
             ) -> dict[str, Json]:
    from runner.pipeline.github.gitctx import Checkout  # noqa: PLC0415

    assert isinstance(checkout, Checkout)
    if options.event_path is None:
        return synthesized_event(options.event, checkout, inputs)
    try:
        loaded = json.loads(options.event_path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise UsageError(f"--eventpath {options.event_path}: {exc.strerror}") from None
    except (ValueError, UnicodeDecodeError) as exc:
        raise UsageError(f"--eventpath {options.event_path} is not JSON: {exc}") from None
    if not isinstance(loaded, dict):
        raise UsageError(f"--eventpath {options.event_path} must hold a JSON object")
    if options.event == "workflow_dispatch" and "inputs" not in loaded:
        loaded["inputs"] = synthesized_event("workflow_dispatch", checkout, inputs)["inputs"]
    return loaded


def _no_effect(top: Map) -> tuple[str, ...]:
    notes = []
    if (got := top.get("permissions")) is not None:
        notes.append(f"permissions: {permissions_text(got.value)} (no effect locally: there "
                     "is no GITHUB_TOKEN)")
    if (got := top.get("concurrency")) is not None:
        shown = text(got.value) if isinstance(got.value, Scalar) else "set"
        notes.append(f"concurrency: {shown} (no effect locally: one run at a time)")
    return tuple(notes)


def _git_note(note: str | None) -> str | None:
    """The checkout's note in this dialect's words (``github.sha``, not ``CI_COMMIT_*``)."""
    return note.replace("CI_COMMIT_* variables hold", "github.sha and github.ref hold") \
        if note else None


def _check_concurrency(reader: WorkflowReader, node: Node) -> None:
    """``concurrency``: a group (string) or ``{group, cancel-in-progress}``, expressions
    checked though it has no effect locally."""
    if isinstance(node, Map):
        reader.keys(node, ("group", "cancel-in-progress"), "concurrency", "in 'concurrency'")
        node = node.get("group").value if node.get("group") else node  # type: ignore[union-attr]
    if isinstance(node, Scalar) and "${{" in (raw := text(node)):
        exprs.check(reader, raw, node.pos, "concurrency", "concurrency")


def _shown_path(path: Path, root: Path) -> str:
    """The workflow's path as GitHub names an unnamed workflow: from the repository's top."""
    try:
        return path.resolve().relative_to(root.resolve()).as_posix()
    except ValueError:
        return str(path)
