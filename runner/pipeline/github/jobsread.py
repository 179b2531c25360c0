"""One entry of ``jobs:`` read and checked, before its matrix makes instances of it.

Keys are checked against GitHub's job schema; each value that may hold
``${{ }}`` is checked for syntax and the contexts that key may read. Values
evaluated per instance (``name``, ``runs-on``, ``container``, ``timeout-minutes``,
``continue-on-error``) are kept as nodes for ``translate``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace

from runner.pipeline import yamlsrc
from runner.pipeline.github import exprs
from runner.pipeline.github.reading import WorkflowReader, text, value
from runner.pipeline.github.stepspec import StepSpec
from runner.pipeline.github.stepsread import read_steps
from runner.pipeline.yamlsrc import Map, Node, Pos, Scalar

JOB_KEYS = ("name", "needs", "runs-on", "container", "services", "strategy", "env", "outputs",
            "timeout-minutes", "continue-on-error", "defaults", "environment", "if", "steps",
            "permissions", "concurrency", "uses", "with", "secrets")
JOB_ID = re.compile(r"[A-Za-z_][A-Za-z0-9_-]*")


@dataclass(frozen=True)
class JobDraft:
    """A job as written, checked; instance-specific values still nodes."""

    id: str
    node: Map
    pos: Pos
    needs: tuple[tuple[str, Pos], ...]
    steps: tuple[StepSpec, ...]
    env: tuple[tuple[str, str], ...]
    outputs: tuple[tuple[str, str], ...]
    condition: str | None
    shell: str | None
    working_directory: str | None
    environment: str | None
    permissions: str | None
    concurrency: str | None


def read_defaults(reader: WorkflowReader, node: Node, key: str, place: str
                  ) -> tuple[str | None, str | None]:
    """``defaults.run``'s ``shell`` and ``working-directory``."""
    mapping = reader.mapping(node, key, f"'{key}'")
    if mapping is None:
        return None, None
    reader.keys(mapping, ("run",), key, f"in '{key}'")
    run = mapping.get("run")
    if run is None:
        return None, None
    inner = reader.mapping(run.value, f"{key}.run", f"'{key}.run'")
    if inner is None:
        return None, None
    reader.keys(inner, ("shell", "working-directory"), f"{key}.run", f"in '{key}.run'")
    found: list[str | None] = []
    for name in ("shell", "working-directory"):
        got = inner.get(name)
        raw = reader.string(got.value, f"{key}.run.{name}", f"'{name}'") if got else None
        if raw is not None and "${{" in raw and got is not None:
            exprs.check(reader, raw, got.value.pos, f"{key}.run.{name}", place)
        found.append(raw)
    return found[0], found[1]


def check_env(reader: WorkflowReader, node: Node, key: str, place: str
              ) -> tuple[tuple[str, str], ...]:
    """An ``env:`` mapping with each value's expressions checked."""
    pairs = []
    for name, raw, item in reader.env(node, key, f"'{key}'"):
        if "${{" in raw:
            exprs.check(reader, raw, item.pos, f"{key}.{name}", place)
        pairs.append((name, raw))
    return tuple(pairs)


def _shown(reader: WorkflowReader, node: Node, key: str, place: str, name: str) -> str | None:
    """A string or a mapping's ``name`` entry, as written (for --list), expressions checked."""
    if isinstance(node, Map):
        node = node.get(name).value if node.get(name) else node  # type: ignore[union-attr]
        if isinstance(node, Map):
            return None
    raw = text(node) if isinstance(node, Scalar) else None
    if raw and "${{" in raw:
        exprs.check(reader, raw, node.pos, key, place)
    return raw


def read_job(reader: WorkflowReader, job_id: str, pos: Pos, node: Node) -> JobDraft | None:
    """The job ``job_id`` checked; None when it cannot be used (problems recorded)."""
    key = f"jobs.{job_id}"
    if not JOB_ID.fullmatch(job_id):
        reader.problem(pos, key, f"job id '{job_id}' must start with a letter or '_' and hold "
                       "only letters, digits, '_' and '-'")
    job = reader.mapping(node, key, f"job '{job_id}'")
    if job is None:
        return None
    reader.keys(job, JOB_KEYS, key, f"in job '{job_id}'")
    if (uses := job.get("uses")) is not None:
        called = text(uses.value) if isinstance(uses.value, Scalar) else "?"
        reader.problem(uses.key_pos, f"{key}.uses", f"runner does not run reusable workflows "
                       f"('uses: {called}'; issue 18); copy its jobs into this file")
        return None
    for name in ("with", "secrets"):
        if (got := job.get(name)) is not None:
            reader.problem(got.key_pos, f"{key}.{name}", f"'{name}' belongs to a job that "
                           "calls a reusable workflow ('uses')")
    if job.get("runs-on") is None:
        reader.problem(job.pos, key, f"job '{job_id}' needs 'runs-on'")
    steps: tuple[StepSpec, ...] = ()
    if (got := job.get("steps")) is None:
        reader.problem(job.pos, key, f"job '{job_id}' needs 'steps'")
    else:
        steps = read_steps(reader, got.value, f"{key}.steps")
    needs: list[tuple[str, Pos]] = []
    if (got := job.get("needs")) is not None:
        needs = [(t, n.pos) for t, n, _ in reader.strings(got.value, f"{key}.needs",
                                                           f"'{key}.needs'")]
    env: tuple[tuple[str, str], ...] = ()
    outputs: tuple[tuple[str, str], ...] = ()
    if (got := job.get("env")) is not None:
        env = check_env(reader, got.value, f"{key}.env", exprs.JOB + "env")
    if (got := job.get("outputs")) is not None:
        outputs = check_env(reader, got.value, f"{key}.outputs", exprs.JOB + "outputs")
    draft = JobDraft(job_id, job, job.pos, tuple(needs), steps, env, outputs, None, None, None,
                     None, None, None)
    return _rest(reader, job, key, draft)


def _rest(reader: WorkflowReader, job: Map, key: str, draft: JobDraft) -> JobDraft:
    """``if``, ``defaults``, ``environment``, ``permissions``, ``concurrency``, and the
    expressions of the values evaluated per instance, checked."""
    condition = None
    if (got := job.get("if")) is not None:
        condition = _condition_text(got.value)
        exprs.check_condition(reader, condition, got.value.pos, f"{key}.if", exprs.JOB + "if")
    shell = wd = None
    if (got := job.get("defaults")) is not None:
        shell, wd = read_defaults(reader, got.value, f"{key}.defaults",
                                  exprs.JOB + "defaults.run")
    environment = permissions = concurrency = None
    if (got := job.get("environment")) is not None:
        environment = _shown(reader, got.value, f"{key}.environment",
                             exprs.JOB + "environment", "name")
    if (got := job.get("permissions")) is not None:
        permissions = _permissions(got.value)
    if (got := job.get("concurrency")) is not None:
        concurrency = _shown(reader, got.value, f"{key}.concurrency", exprs.JOB + "concurrency",
                             "group")
    for name in ("timeout-minutes", "continue-on-error", "name"):
        if (got := job.get(name)) is not None and isinstance(got.value, Scalar):
            raw = text(got.value)
            if "${{" in raw:
                exprs.check(reader, raw, got.value.pos, f"{key}.{name}", exprs.JOB + name)
    return replace(draft, condition=condition, shell=shell, working_directory=wd,
                   environment=environment, permissions=permissions, concurrency=concurrency)


def _condition_text(node: Node) -> str:
    """An ``if:`` as text; YAML's ``true``/``false`` and numbers as GitHub reads them."""
    got = value(node) if isinstance(node, Scalar) else None
    if isinstance(got, bool):
        return "true" if got else "false"
    return text(node) if isinstance(node, Scalar) else ""


def _permissions(node: Node) -> str:
    """``read-all`` or ``contents: read, ...`` for --list."""
    if isinstance(node, Map):
        return ", ".join(f"{e.key}: {text(e.value)}" for e in node if isinstance(e.value, Scalar))
    return text(node) if isinstance(node, Scalar) else ""


def permissions_text(node: Node) -> str:
    """The workflow's ``permissions`` for --list."""
    return _permissions(node)


def join(parent: str, name: str) -> str:
    """Key path helper re-exported for the translator."""
    return yamlsrc.join_key(parent, name)
