"""GitLab's predefined CI/CD variables for a local run, from the checkout's git state.

Names and meanings follow docs.gitlab.com "Predefined CI/CD variables
reference". A local run is always a push pipeline (``CI_PIPELINE_SOURCE=push``)
for what HEAD is: a tag pipeline when HEAD is exactly a tag, otherwise a
branch pipeline. Git is asked once per translation (``read_git``), never per
job, so a 200-job file costs the same few ``git`` calls as a one-job file.
"""

from __future__ import annotations

import dataclasses
import datetime
import re
import subprocess
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from runner.pipeline.model import container_project_dir
from runner.pipeline.projectfiles import GIT_TIMEOUT_S, git_argv

ZERO_SHA = "0" * 40
PLACEHOLDER_BRANCH = "main"
DETACHED_REF = "HEAD"
"""The branch a detached HEAD that is not a tag runs as. GitLab pipelines always
run for a branch or a tag; "HEAD" keeps branch-only jobs in the pipeline while
matching no real branch, so rules for the default branch (deploys) do not fire."""

_SLUG_REJECT = re.compile(r"[^a-z0-9]")


@dataclass(frozen=True)
class GitInfo:
    """What GitLab knows about the commit a pipeline runs for."""

    sha: str
    short_sha: str
    ref_name: str
    branch: str | None
    tag: str | None
    default_branch: str
    message: str
    title: str
    timestamp: str
    """ISO 8601 in UTC, as GitLab shows it (``2022-01-31T16:47:55Z``)."""
    author: str
    """``Name <email>``."""
    note: str | None = None
    """Why some values are placeholders (not a git repository, no commit yet...)."""


def slug(text: str) -> str:
    """GitLab's slugify: lowercase, non ``[a-z0-9]`` to ``-``, 63 bytes, no edge dashes."""
    return _SLUG_REJECT.sub("-", text.lower())[:63].strip("-")


def _run(root: Path, *args: str) -> tuple[str | None, str]:
    """(stdout or None on failure, stderr) of ``git -C root ARGS``; missing or hung git fails."""
    try:
        proc = subprocess.run(
            git_argv(root, *args),
            capture_output=True,
            check=False,
            timeout=GIT_TIMEOUT_S,
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        return None, str(exc)
    stderr = proc.stderr.decode("utf-8", errors="replace")
    if proc.returncode != 0:
        return None, stderr
    return proc.stdout.decode("utf-8", errors="replace"), stderr


def _git(root: Path, *args: str) -> str | None:
    """stdout of ``git -C root ARGS``, or None when git fails."""
    return _run(root, *args)[0]


def _utc(seconds: str) -> str:
    try:
        stamp = datetime.datetime.fromtimestamp(int(seconds), tz=datetime.UTC)
    except (ValueError, OverflowError, OSError):
        stamp = datetime.datetime.fromtimestamp(0, tz=datetime.UTC)
    return stamp.strftime("%Y-%m-%dT%H:%M:%SZ")


def _placeholder(note: str, branch: str = PLACEHOLDER_BRANCH) -> GitInfo:
    return GitInfo(
        sha=ZERO_SHA,
        short_sha=ZERO_SHA[:8],
        ref_name=branch,
        branch=branch,
        tag=None,
        default_branch=branch,
        message="",
        title="",
        timestamp=_utc("0"),
        author="",
        note=note,
    )


def read_git(root: Path) -> GitInfo:
    """The commit, ref and default branch of the checkout at ``root``.

    The default branch is ``origin/HEAD`` when a clone knows it, else git's
    ``init.defaultBranch``, else "main". A directory that is not a git
    repository (or one without commits) gets fixed placeholders and a note.
    """
    inside, stderr = _run(root, "rev-parse", "--is-inside-work-tree")
    if inside is None and "dubious ownership" in stderr:
        return _placeholder(
            f"git refuses to read {root} because another user owns it (see git's"
            " safe.directory); CI_COMMIT_* variables hold placeholders"
            f" (branch '{PLACEHOLDER_BRANCH}', commit {ZERO_SHA[:8]})"
        )
    if inside is None or inside.strip() != "true":
        return _placeholder(
            f"{root} is not a git repository; CI_COMMIT_* variables hold placeholders"
            f" (branch '{PLACEHOLDER_BRANCH}', commit {ZERO_SHA[:8]})"
        )
    branch = (_git(root, "symbolic-ref", "--short", "-q", "HEAD") or "").strip() or None
    log = _git(root, "log", "-1", "--format=%H%x00%ct%x00%an <%ae>%x00%B")
    default = _default_branch(root)
    if log is None:
        info = _placeholder(
            f"{root} has no commit yet; CI_COMMIT_* variables hold placeholders",
            branch or PLACEHOLDER_BRANCH,
        )
        return dataclasses.replace(info, default_branch=default)
    sha, stamp, author, message = [*log.split("\0", 3), "", "", ""][:4]
    message = message.rstrip("\n")
    tags = (_git(root, "tag", "--points-at", "HEAD") or "").split()
    tag = sorted(tags)[0] if tags else None
    note = None
    if tag is not None:
        branch = None
    elif branch is None:
        branch = DETACHED_REF
        note = (
            f"HEAD is detached and not a tag; the pipeline runs as for a branch named"
            f" '{DETACHED_REF}' (check out a branch to run it for that branch)"
        )
    ref = tag or branch or DETACHED_REF
    return GitInfo(
        sha=sha,
        short_sha=sha[:8],
        ref_name=ref,
        branch=branch,
        tag=tag,
        default_branch=default,
        message=message,
        title=message.split("\n", 1)[0],
        timestamp=_utc(stamp),
        author=author,
        note=note,
    )


def _default_branch(root: Path) -> str:
    remote = (_git(root, "symbolic-ref", "--short", "-q", "refs/remotes/origin/HEAD") or "").strip()
    if remote.startswith("origin/") and len(remote) > len("origin/"):
        return remote.removeprefix("origin/")
    configured = (_git(root, "config", "--get", "init.defaultBranch") or "").strip()
    return configured or PLACEHOLDER_BRANCH


def pipeline_predefined(
    git: GitInfo, root: Path, config_path: str = ".gitlab-ci.yml", pipeline_name: str | None = None
) -> list[tuple[str, str]]:
    """The variables every job of the pipeline shares (and ``workflow:rules`` sees)."""
    description = git.message.split("\n", 1)[1].lstrip("\n") if "\n" in git.message else ""
    pairs = [
        ("CI", "true"),
        ("GITLAB_CI", "true"),
        ("CI_SERVER", "yes"),
        ("CI_PIPELINE_ID", "1"),
        ("CI_PIPELINE_IID", "1"),
        ("CI_PIPELINE_SOURCE", "push"),
        ("CI_CONFIG_PATH", config_path),
        ("CI_PROJECT_DIR", container_project_dir(root)),
        ("CI_PROJECT_NAME", root.resolve().name),
        ("CI_BUILDS_DIR", "/builds"),
        ("CI_COMMIT_SHA", git.sha),
        ("CI_COMMIT_SHORT_SHA", git.short_sha),
        ("CI_COMMIT_BEFORE_SHA", ZERO_SHA),
        ("CI_COMMIT_REF_NAME", git.ref_name),
        ("CI_COMMIT_REF_SLUG", slug(git.ref_name)),
    ]
    if git.branch is not None:
        pairs.append(("CI_COMMIT_BRANCH", git.branch))
    if git.tag is not None:
        pairs.append(("CI_COMMIT_TAG", git.tag))
    pairs += [
        ("CI_COMMIT_MESSAGE", git.message),
        ("CI_COMMIT_TITLE", git.title),
        ("CI_COMMIT_DESCRIPTION", description),
        ("CI_COMMIT_TIMESTAMP", git.timestamp),
        ("CI_COMMIT_AUTHOR", git.author),
        ("CI_DEFAULT_BRANCH", git.default_branch),
    ]
    if pipeline_name is not None:
        pairs.append(("CI_PIPELINE_NAME", pipeline_name))
    return pairs


def job_predefined(
    name: str, stage: str, job_id: int, node: tuple[int, int] | None = None, manual: bool = False
) -> list[tuple[str, str]]:
    """The variables that differ per job; ``node`` is (index, total) of a parallel job.

    ``CI_NODE_TOTAL`` is 1 for a job without ``parallel``, and
    ``CI_NODE_INDEX`` exists only for parallel jobs, as GitLab documents.
    """
    pairs = [
        ("CI_JOB_NAME", name),
        ("CI_JOB_NAME_SLUG", slug(name)),
        ("CI_JOB_STAGE", stage),
        ("CI_JOB_ID", str(job_id)),
    ]
    if node is not None:
        pairs.append(("CI_NODE_INDEX", str(node[0])))
    pairs.append(("CI_NODE_TOTAL", str(node[1]) if node is not None else "1"))
    if manual:
        pairs.append(("CI_JOB_MANUAL", "true"))
    return pairs


def predefined(
    git: GitInfo,
    root: Path,
    *,
    job: str,
    stage: str,
    job_id: int,
    node: tuple[int, int] | None = None,
    manual: bool = False,
    config_path: str = ".gitlab-ci.yml",
) -> tuple[tuple[str, str], ...]:
    """Every predefined variable one job sees, pipeline-wide ones first."""
    shared: Sequence[tuple[str, str]] = pipeline_predefined(git, root, config_path)
    return (*shared, *job_predefined(job, stage, job_id, node, manual))
