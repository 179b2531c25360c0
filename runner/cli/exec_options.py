"""``--variable``, ``--secret`` and ``--variables-file`` as dialect-neutral load options."""

from __future__ import annotations

import argparse
import re
from collections.abc import Mapping
from pathlib import Path

from runner.errors import UsageError
from runner.pipeline.load import LoadOptions
from runner.pipeline.model import SecretSource
from runner.pipeline.varsfile import FileVariable, load_variables_file

_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


def cli_options(args: argparse.Namespace, environ: Mapping[str, str], root: Path) -> LoadOptions:
    """Pipeline variables (``--variable``) win over the variables file's, as in GitLab."""
    plain: dict[str, str] = {}
    files: dict[str, str] = {}
    secrets: dict[str, SecretSource] = {}
    values: dict[str, str] = {}
    if args.variables_file is not None:
        entries = load_variables_file(args.variables_file)
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
        secrets=tuple(secrets.values()), secret_values=values,
    )


def _add_file_variable(entry: FileVariable, plain: dict[str, str], files: dict[str, str],
                       secrets: dict[str, SecretSource], values: dict[str, str]) -> None:
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
