"""Which of a job's limits this host can enforce rootless, and which it cannot (to say so)."""

from __future__ import annotations

from collections.abc import Set

from runner.engine.argv import Resources
from runner.pipeline.model import Limits


def enforced(limits: Limits, controllers: Set[str]) -> Resources:
    """The job's limits that this host can enforce rootless (``controllers``: cgroup v2's)."""
    return Resources(
        memory=limits.memory if "memory" in controllers else None,
        pids=limits.pids if "pids" in controllers else None,
        cpus=limits.cpus if "cpu" in controllers else None,
    )


def not_enforced(limits: Limits, controllers: Set[str]) -> list[str]:
    """Limits the job asked for that this host cannot enforce."""
    asked = {"memory": limits.memory, "pids": limits.pids, "cpu": limits.cpus}
    return [name for name, value in asked.items() if value is not None and name not in controllers]
