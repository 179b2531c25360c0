"""A GitLab job's variables, resolved once as gitlab-runner resolves them (``tomodel``).

The runner's own first, then the job's in GitLab's order, the last
definition of a key winning; every value not marked ``raw`` is expanded once
against all of them, *unexpanded*, as gitlab-runner's single ``Expand`` pass
does; a reference to a file-type variable is the path of its file. Image
names, cache keys and artifact paths are then expanded over the final values.
"""

from __future__ import annotations

import posixpath
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from runner.coordinator.gitlab.payload import JobPayload, Variable
from runner.pipeline.gitlab.expand import expand
from runner.pipeline.model import container_project_dir

RUNNER_OWNED = frozenset({"CI_PROJECT_DIR", "CI_BUILDS_DIR"})
"""Payload variables dropped: the runner decides where the job's files are."""

FilePath = Callable[[Variable], str]
"""Where the executor puts a file-type variable's file, in the job's container."""


@dataclass(frozen=True)
class Final:
    """A variable as the job sees it: the last definition of its key, its value expanded."""

    variable: Variable
    value: str = field(repr=False)


class Resolved:
    """The job's variables resolved once; everything else is expanded against them."""

    def __init__(
        self,
        payload: JobPayload,
        root: Path,
        runner_vars: Sequence[tuple[str, str]],
        file_path: FilePath | None,
    ) -> None:
        entries = [Variable(key, value, public=True) for key, value in runner_vars]
        entries += [v for v in payload.variables if v.key not in RUNNER_OWNED]
        self.project_dir = dict(runner_vars).get("CI_PROJECT_DIR") or container_project_dir(root)

        def seen_as(variable: Variable, value: str) -> str:
            if not variable.file:
                return value
            return file_path(variable) if file_path is not None else "${" + variable.key + "}"

        source = {"CI_PROJECT_DIR": self.project_dir}
        source.update((v.key, seen_as(v, v.value)) for v in entries)
        self.finals: dict[str, Final] = {}
        for variable in entries:
            value = variable.value if variable.raw else expand(variable.value, source)
            self.finals[variable.key] = Final(variable, value)
        self.values = {"CI_PROJECT_DIR": self.project_dir}
        self.values.update((k, seen_as(f.variable, f.value)) for k, f in self.finals.items())
        self.public = {
            k: seen_as(f.variable, f.value) for k, f in self.finals.items() if f.variable.public
        }

    def expand(self, text: str) -> str:
        """``text`` expanded the runner's way over the job's final values."""
        return expand(text, self.values)

    def project_path(self, text: str, outside: list[str]) -> str | None:
        """A path or glob expanded and made project-relative; None when it cannot be.

        gitlab-runner skips paths outside the build directory with a warning
        when it saves them rather than failing the job; such a path is added to
        ``outside`` (as expanded) for the executor to warn about at that time.
        """
        path = self.expand(text).strip()
        if not path:
            return None
        project = self.project_dir.rstrip("/")
        if path == project or path.startswith(project + "/"):
            path = path[len(project) :].lstrip("/") or "."
        normal = posixpath.normpath(path)
        if path.startswith("/") or normal == ".." or normal.startswith("../"):
            outside.append(path)
            return None
        return normal if not path.endswith("/") or normal == "." else normal + "/"
