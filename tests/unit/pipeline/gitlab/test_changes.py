"""``rules:changes`` and ``only/except:changes`` judged on real git repositories.

Each test makes commits and branches, then translates a file as ``runner exec``
would on that checkout: the jobs GitLab would create for that push are listed.
"""

from __future__ import annotations

import subprocess
import textwrap
from pathlib import Path

import pytest

from runner.errors import PipelineError, UsageError
from runner.pipeline.gitlab.changes import ChangeSet
from runner.pipeline.gitlab.predefined import read_git
from runner.pipeline.gitlab.translate import Options, translate
from runner.pipeline.model import Pipeline
from tests.unit.pipeline.gitlab.test_translate import FILE, composed

PIPELINE = """\
    api: {image: i, script: x, rules: [{changes: ["api/**/*"]}]}
    web: {image: i, script: x, rules: [{changes: {paths: ["web/*.js"]}}]}
    docs: {image: i, script: x, only: {changes: ["docs/*.md"]}}
    not-web: {image: i, script: x, except: {changes: ["web/*"]}}
    always: {image: i, script: x}
    """


def git(root: Path, *args: str) -> str:
    done = subprocess.run(
        ["git", "-c", "user.name=t", "-c", "user.email=t@x", "-c", "init.defaultBranch=main",
         "-C", str(root), *args], capture_output=True, text=True, check=True, timeout=30)
    return done.stdout.strip()


def commit(root: Path, message: str, files: dict[str, str]) -> str:
    for name, text in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    git(root, "add", "-A")
    git(root, "commit", "-qm", message)
    return git(root, "rev-parse", "HEAD")


def jobs(root: Path, text: str = PIPELINE, compare_to: str | None = None) -> Pipeline:
    return translate(composed(textwrap.dedent(text)), root,
                     Options(git=read_git(root), compare_to=compare_to))


def names(pipeline: Pipeline) -> list[str]:
    return [job.name for job in pipeline.jobs]


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    """main: one commit with every part, then one that changes web/app.js."""
    root = tmp_path / "repo"
    root.mkdir()
    git(root, "init", "-q")
    commit(root, "one", {"api/main.go": "package main\n", "web/app.js": "1\n",
                         "docs/a.md": "a\n", "README": "r\n"})
    commit(root, "two", {"web/app.js": "2\n"})
    return root


def test_default_branch_compares_with_the_previous_commit(repo: Path) -> None:
    pipeline = jobs(repo)
    assert names(pipeline) == ["web", "always"]
    assert pipeline.notes == (
        "'changes' conditions (rules:changes, only/except:changes): compared with the previous"
        " commit (HEAD~1), as a push of the default branch is",
    )


def test_first_commit_counts_every_change(tmp_path: Path) -> None:
    """Nothing before the first commit: GitLab's new-branch push, every clause holds."""
    root = tmp_path / "one"
    root.mkdir()
    git(root, "init", "-q")
    commit(root, "only", {"README": "r\n"})
    assert names(jobs(root)) == ["api", "web", "docs", "always"]


def test_branch_compares_with_its_merge_base_and_counts_uncommitted_files(repo: Path) -> None:
    git(repo, "checkout", "-qb", "feature")
    commit(repo, "api work", {"api/main.go": "package main // v2\n"})
    assert names(jobs(repo)) == ["api", "not-web", "always"]
    # main moving on after the branch point does not count: the merge base does.
    git(repo, "checkout", "-q", "main")
    commit(repo, "web on main", {"web/app.js": "3\n"})
    git(repo, "checkout", "-q", "feature")
    assert names(jobs(repo)) == ["api", "not-web", "always"]
    # What is not committed yet is in the push to come: an untracked doc counts.
    (repo / "docs" / "new.md").write_text("new\n")
    assert names(jobs(repo)) == ["api", "docs", "not-web", "always"]


def test_branch_prefers_origin_default_branch(repo: Path, tmp_path: Path) -> None:
    """origin/main, when there is one, is what the branch is compared with."""
    clone = tmp_path / "clone"
    git(tmp_path, "clone", "-q", str(repo), str(clone))
    git(clone, "checkout", "-qb", "feature")
    commit(clone, "docs", {"docs/b.md": "b\n"})
    git(clone, "branch", "-f", "main", "HEAD")  # a local main that already has the commit
    pipeline = jobs(clone)
    assert names(pipeline) == ["docs", "not-web", "always"]
    assert "compared with the merge base of 'origin/main' and HEAD" in pipeline.notes[-1]


def test_branch_without_a_default_branch_counts_every_change(repo: Path) -> None:
    git(repo, "branch", "-m", "main", "trunk")  # no 'main' anywhere: a new branch to GitLab
    git(repo, "config", "init.defaultBranch", "main")
    assert names(jobs(repo)) == ["api", "web", "docs", "always"]


def test_tag_counts_every_change(repo: Path) -> None:
    git(repo, "tag", "v1")
    git(repo, "checkout", "-q", "v1")
    assert names(jobs(repo)) == ["api", "web", "docs", "always"]


def test_compare_to_option_and_clause(repo: Path) -> None:
    """--compare-to REF and rules:changes:compare_to compare with the merge base of REF."""
    first = git(repo, "rev-list", "--max-parents=0", "HEAD")
    git(repo, "tag", "base", first)
    git(repo, "checkout", "-qb", "feature")
    commit(repo, "api", {"api/main.go": "v2\n"})
    assert names(jobs(repo, compare_to="base")) == ["api", "web", "always"]
    clause = """\
        web: {image: i, script: x, rules: [{changes: {paths: [web/*], compare_to: $BASE}}]}
        api: {image: i, script: x, rules: [{changes: {paths: [web/*], compare_to: main}}]}
        variables: {BASE: base}
        """
    assert names(jobs(repo, clause)) == ["web"]


def test_compare_to_that_names_nothing_is_an_error(repo: Path) -> None:
    with pytest.raises(PipelineError) as caught:
        jobs(repo, "j: {image: i, script: x, rules: [{changes: {paths: [a], compare_to: nope}}]}")
    assert caught.value.spot is not None
    assert (caught.value.spot.file, caught.value.spot.line) == (FILE, 1)
    assert caught.value.message == (
        "compare_to 'nope' names no commit of this repository (nor does 'origin/nope')"
    )
    with pytest.raises(UsageError, match="--compare-to 'nope' names no commit"):
        ChangeSet(repo, read_git(repo), "nope")
    with pytest.raises(UsageError):
        ChangeSet(repo, read_git(repo), "--output=/tmp/x")  # never an option to git


def test_renames_count_under_both_names(repo: Path) -> None:
    git(repo, "checkout", "-qb", "feature")
    git(repo, "mv", "web/app.js", "api/app.js")
    git(repo, "commit", "-qm", "move")
    assert names(jobs(repo)) == ["api", "web", "always"]
