"""Which contexts and functions an expression may use, by where it is written.

GitHub's "Context availability" table (docs: Contexts reference), checked against the
``context`` lists of actions/languageservices' ``workflow-v1.0.json`` where they differ in
detail.  Keys are GitHub's key paths (``jobs.<job_id>.steps.if``).  The general functions
(``contains``, ``format``, ``toJSON``, ...) are allowed wherever an expression is; the
status functions only in ``if:`` keys and ``hashFiles`` only in step keys.
``jobs.<job_id>.steps.shell`` takes no expression at all.
"""

from __future__ import annotations

from runner.pipeline.github.expr.expression import Expr
from runner.pipeline.github.expr.functions import FUNCTIONS, STATUS_FUNCTIONS

_GENERAL = frozenset(FUNCTIONS) - STATUS_FUNCTIONS - {"hashfiles"}

_WORKFLOW = frozenset(("github", "inputs", "vars"))
_JOB = _WORKFLOW | {"needs", "strategy", "matrix"}
_STEP = _JOB | {"secrets", "steps", "job", "runner", "env"}
_IF_FUNCTIONS = _GENERAL | STATUS_FUNCTIONS

AVAILABILITY: dict[str, tuple[frozenset[str], frozenset[str]]] = {
    "run-name": (_WORKFLOW, _GENERAL),
    "concurrency": (_WORKFLOW, _GENERAL),
    "env": (_WORKFLOW | {"secrets"}, _GENERAL),
    "on.workflow_call.inputs.<inputs_id>.default": (_WORKFLOW, _GENERAL),
    "on.workflow_call.outputs.<output_id>.value": (_WORKFLOW | {"jobs"}, _GENERAL),
    "jobs.<job_id>.if": (_WORKFLOW | {"needs"}, _IF_FUNCTIONS),
    "jobs.<job_id>.strategy": (_WORKFLOW | {"needs"}, _GENERAL),
    "jobs.<job_id>.name": (_JOB, _GENERAL),
    "jobs.<job_id>.runs-on": (_JOB, _GENERAL),
    "jobs.<job_id>.concurrency": (_JOB, _GENERAL),
    "jobs.<job_id>.container": (_JOB, _GENERAL),
    "jobs.<job_id>.container.credentials": (_WORKFLOW | {"needs", "strategy", "matrix",
                                                         "env", "secrets"}, _GENERAL),
    "jobs.<job_id>.container.env": (_STEP - {"steps"}, _GENERAL),
    "jobs.<job_id>.services": (_JOB, _GENERAL),
    "jobs.<job_id>.services.<service_id>.credentials": (
        _WORKFLOW | {"needs", "strategy", "matrix", "env", "secrets"}, _GENERAL),
    "jobs.<job_id>.services.<service_id>.env": (_STEP - {"steps"}, _GENERAL),
    "jobs.<job_id>.env": (_JOB | {"secrets"}, _GENERAL),
    "jobs.<job_id>.environment": (_JOB, _GENERAL),
    "jobs.<job_id>.environment.url": (_STEP - {"secrets"}, _GENERAL),
    "jobs.<job_id>.timeout-minutes": (_JOB, _GENERAL),
    "jobs.<job_id>.continue-on-error": (_JOB, _GENERAL),
    "jobs.<job_id>.defaults.run": (_JOB | {"env"}, _GENERAL),
    "jobs.<job_id>.outputs": (_STEP, _GENERAL),
    "jobs.<job_id>.with": (_JOB, _GENERAL),
    "jobs.<job_id>.secrets": (_JOB | {"secrets"}, _GENERAL),
    "jobs.<job_id>.steps.if": (_STEP - {"secrets"}, _IF_FUNCTIONS | {"hashfiles"}),
    "jobs.<job_id>.steps.run": (_STEP, _GENERAL | {"hashfiles"}),
    "jobs.<job_id>.steps.with": (_STEP, _GENERAL | {"hashfiles"}),
    "jobs.<job_id>.steps.env": (_STEP, _GENERAL | {"hashfiles"}),
    "jobs.<job_id>.steps.name": (_STEP, _GENERAL | {"hashfiles"}),
    "jobs.<job_id>.steps.working-directory": (_STEP, _GENERAL | {"hashfiles"}),
    "jobs.<job_id>.steps.continue-on-error": (_STEP, _GENERAL | {"hashfiles"}),
    "jobs.<job_id>.steps.timeout-minutes": (_STEP, _GENERAL | {"hashfiles"}),
    "jobs.<job_id>.steps.shell": (frozenset(), frozenset()),
}
"""Key path -> (contexts, lower-case functions) an expression there may use."""


def allowed_functions(key: str) -> frozenset[str]:
    """The lower-case functions an expression at ``key`` may call (for `EvalContext`)."""
    return AVAILABILITY[key][1]


def check_availability(expr: Expr, key: str) -> str | None:
    """Why ``expr`` may not be written at ``key``, or None if it may.

    The message names the first unavailable context or function and the contexts that are
    available there.  Raises KeyError for a key not in `AVAILABILITY` (a caller's bug).
    """
    contexts, functions = AVAILABILITY[key]
    if not contexts:
        return f"{key} does not take expressions (${{{{ {expr.text} }}}})"
    missing = sorted(expr.contexts() - contexts)
    if missing:
        name, available = missing[0], ", ".join(sorted(contexts))
        return (
            f"Unrecognized named-value: '{name}'. The '{name}' context is not available in "
            f"{key}; available: {available}"
        )
    refused = sorted(expr.functions() - functions)
    if refused:
        written = FUNCTIONS[refused[0]].name
        return f"Unrecognized function: '{written}'. {written}() is not available in {key}"
    return None
