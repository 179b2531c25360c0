"""One ``runner exec``: resolve secrets, start the helper, run the DAG, clean up, report."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import signal
import sys
import time
from collections.abc import Callable, Mapping

from runner.build import projects, storage
from runner.build.builder import BuildEnv
from runner.engine import runc
from runner.engine.argv import StoreSpec
from runner.engine.namespace import NamespaceHelper
from runner.engine.pods import remove_run_pods
from runner.engine.slices import SliceAllocator
from runner.errors import UserInputError
from runner.execute.context import RunContext
from runner.execute.interrupt import Interruption
from runner.execute.layout import RunLayout, clashing_names
from runner.execute.results import JobResult, Settings
from runner.execute.runs import LATEST, point_latest, remove_old_runs, start_run
from runner.execute.scheduler import Scheduler
from runner.execute.secrets import resolve_secrets, withhold_from_children
from runner.execute.source import STATE_DIR, source_files, without_secret_files
from runner.execute.statedir import check_state_dir, open_new
from runner.execute.sweep import hold_run_lock, live_runs, sweep_dead_runs
from runner.logs.console import Console
from runner.pipeline.model import Pipeline

RESULT_VERSION = 1


def new_run_id() -> str:
    """Sortable and unique enough for one user's runs: time plus randomness."""
    return time.strftime("%Y%m%d-%H%M%S") + "-" + os.urandom(3).hex()


async def execute(
    pipeline: Pipeline,
    settings: Settings,
    console: Console,
    environ: Mapping[str, str],
    on_interrupt: Callable[[Interruption], None] | None = None,
    *,
    interruption: Interruption | None = None,
    signals: bool | None = None,
    helper: NamespaceHelper | None = None,
) -> tuple[list[JobResult], Interruption]:
    """Run ``pipeline``; returns per-job results and whether the user interrupted it.

    Given an ``interruption``, the caller owns cancelling (the agent: its
    coordinator says when) and no signal handler is installed unless
    ``signals`` asks for one: the process's signals are the caller's too
    (``runner exec`` keeps both: SIGINT, SIGTERM and a closed stdout stop it).
    Given a ``helper``, it is used and left running (the agent keeps one for
    all its jobs: starting one costs ~0.1 s).
    """
    began = time.monotonic()
    secrets = resolve_secrets(pipeline, environ)
    withhold_from_children(pipeline)
    check_registries(pipeline)
    clashes = clashing_names(job.name for job in pipeline.every_job())
    if clashes:
        first, second = clashes[0]
        raise UserInputError(
            f"jobs {first!r} and {second!r} would share log and artifact files (their "
            "file-safe names collide); rename one of them."
        )
    state = settings.state_dir or pipeline.root / STATE_DIR
    check_state_dir(state)
    layout = RunLayout(pipeline.root, settings.run_id or new_run_id(), settings.cache_root, state,
                       tenant_id=settings.tenant, project_path=settings.project_dir)
    files, kept_out = without_secret_files(
        source_files(pipeline.root, exclude=state, everything=settings.whole_tree), pipeline.root,
        [secret.file for secret in pipeline.secrets if secret.file is not None])
    for name in kept_out:
        stderr_notice(f"secret file {name} is inside the project: it is kept out of every "
                      "job's workspace (jobs that list the secret still get its value)")
    if ":" in str(layout.work):
        raise UserInputError(
            f"runner's state directory {state} has a ':' in its path, which podman cannot "
            "mount (it separates volume fields). Pass --state-dir with a path without ':'."
        )
    try:
        run_lock = hold_run_lock(layout.work.parent, layout.run_id)
        layout.work.mkdir(mode=0o700)
        start_run(state, layout.run_id)
    except OSError as exc:
        raise UserInputError(
            f"cannot create runner's state directory {state}: {exc.strerror}. Run from a "
            "project you can write to, or pass --state-dir DIR (logs, artifacts and "
            "scratch space go there)."
        ) from exc
    mark_run(pipeline, settings, layout)
    own_helper = helper is None
    helper = helper or NamespaceHelper.started()
    own_signals = interruption is None if signals is None else signals
    interruption = interruption or Interruption()
    slices = SliceAllocator(settings.slot_dir, settings.subordinate_ids)
    ctx = RunContext(pipeline, settings, layout, helper, files, secrets, console, interruption,
                     slices, build_env=build_env(settings, layout.tenant()))
    loop = asyncio.get_running_loop()

    def interrupted() -> None:
        interruption.request()
        if on_interrupt is not None:
            on_interrupt(interruption)

    if own_signals:
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, interrupted)
    try:
        results = await Scheduler(ctx).run()
    finally:
        await _remove_scratch(layout, helper, settings, ctx.build_env.store)
        if own_helper:
            await helper.close()
        (layout.work.parent / f"{layout.run_id}.lock").unlink(missing_ok=True)
        os.close(run_lock)
        with contextlib.suppress(OSError):
            layout.work.parent.rmdir()  # only when no other run is using it
        # Handlers stay until here: a Ctrl-C during clean-up must not abort it and
        # leave scripts holding secret values behind.
        if own_signals:
            for sig in (signal.SIGINT, signal.SIGTERM):
                loop.remove_signal_handler(sig)
    write_result(layout, pipeline, results, time.monotonic() - began)
    return results, interruption


async def _remove_scratch(layout: RunLayout, helper: NamespaceHelper, settings: Settings,
                          store: StoreSpec | None) -> None:
    """This run's scratch dir, and whatever crashed runs of the same state dir left.

    Those runs were of this project, so their pods are in its store or the user's.
    """
    runtime = settings.runtime
    with contextlib.suppress(Exception):
        await helper.remove(layout.work)
        for dead in await sweep_dead_runs(layout.work.parent, layout.run_id, helper):
            stderr_notice(f"removed scratch files left by crashed run {dead}")
            if settings.runc_state is not None:
                for name in await runc.remove_run_containers(await helper.pid(),
                                                             settings.runc_state, dead):
                    stderr_notice(f"removed container {name} left by crashed run {dead}")
            stores = (None,) if store is None else (None, store)
            for pod in await remove_run_pods(dead, runtime, stores):
                stderr_notice(f"removed pod {pod} left by crashed run {dead}")


def mark_run(pipeline: Pipeline, settings: Settings, layout: RunLayout) -> None:
    """Point ``latest`` at this run, remove runs beyond the last ``keep_runs``, and say
    (for ``runner prune``) whose caches and image store the tenant's are."""
    if not point_latest(layout.state, layout.run_id):
        stderr_notice(f"{layout.state / LATEST} is a directory, not runner's link to the "
                      "latest run; left as it is (remove it to get the link back)")
    remove_old_runs(layout.state, settings.keep_runs, live_runs(layout.work.parent))
    label = (settings.project_dir if settings.tenant else None) or str(pipeline.root)
    for parent in (settings.cache_root, settings.build_stores):
        if parent is not None:
            projects.record(parent, layout.tenant(), label)


def check_registries(pipeline: Pipeline) -> None:
    """Every registry CA file must be readable before any job starts (exit 2, not a failed job)."""
    for registry in pipeline.registries:
        if registry.ca_file is None:
            continue
        try:
            registry.ca_file.read_bytes()
        except OSError as exc:
            where = f"{registry.spot}: " if registry.spot else f"{pipeline.source}: "
            raise UserInputError(
                f"{where}'ca_file' of registry '{registry.host}' is {registry.ca_file}, which "
                f"cannot be read: {exc.strerror}."
            ) from exc


def tenant_store(settings: Settings, tenant: str) -> StoreSpec | None:
    """The tenant's own image store (builds, privately pulled images); None if shared.

    ``tenant`` is the key as ``RunLayout.tenant`` gives it (file-safe).
    """
    if settings.build_stores is None or settings.build_runroot is None:
        return None
    return storage.tenant_store(settings.build_stores, settings.build_runroot, tenant)


def build_env(settings: Settings, tenant: str) -> BuildEnv:
    """Where this run's build jobs build: the tenant's own store unless sharing is set."""
    return BuildEnv(tenant_store(settings, tenant), settings.runtime,
                    standard_authfile=settings.standard_authfile)


def write_result(layout: RunLayout, pipeline: Pipeline, results: list[JobResult],
                 wall_s: float) -> None:
    """``.runner/result.json``: the run's outcome as a versioned contract for tools.

    Fields are only ever added within a version (docs/exec-output.md lists them).
    """
    doc = {
        "result_version": RESULT_VERSION,
        "run_id": layout.run_id,
        "pipeline": str(pipeline.source),
        "duration_s": wall_s,
        "jobs": [
            {
                "name": r.name,
                "status": r.status.value,
                "passed": r.passed,
                "exit_code": r.exit_code,
                "duration_s": r.duration_s,
                "attempts": r.attempts,
                "note": r.note,
                "coverage": r.coverage,
                "image": r.image,
                "digest": r.digest,
                "log": str(layout.log(r.name)),
                "failed_at": r.failed_at,
            }
            for r in results
        ],
    }
    text = json.dumps(doc, indent=2) + "\n"
    # The run's own copy, and STATE/result.json: the contract's path for tools, the last run's.
    for path in (layout.run_dir / "result.json", layout.state / "result.json"):
        with os.fdopen(open_new(path), "w") as out:
            out.write(text)


def stderr_notice(text: str) -> None:
    """Runner's own word to the person at the terminal."""
    print(f"runner: {text}", file=sys.stderr, flush=True)
