"""Tests of runner.pipeline.gitlab.predefined: git state, and GitLab's predefined variables."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from runner.pipeline.gitlab.predefined import (
    GitInfo,
    job_predefined,
    pipeline_predefined,
    predefined,
    read_git,
    slug,
)
from runner.pipeline.model import container_project_dir

DATE = "2024-05-01T10:00:00+02:00"


@pytest.fixture(autouse=True)
def _isolated_git(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """No user or system git config may change what read_git sees."""
    empty = tmp_path / "gitconfig"
    empty.write_text("")
    monkeypatch.setenv("GIT_CONFIG_GLOBAL", str(empty))
    monkeypatch.setenv("GIT_CONFIG_NOSYSTEM", "1")
    monkeypatch.setenv("GIT_AUTHOR_DATE", DATE)
    monkeypatch.setenv("GIT_COMMITTER_DATE", DATE)


def git(root: Path, *args: str) -> str:
    return subprocess.run(
        ["git", "-C", str(root), "-c", "user.name=Ann Example", "-c", "user.email=ann@example.com",
         *args],
        check=True,
        capture_output=True,
        text=True,
    ).stdout.strip()


def repo(tmp_path: Path, branch: str = "main") -> Path:
    root = tmp_path / "proj"
    root.mkdir()
    git(root, "init", "-q", "-b", branch)
    (root / "a.txt").write_text("a\n")
    git(root, "add", "a.txt")
    git(root, "commit", "-q", "-m", "Add a file\n\nWith a body\nof two lines.")
    return root


def test_read_git_on_a_branch(tmp_path: Path) -> None:
    root = repo(tmp_path, "feature/x")
    sha = git(root, "rev-parse", "HEAD")
    assert read_git(root) == GitInfo(
        sha=sha,
        short_sha=sha[:8],
        ref_name="feature/x",
        branch="feature/x",
        tag=None,
        default_branch="main",
        message="Add a file\n\nWith a body\nof two lines.",
        title="Add a file",
        timestamp="2024-05-01T08:00:00Z",
        author="Ann Example <ann@example.com>",
    )


def test_default_branch_from_config_then_origin_head(tmp_path: Path) -> None:
    root = repo(tmp_path)
    git(root, "config", "init.defaultBranch", "trunk")
    assert read_git(root).default_branch == "trunk"
    git(root, "update-ref", "refs/remotes/origin/develop", "HEAD")
    git(root, "symbolic-ref", "refs/remotes/origin/HEAD", "refs/remotes/origin/develop")
    assert read_git(root).default_branch == "develop"


def test_head_exactly_on_a_tag_is_a_tag_pipeline(tmp_path: Path) -> None:
    root = repo(tmp_path)
    git(root, "tag", "v1.2.0")
    info = read_git(root)
    assert (info.ref_name, info.branch, info.tag, info.note) == ("v1.2.0", None, "v1.2.0", None)


def test_a_tag_on_an_older_commit_does_not_count(tmp_path: Path) -> None:
    root = repo(tmp_path)
    git(root, "tag", "v1")
    git(root, "commit", "-q", "--allow-empty", "-m", "later")
    info = read_git(root)
    assert (info.ref_name, info.branch, info.tag) == ("main", "main", None)


def test_detached_head_runs_as_branch_HEAD_with_a_note(tmp_path: Path) -> None:
    root = repo(tmp_path)
    git(root, "checkout", "-q", "--detach")
    info = read_git(root)
    assert (info.ref_name, info.branch, info.tag) == ("HEAD", "HEAD", None)
    assert info.note is not None
    assert "detached" in info.note


def test_not_a_repository_gets_placeholders_and_a_note(tmp_path: Path) -> None:
    info = read_git(tmp_path)
    assert info == GitInfo(
        sha="0" * 40,
        short_sha="00000000",
        ref_name="main",
        branch="main",
        tag=None,
        default_branch="main",
        message="",
        title="",
        timestamp="1970-01-01T00:00:00Z",
        author="",
        note=f"{tmp_path} is not a git repository; CI_COMMIT_* variables hold placeholders"
        " (branch 'main', commit 00000000)",
    )


def test_repository_without_commits_keeps_its_branch(tmp_path: Path) -> None:
    root = tmp_path / "empty"
    root.mkdir()
    git(root, "init", "-q", "-b", "dev")
    info = read_git(root)
    assert (info.sha, info.branch, info.ref_name) == ("0" * 40, "dev", "dev")
    assert info.note == f"{root} has no commit yet; CI_COMMIT_* variables hold placeholders"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("main", "main"),
        ("feature/Foo_Bar", "feature-foo-bar"),
        ("v17.2.0-rc42-ee", "v17-2-0-rc42-ee"),
        ("--Weird--", "weird"),
        ("test: [3.10, linux]", "test---3-10--linux"),
        ("a" * 70, "a" * 63),
        ("x" * 62 + "/y", "x" * 62),
    ],
)
def test_slug_is_gitlabs(text: str, expected: str) -> None:
    assert slug(text) == expected


GIT = GitInfo(
    sha="b" * 40,
    short_sha="b" * 8,
    ref_name="feature/Login",
    branch="feature/Login",
    tag=None,
    default_branch="main",
    message="Fix login\n\nDetails here",
    title="Fix login",
    timestamp="2024-05-01T08:00:00Z",
    author="Ann <ann@example.com>",
)


def test_pipeline_variables_of_a_branch_pipeline(tmp_path: Path) -> None:
    root = tmp_path / "My Project"
    assert pipeline_predefined(GIT, root, "ci/main.yml") == [
        ("CI", "true"),
        ("GITLAB_CI", "true"),
        ("CI_SERVER", "yes"),
        ("CI_PIPELINE_ID", "1"),
        ("CI_PIPELINE_IID", "1"),
        ("CI_PIPELINE_SOURCE", "push"),
        ("CI_CONFIG_PATH", "ci/main.yml"),
        ("CI_PROJECT_DIR", "/builds/My_Project"),
        ("CI_PROJECT_NAME", "My Project"),
        ("CI_BUILDS_DIR", "/builds"),
        ("CI_COMMIT_SHA", "b" * 40),
        ("CI_COMMIT_SHORT_SHA", "b" * 8),
        ("CI_COMMIT_BEFORE_SHA", "0" * 40),
        ("CI_COMMIT_REF_NAME", "feature/Login"),
        ("CI_COMMIT_REF_SLUG", "feature-login"),
        ("CI_COMMIT_BRANCH", "feature/Login"),
        ("CI_COMMIT_MESSAGE", "Fix login\n\nDetails here"),
        ("CI_COMMIT_TITLE", "Fix login"),
        ("CI_COMMIT_DESCRIPTION", "Details here"),
        ("CI_COMMIT_TIMESTAMP", "2024-05-01T08:00:00Z"),
        ("CI_COMMIT_AUTHOR", "Ann <ann@example.com>"),
        ("CI_DEFAULT_BRANCH", "main"),
    ]
    assert container_project_dir(root) == "/builds/My_Project"


def test_tag_pipeline_has_tag_and_no_branch(tmp_path: Path) -> None:
    git_info = GitInfo(**{**GIT.__dict__, "ref_name": "v1", "branch": None, "tag": "v1"})
    names = dict(pipeline_predefined(git_info, tmp_path))
    assert names["CI_COMMIT_TAG"] == "v1"
    assert names["CI_COMMIT_REF_NAME"] == "v1"
    assert "CI_COMMIT_BRANCH" not in names


def test_job_variables_plain_parallel_and_manual() -> None:
    assert job_predefined("build it", "build", 3) == [
        ("CI_JOB_NAME", "build it"),
        ("CI_JOB_NAME_SLUG", "build-it"),
        ("CI_JOB_STAGE", "build"),
        ("CI_JOB_ID", "3"),
        ("CI_NODE_TOTAL", "1"),
    ]
    assert job_predefined("t 2/4", "test", 7, (2, 4), manual=True) == [
        ("CI_JOB_NAME", "t 2/4"),
        ("CI_JOB_NAME_SLUG", "t-2-4"),
        ("CI_JOB_STAGE", "test"),
        ("CI_JOB_ID", "7"),
        ("CI_NODE_INDEX", "2"),
        ("CI_NODE_TOTAL", "4"),
        ("CI_JOB_MANUAL", "true"),
    ]


def test_predefined_is_pipeline_then_job_variables(tmp_path: Path) -> None:
    got = predefined(GIT, tmp_path, job="j", stage="test", job_id=1)
    assert got == (*pipeline_predefined(GIT, tmp_path), *job_predefined("j", "test", 1))


def test_repository_of_another_user_says_so(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def refused(argv: list[str], **_: object) -> subprocess.CompletedProcess[bytes]:
        return subprocess.CompletedProcess(
            argv, 128, b"", b"fatal: detected dubious ownership in repository at '/x'\n"
        )

    monkeypatch.setattr(subprocess, "run", refused)
    assert read_git(tmp_path).note == (
        f"git refuses to read {tmp_path} because another user owns it (see git's"
        " safe.directory); CI_COMMIT_* variables hold placeholders (branch 'main', commit"
        " 00000000)"
    )
