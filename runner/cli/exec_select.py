"""``runner exec``'s choices about what to run: which file, which project, which jobs.

GitLab's project is the repository: ``CI_PROJECT_DIR`` is its top level and
``include: local`` paths start there, wherever the CI file is kept. So a
GitLab file's project is the git top level of its directory, and ``runner
exec`` with no file, in a subdirectory with no pipeline file of its own,
runs the top level's ``.gitlab-ci.yml``. A native ``pipeline.yml`` keeps its
own directory as its project (several can live in one repository). Outside
a git repository the file's directory is the project, as before.

Jobs named on the command line are what the user asked for: a ``when:
manual`` one among them runs (naming it is the manual action, as pressing
play is in GitLab), and a job run without its needs takes what they kept in
an earlier run (``runner.execute.reuse``).
"""

from __future__ import annotations

import os
import shlex
import subprocess
import sys
from pathlib import Path

from runner.execute.report import shown
from runner.execute.results import Taken
from runner.execute.reuse import take_kept
from runner.pipeline.load import chosen_dialect
from runner.pipeline.model import Pipeline
from runner.pipeline.projectfiles import GIT_TIMEOUT_S, git_argv
from runner.pipeline.select import left_out

GITLAB_FILE = ".gitlab-ci.yml"


def git_top_level(directory: Path) -> Path | None:
    """The top of the git work tree ``directory`` is in; None outside one (or if git refuses)."""
    try:
        proc = subprocess.run(git_argv(directory, "rev-parse", "--show-toplevel"),
                              capture_output=True, check=False, timeout=GIT_TIMEOUT_S)
    except (OSError, subprocess.TimeoutExpired):
        return None
    top = proc.stdout.decode("utf-8", "surrogateescape").rstrip("\n")
    return Path(top) if proc.returncode == 0 and top else None


def gitlab_file_at_top(cwd: Path) -> Path | None:
    """The git top level's ``.gitlab-ci.yml`` when ``cwd`` is below that top level, as a path
    relative to ``cwd`` (``../../.gitlab-ci.yml``); None otherwise."""
    top = git_top_level(cwd)
    if top is None or top.resolve() == cwd.resolve():
        return None
    found = top / GITLAB_FILE
    if not found.is_file():
        return None
    return Path(os.path.relpath(found, cwd))


def project_root(path: Path, dialect: str | None, given: Path | None) -> Path:
    """``--project-dir``, else a GitLab file's git top level, else the file's directory.

    A GitHub workflow (``.github/workflows/ci.yml``) belongs to the repository
    above its ``.github``: the git top level, else that directory.
    """
    if given is not None:
        return given.resolve()
    here = path.parent.resolve()
    chosen = chosen_dialect(path, dialect)
    if chosen == "github" and here.name == "workflows":
        return (git_top_level(here) or here.parent.parent).resolve()
    if chosen != "gitlab":
        return here
    return (git_top_level(here) or here).resolve()


def taken_from_earlier_runs(state: Path, whole: Pipeline, selected: Pipeline,
                            command: list[str]) -> tuple[Taken, ...]:
    """What the selected jobs take from needs they run without; says so on stderr.

    Raises UserInputError (exit 2) when a need has no passing run to take from.
    """
    left = left_out(whole, selected)
    if not left:
        return ()
    taken, notes = take_kept(state, whole, left, shlex.join(command))
    for note in notes:
        print(f"runner: {note}", file=sys.stderr, flush=True)
    return taken


def command_line(path: Path, names: list[str]) -> list[str]:
    """``runner exec FILE JOB...`` as the user would type it again."""
    return ["runner", "exec", shown(path, Path.cwd()), *names]
