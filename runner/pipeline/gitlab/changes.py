"""``rules:changes`` and ``only/except:changes``: the files a push changes, judged as GitLab does.

GitLab (``Rules::Rule::Clause::Changes``, ``Policy::Changes``) tests each
pattern with ``File.fnmatch?`` (see ``globs``) against the pipeline's modified
paths, and counts the clause as true when there are none to compare: a new
branch, a tag, the first commit. ``compare_to`` compares with the merge base
of that ref and the commit instead.

A local run is the push you are about to make, so the changed files are:

- with ``--compare-to REF`` (or a clause's ``compare_to: REF``): those since
  the merge base of ``REF`` (or ``origin/REF``) and ``HEAD``;
- on the default branch: those since the previous commit (GitLab's
  ``before_sha`` of a one-commit push); none before the first commit, so true;
- on another branch (or a detached ``HEAD``): those since its merge base with
  ``origin/<default>``, else the local default branch, as the merge request
  would show them; true when neither exists (GitLab's new branch);
- on a tag: true, as GitLab's tag pipelines.

Changed files include what is not committed yet (tracked edits and untracked,
not ignored files): those are in every job's workspace and in the push to come.
Renames count under both names, as in GitLab's diff paths.
"""

from __future__ import annotations

import os
import subprocess
from collections.abc import Iterable, Mapping
from pathlib import Path

from runner.errors import UsageError
from runner.pipeline.gitlab.expand import expand
from runner.pipeline.gitlab.globs import glob_regex
from runner.pipeline.gitlab.predefined import ZERO_SHA, GitInfo
from runner.pipeline.projectfiles import git_argv

GIT_TIMEOUT_S = 30.0


class CompareError(ValueError):
    """A ``compare_to`` ref that names no commit; the message says which."""


class ChangeSet:
    """What a pipeline's ``changes`` clauses are judged against, worked out on first use."""

    def __init__(self, root: Path, git: GitInfo, compare_to: str | None = None) -> None:
        """``compare_to`` is ``--compare-to``: checked now, a ref that names nothing is a
        usage error before anything runs."""
        self.root = root
        self.git = git
        self.compare_to = compare_to
        self._paths: dict[str | None, frozenset[str] | None] = {}
        self.basis: str | None = None
        """How the default comparison was made, for the pipeline's note; set on first use."""
        if compare_to is not None and self._commit(compare_to) is None:
            raise UsageError(f"--compare-to {compare_to!r} names no commit of {root} (nor does"
                             f" 'origin/{compare_to}'); give a branch, tag or commit")

    def holds(self, patterns: Iterable[str], variables: Mapping[str, str],
              compare_to: str | None = None) -> bool:
        """Whether a ``changes`` clause holds: some changed file matches one of ``patterns``.

        The shared evaluator (job rules, ``workflow:rules``, only/except, include rules):
        patterns are expanded as GitLab expands them (unknown variables kept as written).
        Raises ``CompareError`` for a ``compare_to`` that names no commit.
        """
        changed = self.changed(compare_to)
        if changed is None:
            return True
        for pattern in patterns:
            text = expand(pattern, variables, missing="keep", server=True)
            regex = glob_regex(text.removeprefix("./").lstrip("/"))
            if any(regex.match(path) for path in changed):
                return True
        return False

    def changed(self, compare_to: str | None = None) -> frozenset[str] | None:
        """The changed paths, or None when there is no base to compare (every clause holds)."""
        ref = compare_to if compare_to is not None else self.compare_to
        if ref not in self._paths:
            self._paths[ref] = self._work_out(ref)
        return self._paths[ref]

    def _work_out(self, ref: str | None) -> frozenset[str] | None:
        if self.git.sha == ZERO_SHA:
            self._say(ref, "there is no commit yet, so every 'changes' holds")
            return None
        base = self._default_base() if ref is None else self._ref_base(ref)
        return None if base is None else self._since(base)

    def _ref_base(self, ref: str) -> str | None:
        """The merge base of ``ref`` and HEAD (GitLab's ``modified_paths_since``)."""
        target = self._commit(ref)
        if target is None:
            raise CompareError(f"compare_to '{ref}' names no commit of this repository"
                               f" (nor does 'origin/{ref}')")
        self._say(ref, f"compared with the merge base of '{ref}' and HEAD")
        base = self._git("merge-base", target, "HEAD")
        return None if base is None else base.strip()

    def _default_base(self) -> str | None:
        """The push's base without a ref: previous commit, or merge base with the default."""
        if self.git.tag is not None and self.git.branch is None:
            self._say(None, "a tag pipeline has nothing to compare, so every 'changes' holds")
            return None
        if self.git.branch == self.git.default_branch:
            before = self._commit("HEAD~1")
            self._say(None, "the first commit has nothing before it, so every 'changes' holds"
                      if before is None else "compared with the previous commit (HEAD~1), as a"
                      " push of the default branch is")
            return before
        default = self.git.default_branch
        for name in (f"refs/remotes/origin/{default}", f"refs/heads/{default}"):
            target = self._commit(name)
            base = None if target is None else self._git("merge-base", target, "HEAD")
            if base is not None:
                shown = name.removeprefix("refs/remotes/").removeprefix("refs/heads/")
                self._say(None, f"compared with the merge base of '{shown}' and HEAD")
                return base.strip()
        self._say(None, f"no default branch '{default}' to compare with (a new branch to"
                  " GitLab), so every 'changes' holds")
        return None

    def _say(self, ref: str | None, text: str) -> None:
        if ref is None or ref == self.compare_to:
            self.basis = self.basis or text

    def _since(self, base: str) -> frozenset[str]:
        diff = self._git("diff", "--name-only", "--no-renames", "-z", base, "--")
        new = self._git("ls-files", "-z", "--others", "--exclude-standard")
        names = f"{diff or ''}\0{new or ''}".split("\0")
        return frozenset(name for name in names if name)

    def _commit(self, ref: str) -> str | None:
        """The commit ``ref`` (or ``origin/ref``) names, or None."""
        if ref.startswith("-"):
            return None  # never an option to git
        for name in (ref, f"origin/{ref}"):
            found = self._git("rev-parse", "--verify", "--quiet", "--end-of-options",
                              f"{name}^{{commit}}")
            if found:
                return found.strip()
        return None

    def _git(self, *args: str) -> str | None:
        try:
            proc = subprocess.run(git_argv(self.root, *args), capture_output=True, check=False,
                                  timeout=GIT_TIMEOUT_S)
        except (OSError, subprocess.TimeoutExpired):
            return None
        if proc.returncode != 0:
            return None
        return os.fsdecode(proc.stdout)
