"""Which project a pipeline file belongs to, and the file ``runner exec`` finds by itself."""

from __future__ import annotations

import subprocess
from pathlib import Path

from runner.cli.exec_select import gitlab_file_at_top, project_root


def _repo(root: Path) -> Path:
    (root / "src" / "deep").mkdir(parents=True)
    (root / "ci").mkdir()
    subprocess.run(["git", "init", "-q", str(root)], check=True, timeout=30)
    return root.resolve()


def test_a_gitlab_file_belongs_to_the_git_top_level(tmp_path: Path) -> None:
    """A GitLab file anywhere in a repository: the top level, as GitLab's CI_PROJECT_DIR;
    a native file keeps its own directory; --project-dir wins over both."""
    top = _repo(tmp_path / "repo")
    assert project_root(top / "ci" / "main.gitlab-ci.yml", None, None) == top
    assert project_root(top / "src" / "deep" / "x.yml", "gitlab", None) == top
    assert project_root(top / "ci" / "pipeline.yml", None, None) == top / "ci"
    assert project_root(top / "ci" / ".gitlab-ci.yml", None, top / "src") == top / "src"


def test_outside_a_repository_the_files_directory_is_the_project(tmp_path: Path) -> None:
    """No git: the file's directory, as before."""
    plain = tmp_path / "plain"
    plain.mkdir()
    assert project_root(plain / ".gitlab-ci.yml", None, None) == plain.resolve()
    assert gitlab_file_at_top(plain) is None


def test_the_top_levels_gitlab_file_is_found_from_below_it(tmp_path: Path) -> None:
    """From a subdirectory, the top's .gitlab-ci.yml as a relative path; none at the top
    itself (the current directory's own files are looked at first) or when it is missing."""
    top = _repo(tmp_path / "repo")
    assert gitlab_file_at_top(top / "src" / "deep") is None
    (top / ".gitlab-ci.yml").write_text("job: {script: [true]}\n")
    assert gitlab_file_at_top(top / "src" / "deep") == Path("../../.gitlab-ci.yml")
    assert gitlab_file_at_top(top) is None


def test_a_workflow_belongs_to_the_repository_above_its_workflows_directory(
        tmp_path: Path) -> None:
    """``.github/workflows/ci.yml``: the git top level, else the directory above ``.github``."""
    top = _repo(tmp_path / "repo")
    assert project_root(top / ".github" / "workflows" / "ci.yml", None, None) == top
    assert project_root(top / ".forgejo" / "workflows" / "ci.yml", None, None) == top
    plain = (tmp_path / "plain").resolve()
    assert project_root(plain / ".gitea" / "workflows" / "ci.yml", None, None) == plain
