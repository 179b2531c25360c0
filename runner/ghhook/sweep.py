"""Removing what jobs the runner abandoned left: by the next ``prepare_job``, or ``runner prune``.

actions/runner runs one job at a time, so when ``prepare_job`` starts,
anything still labelled with the same runner's name was left by a job whose
``cleanup_job`` never ran (the runner was killed). ``runner prune`` removes
jobs whose worker process (``owner.json``) is gone, whichever runner's.
"""

from __future__ import annotations

import json
from pathlib import Path

from runner.engine import hookrun
from runner.engine.podman import remove_run_containers
from runner.engine.pods import remove_run_pods
from runner.ghhook import jobdir, workdirs
from runner.ghhook.context import HookContext, process_start


async def sweep_runner(ctx: HookContext, label: str) -> None:
    """Remove every pod, container, volume and job dir an earlier job of this runner left."""
    pods, containers = await hookrun.leftovers(label)
    for pod in pods:
        await hookrun.remove_pod(pod)
    await hookrun.remove_containers([c for c in containers if not c.endswith("-infra")])
    for path in _job_dirs(ctx.root):
        owner = _owner(path)
        if owner.get("runner") == label:
            await _remove(path, owner)
    if pods or containers:
        ctx.notice(f"runner: removed {', '.join(pods or containers)}, left by an earlier job "
                   "of this runner that was not cleaned up")


async def sweep_abandoned(root: Path, *, dry_run: bool = False) -> list[str]:
    """Remove the jobs whose actions/runner worker has ended (``runner prune``); their names."""
    removed = []
    for path in _job_dirs(root):
        owner = _owner(path)
        parent = owner.get("parent")
        if isinstance(parent, int) and process_start(parent) == owner.get("parent_start"):
            continue  # its worker still runs: the job is alive
        if dry_run:
            removed.append(path.name)
            continue
        await remove_run_pods(path.name)
        await remove_run_containers(path.name)
        await _remove(path, owner)
        removed.append(path.name)
    return removed


def _job_dirs(root: Path) -> list[Path]:
    try:
        return sorted(p for p in root.iterdir() if p.name.startswith("gh") and p.is_dir())
    except FileNotFoundError:
        return []


def _owner(path: Path) -> dict[str, object]:
    try:
        doc = json.loads((path / "owner.json").read_text())
    except (OSError, ValueError):
        return {}
    return doc if isinstance(doc, dict) else {}


async def _remove(path: Path, owner: dict[str, object]) -> None:
    volumes = owner.get("volumes")
    if isinstance(volumes, list):
        await hookrun.remove_volumes([v for v in volumes
                                      if isinstance(v, str) and v.startswith(path.name)])
    await workdirs.take_back(path)
    jobdir.remove_job_dir(path.parent, path.name)


def prune_text(jobs: list[str], *, dry_run: bool) -> str:
    """``runner prune``'s line about hook jobs."""
    return (f"{'would remove' if dry_run else 'removed'} {len(jobs)} GitHub hook job(s) whose "
            f"actions/runner worker is gone: {', '.join(jobs)}")
