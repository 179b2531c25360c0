"""The composed pipeline as plain YAML, like ``gitlab-ci-local --preview`` prints it.

Top-level keywords come first (``include`` is already merged away), then every
visible job, each exactly as the translator will read it: includes merged,
``extends`` and ``!reference`` resolved, defaults filled in. Values are plain
YAML types; positions and tags are gone.
"""

from __future__ import annotations

import yaml

from runner.pipeline.gitlab.compose import Composed
from runner.pipeline.yamlsrc import Map, Node, Seq


def render(composed: Composed) -> str:
    """The fully expanded YAML of ``composed``."""
    document: dict[str, object] = {entry.key: to_python(entry.value) for entry in composed.top}
    for name, job in composed.jobs:
        document[name] = to_python(job)
    return yaml.safe_dump(
        document, sort_keys=False, default_flow_style=False, allow_unicode=True, width=1000
    )


def to_python(node: Node) -> object:
    """``node`` as plain Python values: dicts, lists and each scalar's typed value."""
    if isinstance(node, Map):
        return {entry.key: to_python(entry.value) for entry in node}
    if isinstance(node, Seq):
        return [to_python(item) for item in node.items]
    return node.value
