"""The ``github`` context of a local run: the checkout's git state and the simulated event.

Read once per workflow (a few ``git`` calls), then copied into each job's
``JobSpec`` with its own ``job`` and ``workspace``. Values GitHub's hosted
service would own are fixed placeholders: ``run_id``/``run_number`` 1,
``run_attempt`` 1, an empty ``token``, ``server_url`` https://github.com.
"""

from __future__ import annotations

import getpass
import re
import subprocess
from dataclasses import dataclass
from pathlib import Path

from runner.pipeline.github.reading import number_text
from runner.pipeline.github.stepspec import Json
from runner.pipeline.gitlab.predefined import ZERO_SHA, GitInfo, read_git
from runner.pipeline.projectfiles import GIT_TIMEOUT_S, git_argv

SERVER_URL = "https://github.com"
API_URL = "https://api.github.com"
GRAPHQL_URL = "https://api.github.com/graphql"
_REMOTE = re.compile(r"[:/]([^/:]+)/([^/]+?)(?:\.git)?/?$")


@dataclass(frozen=True)
class Checkout:
    """What the local repository says about the run: commit, ref, repository, actor."""

    git: GitInfo
    repository: str
    """``owner/name`` from the ``origin`` remote, else ``<user>/<directory name>``."""
    actor: str


def _git(root: Path, *args: str) -> str:
    try:
        proc = subprocess.run(git_argv(root, *args), capture_output=True, check=False,
                              timeout=GIT_TIMEOUT_S)
    except (OSError, subprocess.TimeoutExpired):
        return ""
    return proc.stdout.decode("utf-8", "replace").strip() if proc.returncode == 0 else ""


def repository_of(url: str, root: Path, owner: str) -> str:
    """``owner/name`` of a remote URL (https, ssh or scp form), else from the directory."""
    found = _REMOTE.search(url.strip()) if url else None
    if found:
        return f"{found.group(1)}/{found.group(2)}"
    return f"{owner}/{root.resolve().name}"


def read_checkout(root: Path) -> Checkout:
    """The checkout at ``root`` (placeholders outside a git repository)."""
    actor = _git(root, "config", "user.name") or _user()
    url = _git(root, "remote", "get-url", "origin")
    return Checkout(read_git(root), repository_of(url, root, actor.replace(" ", "-")), actor)


def _user() -> str:
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return "runner"


def synthesized_event(event: str, checkout: Checkout, inputs: dict[str, Json],
                      pr_number: int = 1) -> dict[str, Json]:
    """A minimal payload for ``event`` when the user gives none (``--eventpath``), as act does."""
    git = checkout.git
    owner, _, name = checkout.repository.partition("/")
    repo: dict[str, Json] = {
        "full_name": checkout.repository, "name": name, "owner": {"login": owner},
        "default_branch": git.default_branch,
        "html_url": f"{SERVER_URL}/{checkout.repository}",
    }
    payload: dict[str, Json] = {"repository": repo, "sender": {"login": checkout.actor}}
    if event == "push":
        payload.update({
            "ref": _ref(git), "before": ZERO_SHA, "after": git.sha, "created": False,
            "deleted": False, "forced": False, "pusher": {"name": checkout.actor},
            "head_commit": {"id": git.sha, "message": git.message,
                            "author": {"name": git.author}},
        })
    elif event in ("pull_request", "pull_request_target"):
        payload.update({"action": "opened", "number": pr_number, "pull_request": {
            "number": pr_number, "head": {"ref": git.branch or git.ref_name, "sha": git.sha},
            "base": {"ref": git.default_branch, "sha": ZERO_SHA}, "title": git.title,
        }})
    elif event == "workflow_dispatch":
        payload.update({"ref": _ref(git), "inputs": {k: _event_input(v)
                                                      for k, v in inputs.items()}})
    return payload


def _event_input(got: Json) -> Json:
    """``github.event.inputs`` holds strings (booleans as "true"/"false"), unlike ``inputs``."""
    if isinstance(got, bool):
        return "true" if got else "false"
    if isinstance(got, float):
        return number_text(got)
    return got


def _ref(git: GitInfo) -> str:
    if git.tag is not None:
        return f"refs/tags/{git.tag}"
    return f"refs/heads/{git.branch or git.ref_name}"


def github_context(event: str, payload: dict[str, Json], checkout: Checkout,
                   workflow: str, workspace: str) -> dict[str, Json]:
    """Every ``github.*`` value but ``job`` and ``action`` (set per job and step)."""
    git = checkout.git
    ref, ref_name, ref_type = _ref(git), git.tag or git.branch or git.ref_name, (
        "tag" if git.tag else "branch")
    head_ref = base_ref = ""
    if event in ("pull_request", "pull_request_target"):
        pull = payload.get("pull_request")
        number = payload.get("number", 1)
        head = base = None
        if isinstance(pull, dict):
            head, base = pull.get("head"), pull.get("base")
        head_ref = str(head.get("ref", "")) if isinstance(head, dict) else git.ref_name
        base_ref = str(base.get("ref", "")) if isinstance(base, dict) else git.default_branch
        shown = int(number) if isinstance(number, float | int) else 1
        ref, ref_name, ref_type = f"refs/pull/{shown}/merge", f"{shown}/merge", "branch"
    owner = checkout.repository.partition("/")[0]
    return {
        "action": "", "action_path": "", "action_ref": "", "action_repository": "",
        "actor": checkout.actor, "actor_id": "0", "triggering_actor": checkout.actor,
        "api_url": API_URL, "base_ref": base_ref, "head_ref": head_ref,
        "env": "", "path": "", "event": payload, "event_name": event,
        "event_path": "", "graphql_url": GRAPHQL_URL, "job": "",
        "ref": ref, "ref_name": ref_name, "ref_protected": False, "ref_type": ref_type,
        "repository": checkout.repository, "repository_id": "0",
        "repository_owner": owner, "repository_owner_id": "0",
        "repositoryUrl": f"git://github.com/{checkout.repository}.git",
        "retention_days": "90", "run_id": "1", "run_number": "1", "run_attempt": "1",
        "secret_source": "Actions", "server_url": SERVER_URL, "sha": git.sha, "token": "",
        "workflow": workflow, "workflow_ref": "", "workflow_sha": git.sha,
        "workspace": workspace,
    }
