"""``jobs.<id>.steps``: each entry checked and kept raw as a ``StepSpec`` for the session.

Keys are GitHub's; every ``${{ }}`` is checked for syntax and for the
contexts a step may read. What runner cannot run is a problem named at its
line: a ``uses:`` that is not one of the built-in actions (actions are issue
18), ``docker://`` actions, and shells that are not in a Linux container
(``pwsh``, ``powershell``, ``cmd``).
"""

from __future__ import annotations

import re

from runner.pipeline import yamlsrc
from runner.pipeline.github import exprs
from runner.pipeline.github.reading import WorkflowReader, text
from runner.pipeline.github.stepspec import StepSpec
from runner.pipeline.spot import Spot
from runner.pipeline.yamlsrc import Map, Node, Scalar

STEP_KEYS = ("id", "if", "name", "uses", "run", "shell", "with", "env", "continue-on-error",
             "timeout-minutes", "working-directory")
UNSUPPORTED_SHELLS = ("pwsh", "powershell", "cmd")
ID = re.compile(r"[A-Za-z_][A-Za-z0-9_-]*")


def generated_id(uses: str | None, taken: set[str]) -> str:
    """GitHub's id for a step without one: ``__run``, ``__actions_checkout``, then ``_2``..."""
    base = "__run"
    if uses is not None:
        name = uses.partition("@")[0].removeprefix("./")
        base = "__" + re.sub(r"[^A-Za-z0-9]", "_", name)
    found, count = base, 1
    while found in taken:
        count += 1
        found = f"{base}_{count}"
    return found


def read_steps(reader: WorkflowReader, node: Node, key: str) -> tuple[StepSpec, ...]:
    """The job's steps; problems recorded on ``reader``."""
    seq = node if not isinstance(node, Map | Scalar) else None
    if seq is None:
        reader.problem(node.pos, key, f"'{key}' must be a list of steps")
        return ()
    if not seq.items:
        reader.problem(node.pos, key, "a job needs at least one step")
        return ()
    taken: set[str] = set()
    for item in seq.items:
        written = item.get("id") if isinstance(item, Map) else None
        if written is not None and isinstance(written.value, Scalar):
            taken.add(text(written.value))
    steps = []
    seen: set[str] = set()
    for index, item in enumerate(seq.items):
        at = yamlsrc.join_index(key, index)
        mapping = reader.mapping(item, at, f"step {index + 1}")
        if mapping is None:
            continue
        step = _step(reader, mapping, at, index, taken=taken, seen=seen)
        if step is not None:
            steps.append(step)
    return tuple(steps)


def _spot(reader: WorkflowReader, node: Node, key: str) -> Spot:
    return Spot(reader.file, node.pos.line, node.pos.column)


def _step(reader: WorkflowReader, step: Map, key: str, index: int, *, taken: set[str],
          seen: set[str]) -> StepSpec | None:
    reader.keys(step, STEP_KEYS, key, "in a step")
    values: dict[str, str] = {}
    spots: list[tuple[str, Spot]] = []
    for name in ("id", "if", "name", "uses", "run", "shell", "continue-on-error",
                 "timeout-minutes", "working-directory"):
        found = step.get(name)
        if found is None:
            continue
        got = reader.string(found.value, f"{key}.{name}", f"'{name}' of a step")
        if got is not None:
            values[name] = got
            spots.append((name, _spot(reader, found.value, f"{key}.{name}")))
    run, uses = values.get("run"), values.get("uses")
    if (run is None) == (uses is None):
        reader.problem(step.pos, key, "a step needs exactly one of 'run' and 'uses'")
        return None
    step_id = values.get("id")
    if step_id is not None:
        if not ID.fullmatch(step_id) or step_id.startswith("__"):
            reader.problem(step.get("id").value.pos, f"{key}.id",  # type: ignore[union-attr]
                           f"step id '{step_id}' must start with a letter or '_' (not '__') "
                           "and hold only letters, digits, '_' and '-'")
        elif step_id in seen:
            reader.problem(step.get("id").value.pos, f"{key}.id",  # type: ignore[union-attr]
                           f"step id '{step_id}' is used by an earlier step of this job")
        seen.add(step_id)
    else:
        step_id = generated_id(uses, taken)
        taken.add(step_id)
    _check_values(reader, step, key, values)
    with_ = _mapping(reader, step, "with", key, spots)
    env = _mapping(reader, step, "env", key, spots)
    if uses is not None:
        _check_uses(reader, step, key, uses)
    if run is not None and "shell" in values:
        shell = values["shell"].split()[0] if values["shell"].split() else ""
        if shell in UNSUPPORTED_SHELLS:
            reader.problem(step.get("shell").value.pos, f"{key}.shell",  # type: ignore[union-attr]
                           f"runner does not support 'shell: {shell}' (jobs run in Linux "
                           "containers); use bash, sh, python or a command with {0}")
    return StepSpec(
        index=index, id=step_id, spot=_spot(reader, step, key), name=values.get("name"),
        condition=values.get("if"), run=run, uses=uses, with_=with_, env=env,
        shell=values.get("shell"), working_directory=values.get("working-directory"),
        continue_on_error=values.get("continue-on-error", "false"),
        timeout_minutes=values.get("timeout-minutes"), spots=tuple(spots),
    )


def _check_values(reader: WorkflowReader, step: Map, key: str, values: dict[str, str]) -> None:
    for name in ("name", "run", "working-directory", "continue-on-error", "timeout-minutes"):
        if name in values and "${{" in values[name]:
            exprs.check(reader, values[name], step.get(name).value.pos,  # type: ignore[union-attr]
                        f"{key}.{name}", exprs.STEP + name)
    if "if" in values:
        exprs.check_condition(reader, values["if"], step.get("if").value.pos,  # type: ignore[union-attr]
                              f"{key}.if", exprs.STEP + "if")


def _mapping(reader: WorkflowReader, step: Map, name: str, key: str,
             spots: list[tuple[str, Spot]]) -> tuple[tuple[str, str], ...]:
    found = step.get(name)
    if found is None:
        return ()
    pairs = []
    for item, raw, node in reader.env(found.value, f"{key}.{name}", f"'{name}' of a step"):
        at = f"{key}.{name}.{item}"
        spots.append((f"{name}.{item}", _spot(reader, node, at)))
        if "${{" in raw:
            exprs.check(reader, raw, node.pos, at, exprs.STEP + name)
        pairs.append((item, raw))
    return tuple(pairs)


def _check_uses(reader: WorkflowReader, step: Map, key: str, uses: str) -> None:
    from runner.pipeline.github.wiring import is_builtin  # noqa: PLC0415

    pos = step.get("uses").value.pos  # type: ignore[union-attr]
    if uses.startswith("docker://"):
        reader.problem(pos, f"{key}.uses", f"runner does not run container actions yet "
                       f"('uses: {uses}'; actions are issue 18); use a 'run:' step or the "
                       "job's 'container:'")
    elif not is_builtin(uses):
        reader.problem(pos, f"{key}.uses", f"runner does not run the action '{uses}' (only "
                       "its built-in actions/checkout, actions/upload-artifact, "
                       "actions/download-artifact and actions/cache; other actions are "
                       "issue 18); replace it with a 'run:' step")
