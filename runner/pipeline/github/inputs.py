"""The simulated event: ``--event`` checked against ``on:``, ``--input`` against its inputs.

These are command-line mistakes (``UsageError``, exit 2), named with what the
workflow accepts: the events it triggers on, the inputs it declares, their
types and choices.
"""

from __future__ import annotations

from collections.abc import Sequence

from runner.errors import UsageError
from runner.pipeline.github.events import Trigger
from runner.pipeline.github.reading import number_text
from runner.pipeline.github.stepspec import Json


def chosen_trigger(triggers: Sequence[Trigger], event: str, file: str) -> Trigger:
    """The trigger of ``event``; a workflow that does not run on it is a clear error."""
    for trigger in triggers:
        if trigger.event == event:
            return trigger
    names = ", ".join(sorted({t.event for t in triggers})) or "nothing"
    raise UsageError(f"{file} does not run on the '{event}' event; it runs on: {names}"
                     ).with_hint("simulate one of those with --event NAME (runner simulates "
                                 "'push' unless told)")


def resolve_inputs(trigger: Trigger, given: Sequence[tuple[str, str]],
                   file: str) -> dict[str, Json]:
    """The ``inputs`` context: each declared input from ``--input`` or its default, typed."""
    declared = {spec.name: spec for spec in trigger.inputs}
    if given and trigger.event != "workflow_dispatch":
        raise UsageError(f"--input is for a workflow_dispatch run; this run simulates "
                         f"'{trigger.event}' (add --event workflow_dispatch)")
    values = dict(given)
    for name in values:
        if name not in declared:
            known = ", ".join(declared) or "none"
            raise UsageError(f"--input {name}: {file} declares no input '{name}' under "
                             f"on.workflow_dispatch.inputs (it declares: {known})")
    found: dict[str, Json] = {}
    for name, spec in declared.items():
        if name not in values:
            if spec.required and spec.default is None:
                raise UsageError(f"input '{name}' of {file} is required; give it with "
                                 f"--input {name}=VALUE")
            found[name] = _typed(spec.type, spec.default, name, spec.options, given=False)
            continue
        found[name] = _typed(spec.type, values[name], name, spec.options, given=True)
    return found


def _typed(kind: str, raw: Json, name: str, options: tuple[str, ...], *, given: bool) -> Json:
    """A value as the ``inputs`` context holds it: booleans and numbers typed, else text."""
    if kind == "boolean":
        if isinstance(raw, bool):
            return raw
        text = "" if raw is None else str(raw).strip().lower()
        if text in ("true", "false"):
            return text == "true"
        if not given and raw is None:
            return False
        raise UsageError(f"input '{name}' is a boolean; give true or false, not {raw!r}")
    if kind == "number":
        if raw is None and not given:
            return None
        try:
            return float(raw)  # type: ignore[arg-type]
        except (TypeError, ValueError):
            raise UsageError(f"input '{name}' is a number; {raw!r} is not one") from None
    text = "" if raw is None else _plain(raw)
    if kind == "choice" and options and text not in options and (given or text):
        raise UsageError(f"input '{name}' must be one of: {', '.join(options)} (got {text!r})")
    return text


def _plain(raw: Json) -> str:
    if isinstance(raw, bool):
        return "true" if raw else "false"
    if isinstance(raw, float | int):
        return number_text(float(raw))
    return str(raw)
