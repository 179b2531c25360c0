"""The native pipeline format (version 1) translated into the frozen model.

The parser checks everything it can without touching the outside world (no
secret is read, no image pulled) and stops at the first problem with a message
that points at the file, line, column and key. The stage and "final job" rules
are resolved into ``Job.needs`` (see ``stages``), so the executor only ever
sees a DAG. This module reads the top level; ``native_jobs`` reads each job.
See docs/pipeline-format.md for the format itself.
"""

from __future__ import annotations

import os
from pathlib import Path

from runner.errors import PipelineError, collecting, raise_all
from runner.pipeline import stages, values, yamlsrc
from runner.pipeline.bounds import check_jobs
from runner.pipeline.fields import FieldReader
from runner.pipeline.model import Pipeline, Registry, SecretSource, Spot
from runner.pipeline.native_build import BuildReader
from runner.pipeline.native_jobs import JobReader, TopLevel
from runner.pipeline.yamlsrc import Entry, Map, Node, Pos, Scalar, describe

VERSION = 1
TOP_KEYS = ("version", "image", "variables", "stages", "secrets", "registries", "jobs")
SECRET_KEYS = ("env", "file")


def parse_native(path: Path, root: Path) -> Pipeline:
    """Read ``path`` and translate it; ``root`` (the project directory) is stored as given."""
    source = yamlsrc.load_file(path)
    return _Parser(source, path, root).pipeline()


class _Parser(FieldReader):
    """One pass over one file, reporting every problem of a kind at once (``PipelineErrors``).

    Every top-level section is checked and their problems raised together; jobs
    are read against those sections, so a broken one would make them fail for
    its sake: only with all sections sound is every job checked, and every
    job's problems raised together.
    """

    def __init__(self, source: yamlsrc.Source, path: Path, root: Path) -> None:
        super().__init__(source)
        self.path = path
        self.root = root

    def pipeline(self) -> Pipeline:
        """The whole file; top-level defaults first, since jobs are checked against them."""
        top = self.source.root
        errors: list[PipelineError] = []
        with collecting(errors):
            self.check_keys(top, TOP_KEYS, "", "at the top level")
        self.version(top)
        default_image: str | None = None
        variables: dict[str, str] = {}
        variable_pos: dict[str, tuple[Pos, str]] = {}
        stage_names: list[str] | None = None
        secrets: dict[str, SecretSource] = {}
        registries: tuple[Registry, ...] = ()
        with collecting(errors):
            if (entry := top.get("image")) is not None:
                default_image = values.image(self, entry.value, "image", "the top-level 'image'")
        with collecting(errors):
            if (entry := top.get("variables")) is not None:
                variables, variable_pos = values.variable_map(
                    self, entry.value, "variables", "the top-level 'variables'"
                )
        with collecting(errors):
            if (entry := top.get("stages")) is not None:
                stage_names = stages.stage_list(self, entry.value)
        with collecting(errors):
            if (entry := top.get("secrets")) is not None:
                secrets = self.secret_map(entry.value)
        with collecting(errors):
            if (entry := top.get("registries")) is not None:
                registries = BuildReader(self.source, secrets).registries(entry.value, self.path)
        entry = top.get("jobs")
        if entry is None and not errors:  # else 'jobs' is most likely one of those typos
            errors.append(self.fail(top.pos, "jobs",
                                    "the pipeline has no 'jobs'; add at least one job"))
        raise_all(errors)
        assert entry is not None
        jobs_map = self.expect_map(entry.value, "jobs", "'jobs'")
        if not len(jobs_map):
            raise self.fail(entry.value.pos, "jobs", "'jobs' is empty; add at least one job")
        check_jobs(str(self.path), len(jobs_map))
        reader = JobReader(
            self.source, TopLevel(default_image, variables, variable_pos, stage_names, secrets)
        )
        drafts = []
        for job_entry in jobs_map:
            with collecting(errors):
                drafts.append(reader.job(job_entry))
        raise_all(errors)
        jobs = stages.resolve_needs(drafts, stage_names)
        return Pipeline(
            source=self.path,
            root=self.root,
            jobs=jobs,
            secrets=tuple(secrets.values()),
            dialect="native",
            registries=registries,
        )

    def version(self, top: Map) -> None:
        """Require ``version: 1`` so a future format is refused rather than misread."""
        entry = top.get("version")
        if entry is None:
            raise self.fail(
                top.pos, "version", f"the pipeline has no 'version'; add 'version: {VERSION}'"
            )
        node = entry.value
        value = node.value if isinstance(node, Scalar) else None
        if not isinstance(value, int) or isinstance(value, bool):
            raise self.fail(
                node.pos,
                "version",
                f"'version' must be the number {VERSION}, got {describe(node)}",
            )
        if value != VERSION:
            raise self.fail(
                node.pos,
                "version",
                f"unsupported version {value}; this runner reads version {VERSION}",
            )

    def secret_map(self, node: Node) -> dict[str, SecretSource]:
        """Secret definitions by name; nothing is read, only where from is recorded."""
        mapping = self.expect_map(node, "secrets", "'secrets'")
        secrets: dict[str, SecretSource] = {}
        for entry in mapping:
            path = yamlsrc.join_key("secrets", entry.key)
            values.check_var_name(self, entry, path, "secret")
            secrets[entry.key] = self.secret(entry, path)
        return secrets

    def secret(self, entry: Entry, path: str) -> SecretSource:
        """One secret source: an environment variable, or a file made absolute now."""
        what = f"secret '{entry.key}'"
        spec = self.expect_map(entry.value, path, what)
        self.check_keys(spec, SECRET_KEYS, path, f"in {what}")
        if len(spec) != 1:
            raise self.fail(
                spec.pos,
                path,
                f"{what} must have exactly one of 'env' (an environment variable of"
                " 'runner exec') or 'file' (a file path)",
            )
        (source,) = spec.entries
        key = yamlsrc.join_key(path, source.key)
        value = self.nonempty_str(source.value, key, f"'{source.key}' of {what}")
        spot = Spot(self.file, entry.key_pos.line, entry.key_pos.column)
        if source.key == "env":
            if "=" in value or "\0" in value:
                raise self.fail(
                    source.value.pos, key, f"'env' of {what} is not a valid variable name"
                )
            return SecretSource(entry.key, env=value, spot=spot)
        if "\0" in value:
            raise self.fail(source.value.pos, key, f"'file' of {what} contains a NUL character")
        # normpath, not resolve(): tidy '..' without following symlinks at parse time.
        base = self.path.absolute().parent
        file = Path(os.path.normpath(base / Path(value).expanduser()))
        return SecretSource(entry.key, file=file, spot=spot)
