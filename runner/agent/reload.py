"""What a config reload (SIGHUP) changes, decided apart from doing it, so it is unit-tested.

A runner is the pair (name, URL): a new pair is a runner to start polling
for, a pair gone is one to stop polling for (its running jobs finish; they
hold their own job tokens), and a pair whose other settings changed (token,
limit, image, limits, ...) is switched in place for the next job. Agent-wide
settings take effect at once, except those that own a resource opened at
start (the metrics socket, the data directory, the system id GitLab knows
this machine by): those are kept, and the operator is told a restart is
needed.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from runner.agent.config import AgentConfig, RunnerEntry

RESTART_ONLY = (("listen_address", "listen_address"), ("data_dir", "data_dir"),
                ("system_id", "system_id"))


@dataclass(frozen=True)
class ReloadPlan:
    """The config to run with from now on and how the runners change."""

    config: AgentConfig
    added: tuple[RunnerEntry, ...]
    removed: tuple[RunnerEntry, ...]
    changed: tuple[RunnerEntry, ...]
    """New entries of runners that stay, where anything differs."""
    needs_restart: tuple[str, ...]
    """Keys whose new values are ignored until the agent restarts."""


def plan(old: AgentConfig, new: AgentConfig) -> ReloadPlan:
    """Compare the running config with the file's."""
    kept = {}
    needs_restart = []
    for attr, key in RESTART_ONLY:
        if getattr(new, attr) != getattr(old, attr):
            if not (attr == "system_id" and new.fresh_system_id):  # not set in the file
                needs_restart.append(key)
            kept[attr] = getattr(old, attr)
    config = replace(new, fresh_system_id=False, **kept)
    before = {(r.name, r.url): r for r in old.runners}
    after = {(r.name, r.url): r for r in config.runners}
    return ReloadPlan(
        config=config,
        added=tuple(r for key, r in after.items() if key not in before),
        removed=tuple(r for key, r in before.items() if key not in after),
        changed=tuple(r for key, r in after.items() if key in before and before[key] != r),
        needs_restart=tuple(needs_restart),
    )
