"""The settings include expansion runs with: variables, the GitLab server, the cache.

Kept apart from ``include`` so that the command line's view (``--gitlab-url``,
``--gitlab-token``, the variables files) is turned into ``IncludeSettings`` in
one place, and tests can build settings without a command line.
"""

from __future__ import annotations

import os
import urllib.parse
from collections.abc import Callable, Mapping
from pathlib import Path

from runner.errors import UsageError
from runner.pipeline.gitlab.fetchcache import cache_dir
from runner.pipeline.gitlab.fetching import Token
from runner.pipeline.gitlab.gitlabapi import Server
from runner.pipeline.gitlab.include import IncludeSettings
from runner.pipeline.gitlab.jobspec import config_path
from runner.pipeline.gitlab.predefined import GitInfo, pipeline_predefined, read_git


def server_of(url: str | None, token: Token | None) -> Server | None:
    """The server at ``url`` (checked: http(s), a host, no credentials in it), or None."""
    if not url:
        return None
    parts = urllib.parse.urlsplit(url.strip())
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise UsageError(f"--gitlab-url '{url}' must be an http(s) address like"
                         " https://gitlab.example.com")
    if parts.username or parts.password or parts.query:
        raise UsageError("--gitlab-url must not carry credentials or a query; give the token"
                         " with --gitlab-token NAME, the name of an environment variable")
    return Server(urllib.parse.urlunsplit((parts.scheme, parts.netloc, parts.path.rstrip("/"),
                                           "", "")), token)


def server_variables(server: Server) -> list[tuple[str, str]]:
    """GitLab's ``CI_SERVER_*`` predefined variables for ``server``."""
    parts = urllib.parse.urlsplit(server.url)
    port = parts.port or (443 if parts.scheme == "https" else 80)
    return [
        ("CI_SERVER_URL", server.url),
        ("CI_SERVER_HOST", parts.hostname or ""),
        ("CI_SERVER_PORT", str(port)),
        ("CI_SERVER_PROTOCOL", parts.scheme),
        ("CI_SERVER_FQDN", parts.netloc),
        ("CI_API_V4_URL", f"{server.url}/api/v4"),
    ]


def include_settings(
    root: Path,
    config_file: Path,
    outside: Mapping[str, str],
    server: Server | None,
    *,
    git: GitInfo | None = None,
    environ: Mapping[str, str] | None = None,
    home: Path | None = None,
    notice: Callable[[str], None] | None = None,
) -> IncludeSettings:
    """Settings for the pipeline ``config_file`` of the project at ``root``.

    ``outside`` are the project and pipeline variables (raw values, secrets too:
    GitLab's include rules see them; they are never written anywhere).
    """
    git = git or read_git(root)
    variables = dict(pipeline_predefined(git, root, config_path(str(config_file), root)))
    if server is not None:
        variables.update(server_variables(server))
    variables.update(outside)
    environ = os.environ if environ is None else environ
    cache = cache_dir(root, environ, home or Path.home())
    return IncludeSettings(variables, server, cache, notice, git=git)
