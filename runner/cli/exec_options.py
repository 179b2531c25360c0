"""``--variable``, ``--secret`` and the variables files as dialect-neutral load options."""

from __future__ import annotations

import argparse
import re
import sys
from collections.abc import Mapping
from pathlib import Path

from runner.cli.exec_github import github_options
from runner.errors import UsageError, UserInputError
from runner.execute.report import shown
from runner.execute.source import PROJECT_VARIABLES
from runner.execute.statedir import not_own
from runner.pipeline.gitlab.fetching import Token
from runner.pipeline.load import LoadOptions
from runner.pipeline.model import SecretSource
from runner.pipeline.varsfile import FileVariable, load_variables_file

_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


def variables_files(root: Path, environ: Mapping[str, str], explicit: Path | None,
                    home: Path) -> list[Path]:
    """The variables files to read, lowest precedence first: the user's, the project's, then
    ``--variables-file``. The first two are read when present (as gitlab-ci-local reads
    ``.gitlab-ci-local-variables.yml``), so nobody has to name them at every run.

    The project's is refused if it, or ``.runner``, is a link or another user's: a
    project could ship one pointing at a file of the runner user's (another tenant's
    variables) and have its values handed to its own jobs.
    """
    config = Path(environ.get("XDG_CONFIG_HOME") or home / ".config")
    found = [path for path in (config / "runner" / "variables.yml",) if path.is_file()]
    project = root / PROJECT_VARIABLES
    for path in (project.parent, project):
        problem = not_own(path)
        if problem == "link":
            raise UserInputError(f"{path} is a symbolic link; runner reads the project's "
                                 "variables only from a file of its own there, never through "
                                 "a link a project may have shipped. Replace it with the file.")
        if problem:
            raise UserInputError(f"{path} belongs to {problem}, not to this user; runner reads "
                                 "only its own variables file. Remove it.")
    if project.is_file():
        found.append(project)
    if explicit is not None:
        found.append(explicit)
    return found


def cli_options(args: argparse.Namespace, environ: Mapping[str, str], root: Path) -> LoadOptions:
    """Later variables files win over earlier ones, and ``--variable`` over them all (GitLab's
    pipeline variables win over project settings)."""
    plain: dict[str, str] = {}
    files: dict[str, str] = {}
    secrets: dict[str, SecretSource] = {}
    values: dict[str, str] = {}
    for path in variables_files(root, environ, args.variables_file, Path.home()):
        if path != args.variables_file:
            print(f"runner: variables from {shown(path, Path.cwd())}", file=sys.stderr,
                  flush=True)
        entries = load_variables_file(path)
        protected_ref = _protected_ref(root) if any(e.protected for e in entries) else False
        for entry in entries:
            if entry.protected and not protected_ref:
                continue  # GitLab hides protected variables from unprotected refs
            _add_file_variable(entry, plain, files, secrets, values)
    for item in args.variable:
        name, sep, value = item.partition("=")
        if not sep or not _NAME.fullmatch(name):
            raise UsageError(f"--variable {item!r}: write it as KEY=VALUE, KEY made of letters, "
                             "digits and '_'")
        plain[name] = value
        files.pop(name, None)
        secrets.pop(name, None)
    for name in args.secret:
        if not _NAME.fullmatch(name):
            raise UsageError(f"--secret {name!r}: give the name of an environment variable")
        if name in plain:
            raise UsageError(f"{name} is given both as --secret and as a plain variable")
        secrets[name] = SecretSource(name, env=name)
        if name in environ:
            values[name] = environ[name]
    return LoadOptions(
        variables=tuple(plain.items()), file_variables=tuple(files.items()),
        secrets=tuple(secrets.values()), secret_values=values, inputs=input_pairs(args),
        compare_to=args.compare_to,
        gitlab_url=getattr(args, "gitlab_url", None) or environ.get("CI_SERVER_URL")
        or plain.get("CI_SERVER_URL"),
        gitlab_token=gitlab_token(getattr(args, "gitlab_token", None), environ,
                                  {**plain, **values}),
        github=github_options(args, environ) if hasattr(args, "event") else None,  # type: ignore[arg-type]
    )


def input_pairs(args: argparse.Namespace) -> tuple[tuple[str, str], ...]:
    """``--input NAME=VALUE`` as pairs, the last of a name winning; typed later by the file."""
    pairs: dict[str, str] = {}
    for item in args.input:
        name, sep, value = item.partition("=")
        if not sep or not name.strip():
            raise UsageError(f"--input {item!r}: write it as NAME=VALUE, NAME an input the"
                             " file's 'spec:inputs' header declares")
        pairs[name.strip()] = value
    return tuple(pairs.items())


TOKEN_SOURCES = (("GITLAB_TOKEN", "PRIVATE-TOKEN"), ("CI_JOB_TOKEN", "JOB-TOKEN"))
"""Where a token is looked for without --gitlab-token, first found wins, and its header."""


def gitlab_token(name: str | None, environ: Mapping[str, str],
                 from_files: Mapping[str, str]) -> Token | None:
    """The token for includes: ``--gitlab-token NAME`` names an environment variable (a
    literal token on the command line would show in ``ps``); else GITLAB_TOKEN or
    CI_JOB_TOKEN from the environment, then from the variables files."""
    if name is not None:
        if not _NAME.fullmatch(name):
            raise UsageError("--gitlab-token takes the NAME of an environment variable that "
                             "holds the token, not the token itself (the command line is "
                             "visible to every user in ps)")
        if not environ.get(name):
            raise UsageError(f"--gitlab-token {name}: the environment variable {name} is not "
                             "set or empty")
        header = "JOB-TOKEN" if name == "CI_JOB_TOKEN" else "PRIVATE-TOKEN"
        return Token(header, environ[name])
    for source in (environ, from_files):
        for variable, header in TOKEN_SOURCES:
            if source.get(variable):
                return Token(header, source[variable])
    return None


def _add_file_variable(entry: FileVariable, plain: dict[str, str], files: dict[str, str],
                       secrets: dict[str, SecretSource], values: dict[str, str]) -> None:
    for kind in (plain, files, secrets, values):
        kind.pop(entry.name, None)  # one an earlier file gave, of whatever kind
    if entry.masked:
        secrets[entry.name] = SecretSource(entry.name, value=entry.value, as_file=entry.as_file)
        values[entry.name] = entry.value
    elif entry.as_file:
        files[entry.name] = entry.value
    else:
        plain[entry.name] = entry.value


def _protected_ref(root: Path) -> bool:
    """Locally, the default branch and tags count as protected (GitLab's defaults)."""
    from runner.pipeline.gitlab.predefined import read_git  # noqa: PLC0415

    info = read_git(root)
    return info.tag is not None or info.branch == info.default_branch
