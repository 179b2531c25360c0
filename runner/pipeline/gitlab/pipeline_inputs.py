"""What a whole pipeline hands the ``spec:inputs`` machinery: ``--input`` and its variables.

GitLab's ``expand_vars`` sees the variables known before the file is read: predefined
ones, project (settings) variables and pipeline variables, never the YAML's own
(lib/gitlab/ci/config/external/context.rb ``variables``; functions/expand_vars.rb). A
masked one may not be expanded. Reading git for the predefined ones waits until a
block actually uses ``expand_vars``.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

from runner.pipeline.gitlab.inputs import Given, Variables, given_from_cli
from runner.pipeline.gitlab.predefined import GitInfo


def pipeline_inputs(
    path: Path,
    root: Path,
    inputs: Mapping[str, str],
    variables: Mapping[str, str],
    secret_values: Mapping[str, str],
    *,
    git: GitInfo | None = None,
) -> tuple[Given | None, Variables]:
    """``--input`` values (None when there are none) and what ``expand_vars`` may read.

    ``variables`` are the plain and file project and pipeline variables, the later
    winning; ``secret_values`` the masked ones; ``git`` the checkout, if already read.
    """

    def load() -> dict[str, str]:
        from runner.pipeline.gitlab.jobspec import config_path  # noqa: PLC0415 - only if used
        from runner.pipeline.gitlab.predefined import (  # noqa: PLC0415
            pipeline_predefined,
            read_git,
        )

        found = dict(pipeline_predefined(git or read_git(root), root,
                                         config_path(str(path), root)))
        found.update(secret_values)
        found.update(variables)
        return found

    given = given_from_cli(inputs) if inputs else None
    return given, Variables(load, frozenset(secret_values) - frozenset(variables))
