"""``runner exec``: run a pipeline file on this machine."""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import os
import sys
import time
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING

from runner.build.access import standard_authfile
from runner.build.storage import MODES, store_roots
from runner.cli import EXIT_INTERRUPTED, EXIT_JOB_FAILED, EXIT_OK
from runner.cli.exec_github import add_github_options
from runner.cli.exec_images import (
    add_image_options,
    default_pull,
    image_notes,
    with_docker_auth,
    with_image_options,
)
from runner.cli.exec_select import (
    command_line,
    gitlab_file_at_top,
    project_root,
    taken_from_earlier_runs,
)
from runner.cli.helptext import explain
from runner.engine.runc import state_root as runc_state_root
from runner.errors import HostSetupError, UsageError
from runner.execute.interrupt import Interruption
from runner.execute.report import annotation_lines, failures, shown, summary_rows
from runner.execute.results import Settings, Taken
from runner.execute.run import execute, new_run_id, stderr_notice
from runner.execute.runs import DEFAULT_KEEP, LATEST, run_dir
from runner.execute.source import STATE_DIR
from runner.logs.console import Console
from runner.logs.pipe import GuardedStream
from runner.logs.summary import render
from runner.pipeline.load import chosen_dialect
from runner.pipeline.model import Limits
from runner.pipeline.sizes import parse_size

if TYPE_CHECKING:
    from runner.host.facts import HostFacts
    from runner.pipeline.model import Pipeline

DEFAULT_FILES = ("pipeline.yml", ".gitlab-ci.yml")


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add the ``exec`` subcommand."""
    parser = explain(sub.add_parser("exec", help="run a pipeline file locally, each job in its"
                                    " own rootless container"), "exec")
    parser.add_argument("pipeline", nargs="?",
                        help=f"pipeline file (default: {' or '.join(DEFAULT_FILES)} here, "
                        "else the .gitlab-ci.yml at the top of this git repository)")
    parser.add_argument("jobs", nargs="*", metavar="JOB",
                        help="run only these jobs (default: every job), each taking what its"
                        " needs kept in their last passing run; a parallel job's base name "
                        "selects every instance; a manual job named here runs")
    parser.add_argument("--needs", action="store_true",
                        help="with JOB names: run every job they need first, transitively, "
                        "instead of taking what those kept in an earlier run")
    parser.add_argument("--list", action="store_true",
                        help="list the jobs (stage, when, allow_failure, needs) and exit")
    parser.add_argument("--preview", action="store_true",
                        help="print the fully expanded GitLab YAML (a GitHub workflow: each "
                        "job's steps as written) and exit")
    parser.add_argument("--manual", action="append", default=[], metavar="JOB",
                        help="run this manual (when: manual) job; repeatable")
    parser.add_argument("--variable", action="append", default=[], metavar="KEY=VALUE",
                        help="set a variable for every job, over the file's own; repeatable")
    parser.add_argument("--input", action="append", default=[], metavar="NAME=VALUE",
                        help="a value for the file's spec:inputs header (a GitHub workflow: "
                        "its workflow_dispatch inputs); repeatable")
    parser.add_argument("--secret", action="append", default=[], metavar="KEY",
                        help="pass environment variable KEY to every job, masked; repeatable")
    parser.add_argument("--variables-file", type=Path, metavar="FILE",
                        help="variables with GitLab's masked/file/protected flags (YAML)")
    parser.add_argument("--compare-to", metavar="REF",
                        help="GitLab rules:changes compare with the merge base of REF and HEAD"
                             " (default: the default branch, or the previous commit on it)")
    parser.add_argument("--gitlab-url", metavar="URL",
                        help="GitLab server for include: project, template and component "
                        "(default: CI_SERVER_URL from the environment or a variables file)")
    parser.add_argument("--gitlab-token", metavar="NAME",
                        help="name of the environment variable holding a GitLab token for "
                        "includes (default GITLAB_TOKEN, else CI_JOB_TOKEN); never the token")
    add_image_options(parser)
    add_github_options(parser)
    parser.add_argument("-j", "--concurrency", type=int, default=os.cpu_count() or 2,
                        help="jobs running at once (default: CPU count)")
    parser.add_argument("--dialect", choices=["native", "gitlab", "github"],
                        help="pipeline dialect (default: from the file name)")
    parser.add_argument("--project-dir", type=Path,
                        help="project copied into each job (default: a GitLab file's git "
                        "top level, else the pipeline file's directory)")
    parser.add_argument("--state-dir", type=Path,
                        help="where logs, artifacts and scratch go (default: PROJECT/.runner)")
    parser.add_argument("--keep-runs", type=int, default=DEFAULT_KEEP, metavar="N",
                        help="keep the logs and result.json of the last N runs under "
                        f"STATE/runs/ (default {DEFAULT_KEEP}); STATE/latest is the newest")
    parser.add_argument("--color", choices=["auto", "always", "never"], default="auto",
                        help="colour job prefixes, echoed commands and statuses: auto (the "
                        "default) when stdout is a terminal and NO_COLOR is not set "
                        "(no-color.org), always, or never")
    parser.add_argument("--timestamps", action="store_true",
                        help="start each output line on the terminal with the local time it "
                        "was printed (HH:MM:SS.mmm); job log files keep the job's bytes as "
                        "printed")
    parser.add_argument("--runtime", help="OCI runtime for podman (default: containers.conf)")
    parser.add_argument("--network", help="podman network mode for jobs (default: podman's)")
    parser.add_argument(
        "--engine", choices=["auto", "podman", "runc"], default="auto",
        help="what starts job containers: runc directly (~0.15 s less per job; jobs on a "
             "local image without services or limits), or podman for every job. Default "
             "auto: runc where the host allows it (`runner doctor` says)")
    parser.add_argument("--cache-dir", type=Path,
                        help="where caches persist between runs (default: ~/.cache/runner)")
    parser.add_argument("--memory", type=_size, metavar="SIZE",
                        help="cap on every job's memory, e.g. 2g (enforced on cgroup v2 only)")
    parser.add_argument("--pids-limit", type=int, metavar="N",
                        help="cap on every job's processes (enforced on cgroup v2 only)")
    parser.add_argument("--cpus", type=float, metavar="N",
                        help="cap on every job's CPUs, e.g. 1.5 (enforced on cgroup v2 only)")
    parser.add_argument("--disk-limit", type=_size, metavar="SIZE",
                        help="cap on what each job's workspace and container writes take, "
                        "e.g. 10g (watched on any host)")
    parser.add_argument("--build-storage", choices=MODES, default="project",
                        help="image store of build jobs and of images pulled with the "
                        "pipeline's registry access: this project's own (default; nothing in "
                        "it reaches another project) or the user's shared podman store")
    parser.set_defaults(func=handle)


def _size(text: str) -> int:
    """An argparse type: a size like ``512m``."""
    try:
        return parse_size(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from exc


def _looks_like_file(word: str) -> bool:
    return Path(word).is_file() or word.endswith((".yml", ".yaml")) or "/" in word


def _pipeline_file(given: Path | None) -> Path:
    if given is not None:
        if not given.is_file():
            raise UsageError(f"pipeline file {given} does not exist or is not a file")
        return given
    for name in DEFAULT_FILES:
        if Path(name).is_file():
            return Path(name)
    top = gitlab_file_at_top(Path.cwd())
    if top is not None:
        stderr_notice(f"running {top}, the .gitlab-ci.yml at the top of this git repository")
        return top
    raise UsageError(f"no pipeline file given and none of {', '.join(DEFAULT_FILES)} "
                     "found in the current directory, nor a .gitlab-ci.yml at the top of its "
                     "git repository").with_hint(
        "name the file (runner exec path/to/pipeline.yml, or .gitlab-ci.yml), or run this in"
        " the project's directory; `runner exec --help` shows the options")


def _cache_root(given: Path | None) -> Path:
    if given is not None:
        return given.resolve()
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "runner" / "cache"


def handle(args: argparse.Namespace) -> int:
    """Run the pipeline; 0 passed, 1 a job failed, 130 interrupted."""
    from runner.cli.listing import render_list  # noqa: PLC0415
    from runner.host.identity import refuse_root  # noqa: PLC0415
    from runner.pipeline.load import preview  # noqa: PLC0415

    refuse_root(os.environ)
    path, names = _target(args.pipeline, args.jobs)
    root = project_root(path, args.dialect, args.project_dir)
    if args.preview:
        from runner.cli.exec_options import cli_options  # noqa: PLC0415

        sys.stdout.write(preview(path, root, args.dialect, cli_options(args, os.environ, root)))
        return EXIT_OK
    if args.list and chosen_dialect(path, args.dialect) == "github":
        from runner.cli.exec_github import list_workflow  # noqa: PLC0415
        from runner.cli.exec_options import cli_options  # noqa: PLC0415

        sys.stdout.write(list_workflow(path, root, cli_options(args, os.environ, root)))
        return EXIT_OK
    whole, pipeline, named = _planned(args, path, root, names)
    for note in pipeline.notes:  # --list too: a file's warnings (duplicate keys) matter there
        stderr_notice(note)
    if args.list:
        sys.stdout.write(render_list(pipeline))
        for note in image_notes(pipeline, os.environ):
            print(note, file=sys.stderr)
        return EXIT_OK
    if not pipeline.jobs:
        stderr_notice("no jobs to run")
        return EXIT_OK
    taken = taken_from_earlier_runs(_state(args, pipeline), whole, pipeline,
                                    command_line(path, names))
    return _run(args, pipeline, named, taken)


def _target(first: str | None, rest: list[str]) -> tuple[Path, list[str]]:
    """The pipeline file and job names; ``runner exec build test`` means the default file."""
    if first is not None and not _looks_like_file(first):
        return _pipeline_file(None), [first, *rest]
    return _pipeline_file(Path(first) if first is not None else None), list(rest)


def _planned(args: argparse.Namespace, path: Path, root: Path,
             names: list[str]) -> tuple[Pipeline, Pipeline, frozenset[str]]:
    """The whole pipeline as loaded with the command line's variables, the part of it
    ``names`` select, and the jobs they name (matrix base names expanded)."""
    from runner.cli.exec_options import cli_options  # noqa: PLC0415
    from runner.pipeline.load import load_pipeline  # noqa: PLC0415
    from runner.pipeline.select import expand_names, select_jobs  # noqa: PLC0415

    options = with_image_options(cli_options(args, os.environ, root), args, os.environ)
    whole = pipeline = with_docker_auth(load_pipeline(path, root, args.dialect, options),
                                        options, os.environ)
    named: frozenset[str] = frozenset()
    if names:
        named = frozenset(expand_names(pipeline, names))
        pipeline = select_jobs(pipeline, names, with_needs=args.needs)
    elif args.needs:
        raise UsageError("--needs goes with job names: runner exec FILE JOB... --needs")
    unknown = sorted(set(args.manual) - {job.name for job in pipeline.every_job()})
    if unknown:
        raise UsageError(f"--manual {unknown[0]!r}: no such job in {path}")
    return whole, pipeline, named


def _state(args: argparse.Namespace, pipeline: Pipeline) -> Path:
    """``--state-dir``, else ``.runner`` in the project."""
    return args.state_dir.resolve() if args.state_dir else pipeline.root / STATE_DIR


def _run(args: argparse.Namespace, pipeline: Pipeline, named: frozenset[str],
         taken: tuple[Taken, ...]) -> int:
    facts = _check_host()
    if args.concurrency < 1:
        raise UsageError("--concurrency must be at least 1")
    if args.keep_runs < 1:
        raise UsageError("--keep-runs must be at least 1 (the run itself)")
    state = _state(args, pipeline)
    color = use_color(args.color, isatty=sys.stdout.isatty(), environ=os.environ)
    settings = Settings(
        concurrency=args.concurrency, color=color, cache_root=_cache_root(args.cache_dir),
        state_dir=state, run_id=new_run_id(), keep_runs=args.keep_runs,
        slot_dir=_slot_dir(),
        subordinate_ids=min(sum(r.count for r in facts.subuids),
                            sum(r.count for r in facts.subgids)),
        runtime=args.runtime, network=args.network, manual=frozenset(args.manual) | named,
        taken=taken,
        pull=default_pull(os.environ, pipeline.dialect),
        engine=_engine(args.engine, facts), runc_state=runc_state_root(os.environ),
        limits=Limits(memory=args.memory, pids=args.pids_limit, cpus=args.cpus,
                      disk=args.disk_limit),
        controllers=(facts.delegated_controllers & {"memory", "pids", "cpu"}
                     if facts.cgroup == "v2" else frozenset()),
    )
    settings = with_build_settings(settings, args.build_storage, os.environ)
    interruption = Interruption()

    def told(interruption: Interruption) -> None:
        if interruption.killing.is_set():
            stderr_notice("stopping now")
        else:
            stderr_notice("stopping: running after_script (Ctrl-C again to stop at once)")

    # A closed stdout (`runner exec | head -1`) stops the run quietly, as SIGPIPE would.
    stdout = GuardedStream(sys.stdout.buffer, interruption.request)
    # ::group:: sections fold on a terminal (their lines stay in the log files); -v shows
    # them and ::debug:: lines, as GitHub's step debug logging does.
    console = Console(stdout, [job.name for job in pipeline.every_job()], color=color,
                      timestamps=args.timestamps, fold=sys.stdout.isatty() and not args.verbose,
                      debug=bool(args.verbose))
    began = time.monotonic()
    results, _ = asyncio.run(execute(pipeline, settings, console, os.environ, told,
                                     interruption=interruption, signals=True))
    summary = render(summary_rows(results), color=color, wall_s=time.monotonic() - began,
                     failures=failures(results, Path.cwd()), notes=annotation_lines(results))
    stdout.write(("\n" + summary).encode())
    stdout.flush()
    here = Path.cwd()
    stderr_notice(f"logs: {shown(run_dir(state, settings.run_id or ''), here)}/ (the newest run's"
                  f" are also in {shown(state / LATEST, here)}/)")
    if interruption.canceling.is_set() or stdout.closed_by_reader:
        return EXIT_INTERRUPTED
    return EXIT_JOB_FAILED if any(result.failed for result in results) else EXIT_OK


def use_color(choice: str, *, isatty: bool, environ: Mapping[str, str]) -> bool:
    """``--color``: ``auto`` colours a terminal unless ``NO_COLOR`` is set and not empty
    (https://no-color.org); an explicit ``always`` wins over ``NO_COLOR``."""
    if choice == "auto":
        return isatty and not environ.get("NO_COLOR")
    return choice == "always"


def agent_settings(cache_root: Path) -> Settings:
    """Host-wide settings of ``runner agent``: each job adds its own paths and limits."""
    facts = _check_host()
    settings = Settings(
        concurrency=1, color=True, cache_root=cache_root, slot_dir=_slot_dir(),
        subordinate_ids=min(sum(r.count for r in facts.subuids),
                            sum(r.count for r in facts.subgids)),
        engine=_engine("auto", facts), runc_state=runc_state_root(os.environ),
        controllers=(facts.delegated_controllers & {"memory", "pids", "cpu"}
                     if facts.cgroup == "v2" else frozenset()),
    )
    return with_build_settings(settings, "project", os.environ)


def _engine(asked: str, facts: HostFacts) -> str:
    """``auto`` is runc when the host has what it needs; ``runc`` asked for must be possible."""
    if asked == "auto":
        return "podman" if facts.runc_engine_missing else "runc"
    if asked == "runc" and facts.runc_engine_missing:
        raise HostSetupError(f"--engine runc: {'; '.join(facts.runc_engine_missing)}. Run "
                             "`runner doctor` for the fix, or use --engine podman.")
    return asked


def _check_host() -> HostFacts:
    """The cheap host checks (no subprocess); full advice comes from ``runner doctor``."""
    from runner.host.doctor import ensure_ready  # noqa: PLC0415
    from runner.host.facts import gather_quick  # noqa: PLC0415

    facts = gather_quick()
    ensure_ready(facts)
    return facts


def with_build_settings(settings: Settings, mode: str, environ: Mapping[str, str]) -> Settings:
    """``settings`` with image builds configured for ``--build-storage MODE``."""
    stores, runroots = store_roots(environ, Path.home())
    shared = mode == "shared"
    return dataclasses.replace(
        settings,
        build_stores=None if shared else stores,
        build_runroot=None if shared else runroots,
        standard_authfile=standard_authfile(environ, Path.home()),
    )


def _slot_dir() -> Path:
    """UID-slice leases live in the user's runtime dir (per user, gone at reboot)."""
    runtime = os.environ.get("XDG_RUNTIME_DIR")
    base = Path(runtime) if runtime else Path.home() / ".cache"
    return base / "runner" / "slots"
