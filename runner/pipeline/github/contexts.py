"""The expression contexts of a GitHub job (``github``, ``needs``, ``runner``, ``job`` ...)
and the variables actions/runner gives every step, built from the job's spec and facts.

Sources in actions/runner: ``GitHubContext.cs`` (which ``github.*`` keys become
``GITHUB_*`` variables), ``RunnerContext.cs`` (every ``runner.*`` key becomes
``RUNNER_*``), ``Handlers/ScriptHandler.cs`` (those variables are set after the
step's own ``env``, so a workflow cannot override them).
"""

from __future__ import annotations

import posixpath
from collections.abc import Mapping, Sequence

from runner.pipeline.github.expr import Value
from runner.pipeline.github.stepspec import JobSpec, Json
from runner.pipeline.steps import JobFacts, NeedResult, StepStatus

EVENT_FILE = "event.json"
"""Where the event payload goes, relative to ``JobFacts.temp`` (``github.event_path``); GitHub
uses ``_github_workflow/event.json``, but setup files are one directory deep here."""

GITHUB_ENV_KEYS = (
    "action", "action_path", "action_ref", "action_repository", "actor", "actor_id",
    "api_url", "base_ref", "event_name", "event_path", "graphql_url", "head_ref", "job",
    "ref", "ref_name", "ref_protected", "ref_type", "repository", "repository_id",
    "repository_owner", "repository_owner_id", "retention_days", "run_attempt", "run_id",
    "run_number", "server_url", "sha", "triggering_actor", "workflow", "workflow_ref",
    "workflow_sha", "workspace",
)  # fmt: skip
"""``github.*`` keys exposed as ``GITHUB_<KEY>`` (``GitHubContext._contextEnvAllowlist``,
less the env-file paths, which the executor sets)."""


def to_value(data: Json) -> Value:
    """A loader value (ints allowed) as an expression value (numbers are doubles)."""
    if isinstance(data, bool) or data is None or isinstance(data, str | float):
        return data
    if isinstance(data, int):
        return float(data)
    if isinstance(data, list):
        return [to_value(item) for item in data]
    return {key: to_value(item) for key, item in data.items()}


def github_context(spec: JobSpec, facts: JobFacts) -> dict[str, Value]:
    """``github``: the loader's (event, sha, ref ...) plus what only the run knows."""
    context = {key: to_value(value) for key, value in spec.github.items()}
    context.update(
        workspace=facts.workspace,
        job=spec.job_id,
        run_id=facts.run_id,
        run_attempt=str(facts.attempt),
        event_path=posixpath.join(facts.temp, EVENT_FILE),
        action="",
    )
    context.setdefault("workflow", spec.workflow)
    if "GITHUB_TOKEN" in facts.secrets:
        context["token"] = facts.secrets["GITHUB_TOKEN"]
    context.setdefault("event", {})
    return context


def step_debug(spec: JobSpec, facts: JobFacts) -> bool:
    """Whether step debug logging is on: secret or variable ``ACTIONS_STEP_DEBUG`` is true."""
    value = facts.secrets.get("ACTIONS_STEP_DEBUG", spec.vars.get("ACTIONS_STEP_DEBUG", ""))
    return str(value).strip().lower() == "true"


def runner_context(spec: JobSpec, facts: JobFacts) -> dict[str, Value]:
    """``runner``: os, arch, name, temp, tool_cache, environment, workspace (and debug)."""
    context: dict[str, Value] = {
        "os": spec.runner_os,
        "arch": spec.runner_arch,
        "name": "runner",
        "environment": "self-hosted",
        "temp": facts.temp,
        "tool_cache": posixpath.join(facts.temp, "_tool"),
        "workspace": posixpath.dirname(facts.workspace.rstrip("/")) or "/",
    }
    if step_debug(spec, facts):
        context["debug"] = "1"
    return context


def job_context(facts: JobFacts, status: str) -> dict[str, Value]:
    """``job``: status so far, the job container and its services' ports."""
    services: dict[str, Value] = {
        name: {"id": "", "network": "", "ports": dict(ports)}
        for name, ports in facts.service_ports.items()
    }
    return {
        "status": status,
        "container": {"id": facts.container_id, "network": ""},
        "services": services,
    }


_RANK = {StepStatus.FAILURE: 3, StepStatus.CANCELLED: 2, StepStatus.SUCCESS: 1}


def aggregate(results: Sequence[NeedResult]) -> NeedResult:
    """One ``needs.<id>`` for a matrix job's instances: failure if any failed, else
    cancelled if any was, else success if any ran, else skipped; outputs merged in
    order, a later non-empty value replacing an earlier one."""
    status = max((result.result for result in results), key=lambda s: _RANK.get(s, 0))
    outputs: dict[str, str] = {}
    for result in results:
        for key, value in result.outputs:
            if value or key not in outputs:
                outputs[key] = value
    return NeedResult(status, tuple(outputs.items()))


def needs_context(
    names: Sequence[str], ids: Sequence[str], known: Mapping[str, NeedResult]
) -> dict[str, Value]:
    """``needs``: each direct need by its id under ``jobs:`` (matrix instances aggregated)."""
    grouped: dict[str, list[NeedResult]] = {}
    for name, need_id in zip(names, ids, strict=True):
        if name in known:
            grouped.setdefault(need_id, []).append(known[name])
    context: dict[str, Value] = {}
    for need_id, results in grouped.items():
        need = aggregate(results)
        outputs: dict[str, Value] = dict(need.outputs)
        context[need_id] = {"result": need.result.value, "outputs": outputs}
    return context


def default_env(github: Mapping[str, Value], runner: Mapping[str, Value]) -> list[tuple[str, str]]:
    """``GITHUB_*`` and ``RUNNER_*`` as actions/runner derives them from the contexts."""
    env = [("CI", "true"), ("GITHUB_ACTIONS", "true")]
    for key in GITHUB_ENV_KEYS:
        value = github.get(key)
        if isinstance(value, bool):
            env.append((f"GITHUB_{key.upper()}", "true" if value else "false"))
        elif isinstance(value, str):
            env.append((f"GITHUB_{key.upper()}", value))
        elif isinstance(value, float):
            text = str(int(value)) if value.is_integer() else repr(value)
            env.append((f"GITHUB_{key.upper()}", text))
    for key, value in runner.items():
        if isinstance(value, str):
            env.append((f"RUNNER_{key.upper()}", value))
    return env
