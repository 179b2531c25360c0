"""The automatic variables files: which are read, in which order, and which are refused."""

from __future__ import annotations

import argparse
from pathlib import Path

import pytest

from runner.cli.exec_options import cli_options, variables_files
from runner.errors import UsageError, UserInputError
from runner.pipeline.gitlab.fetching import Token


def _files(tmp_path: Path) -> tuple[Path, Path, Path, Path]:
    """(project root, XDG config dir, user file, project file), both files written."""
    root, config = tmp_path / "proj", tmp_path / "config"
    user, project = config / "runner" / "variables.yml", root / ".runner" / "variables.yml"
    for path in (user, project):
        path.parent.mkdir(parents=True)
    user.write_text("WHO: user\nUSER_ONLY: u\nTOKEN: {value: user-token-value, masked: true}\n")
    project.write_text("WHO: project\nTOKEN: project-plain\n")
    return root, config, user, project


def _args(variables_file: Path | None = None, *variables: str) -> argparse.Namespace:
    return argparse.Namespace(variables_file=variables_file, variable=list(variables), secret=[],
                              input=[], compare_to=None)


def test_user_then_project_then_explicit(tmp_path: Path) -> None:
    root, config, user, project = _files(tmp_path)
    explicit = tmp_path / "x.yml"
    env = {"XDG_CONFIG_HOME": str(config)}
    assert variables_files(root, env, None, tmp_path) == [user, project]
    assert variables_files(root, env, explicit, tmp_path) == [user, project, explicit]
    assert variables_files(root, {}, None, tmp_path / "home") == [project]
    (tmp_path / "home" / ".config" / "runner").mkdir(parents=True)
    (tmp_path / "home" / ".config" / "runner" / "variables.yml").write_text("A: b\n")
    assert variables_files(root, {}, None, tmp_path / "home")[0].is_relative_to(tmp_path / "home")


def test_later_files_win_whatever_the_kind_and_variable_wins_over_all(tmp_path: Path) -> None:
    """A masked variable of the user's file made plain by the project's is plain, not a
    secret any more; ``--variable`` is over every file."""
    root, config, _, _ = _files(tmp_path)
    explicit = tmp_path / "x.yml"
    explicit.write_text("WHO: explicit\n")
    env = {"XDG_CONFIG_HOME": str(config)}
    got = cli_options(_args(), env, root)
    assert dict(got.variables) == {"WHO": "project", "USER_ONLY": "u", "TOKEN": "project-plain"}
    assert got.secrets == () and got.secret_values == {}
    got = cli_options(_args(explicit, "USER_ONLY=cli"), env, root)
    assert dict(got.variables) == {"WHO": "explicit", "USER_ONLY": "cli",
                                   "TOKEN": "project-plain"}


def test_a_masked_value_of_the_users_file_stays_a_secret(tmp_path: Path) -> None:
    root, config, _, project = _files(tmp_path)
    project.unlink()
    got = cli_options(_args(), {"XDG_CONFIG_HOME": str(config)}, root)
    assert [secret.name for secret in got.secrets] == ["TOKEN"]
    assert got.secret_values == {"TOKEN": "user-token-value"}
    assert "user-token-value" not in repr(got.secrets)


@pytest.mark.parametrize("planted", ["variables.yml", ".runner"])
def test_a_linked_project_file_or_dir_is_refused(tmp_path: Path, planted: str) -> None:
    root, config, user, project = _files(tmp_path)
    if planted == ".runner":
        project.parent.rename(tmp_path / "real")
        project.parent.symlink_to(tmp_path / "real")
        link = project.parent
    else:
        project.unlink()
        project.symlink_to(user)
        link = project
    with pytest.raises(UserInputError, match=f"{link} is a symbolic link"):
        variables_files(root, {"XDG_CONFIG_HOME": str(config)}, None, tmp_path)


# -- the GitLab server and token for includes ------------------------------------


def _gitlab_args(url: str | None = None, token: str | None = None) -> argparse.Namespace:
    args = _args()
    args.gitlab_url, args.gitlab_token = url, token
    return args


def test_gitlab_token_names_an_environment_variable(tmp_path: Path) -> None:
    env = {"MY_TOKEN": "glpat-from-env", "GITLAB_TOKEN": "ignored"}
    got = cli_options(_gitlab_args(token="MY_TOKEN"), env, tmp_path)
    assert got.gitlab_token == Token("PRIVATE-TOKEN", "glpat-from-env")
    assert "glpat-from-env" not in repr(got)
    job = cli_options(_gitlab_args(token="CI_JOB_TOKEN"), {"CI_JOB_TOKEN": "jt"}, tmp_path)
    assert job.gitlab_token == Token("JOB-TOKEN", "jt")


def test_a_literal_token_on_the_command_line_is_refused_without_echoing_it(
    tmp_path: Path,
) -> None:
    with pytest.raises(UsageError) as info:
        cli_options(_gitlab_args(token="glpat-Literal-Secret"), {}, tmp_path)
    assert "glpat-Literal-Secret" not in str(info.value)
    assert "NAME of an environment variable" in str(info.value)
    with pytest.raises(UsageError, match="MISSING is not set"):
        cli_options(_gitlab_args(token="MISSING"), {}, tmp_path)


def test_default_token_and_server_come_from_the_environment_then_the_files(
    tmp_path: Path,
) -> None:
    root = tmp_path / "proj"
    (root / ".runner").mkdir(parents=True)
    (root / ".runner" / "variables.yml").write_text(
        "CI_SERVER_URL: https://files.example\n"
        "GITLAB_TOKEN: {value: from-file-token, masked: true}\n")
    env = {"XDG_CONFIG_HOME": str(tmp_path / "none")}
    got = cli_options(_gitlab_args(), env, root)
    assert (got.gitlab_url, got.gitlab_token) == (
        "https://files.example", Token("PRIVATE-TOKEN", "from-file-token"))
    env |= {"CI_SERVER_URL": "https://env.example", "CI_JOB_TOKEN": "job"}
    got = cli_options(_gitlab_args(), env, root)
    assert (got.gitlab_url, got.gitlab_token) == ("https://env.example", Token("JOB-TOKEN", "job"))
    got = cli_options(_gitlab_args(url="https://arg.example"), env | {"GITLAB_TOKEN": "p"}, root)
    assert got.gitlab_url == "https://arg.example"
    assert got.gitlab_token == Token("PRIVATE-TOKEN", "p")
