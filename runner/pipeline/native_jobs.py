"""One job of the native format read into a ``Draft``, every key checked against the top level."""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass

from runner.errors import SourceSpot
from runner.pipeline import dag, scripts, stages, values, yamlsrc
from runner.pipeline.fields import FieldReader
from runner.pipeline.model import (
    DEFAULT_TIMEOUT_S,
    Artifacts,
    Build,
    Cache,
    Job,
    Limits,
    Need,
    SecretSource,
    Spot,
    When,
)
from runner.pipeline.native_build import BuildReader
from runner.pipeline.native_services import ServiceReader
from runner.pipeline.yamlsrc import Entry, Map, Node, Pos, Scalar, Seq, describe, join_index

JOB_KEYS = (
    "image",
    "stage",
    "script",
    "after_script",
    "variables",
    "needs",
    "artifacts",
    "cache",
    "timeout",
    "retry",
    "allow_failure",
    "when",
    "secrets",
    "build",
    "services",
    "limits",
)
ARTIFACTS_KEYS = ("paths", "when")
CACHE_KEYS = ("key", "paths")
NEED_KEYS = ("job", "artifacts")
RETRY_KEYS = ("max",)
MAX_RETRY = 10
DEFAULT_CACHE_KEY = "default"

JOB_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]*")
CACHE_KEY = re.compile(r"[A-Za-z0-9._-]+")


@dataclass(frozen=True)
class TopLevel:
    """What the top level sets that every job inherits or is checked against."""

    image: str | None
    variables: dict[str, str]
    variable_pos: dict[str, tuple[Pos, str]]
    """Where each top-level variable is written, for clashes with a job's secrets."""
    stages: list[str] | None
    secrets: dict[str, SecretSource]


class JobReader(FieldReader):
    """Reads the entries under ``jobs``; their needs are final only after ``resolve_needs``."""

    def __init__(self, source: yamlsrc.Source, top: TopLevel) -> None:
        super().__init__(source)
        self.top = top

    def job(self, entry: Entry) -> stages.Draft:
        """One job with every key checked."""
        name = entry.key
        key = yamlsrc.join_key("jobs", name)
        if not JOB_NAME.fullmatch(name):
            raise self.fail(
                entry.key_pos,
                key,
                f"job name '{name}' is not allowed; names start with a letter or digit and"
                " contain only letters, digits, '_', '.' and '-'",
            )
        what = f"job '{name}'"
        body = self.expect_map(entry.value, key, what)
        self.check_keys(body, JOB_KEYS, key, f"in {what}")

        sub = functools.partial(self.child, body, key=key, what=what)

        build: Build | None = None
        script: scripts.Script
        after: scripts.Script
        if (got := sub("build")) is not None:
            builds = BuildReader(self.source, self.top.secrets)
            builds.not_with_build(body, key, what)
            build = builds.build(*got)
            image, script, after = "", ((), ()), ((), ())
        else:
            image, script, after = self.container(entry, body, key, what)

        variables = dict(self.top.variables)
        variable_pos = dict(self.top.variable_pos)
        if (got := sub("variables")) is not None:
            own, own_pos = values.variable_map(self, *got)
            variables.update(own)
            variable_pos.update(own_pos)

        stage = None if (got := sub("stage")) is None else self.stage(*got)
        need_spots: list[SourceSpot] = []
        needs: tuple[Need, ...] = ()
        got_needs = (got := sub("needs")) is not None
        if got is not None:
            needs = self.needs(name, need_spots, *got)
        when = When.ON_SUCCESS if (got := sub("when")) is None else values.when(self, *got)
        secrets = () if (got := sub("secrets")) is None else self.job_secrets(*got)
        for secret in secrets:
            if secret in variables:
                var_pos, var_key = variable_pos[secret]
                owner = "" if var_key.startswith("jobs.") else "top-level "
                raise self.fail(
                    var_pos,
                    var_key,
                    f"{owner}variable '{secret}' has the same name as secret '{secret}' that"
                    f" {what} uses; the two would clash in its environment, so rename one",
                )
        job = Job(
            name=name,
            image=image,
            script=script[0],
            after_script=after[0],
            script_spots=script[1],
            after_script_spots=after[1],
            variables=tuple(variables.items()),
            needs=needs,
            artifacts=None if (got := sub("artifacts")) is None else self.artifacts(*got),
            cache=() if (got := sub("cache")) is None else self.caches(*got),
            timeout_s=(
                DEFAULT_TIMEOUT_S
                if (got := sub("timeout")) is None
                else values.positive_duration(self, *got)
            ),
            retry=0 if (got := sub("retry")) is None else self.retry(*got),
            allow_failure=(got := sub("allow_failure")) is not None and self.expect_bool(*got),
            when=when,
            secrets=secrets,
            spot=Spot(self.file, entry.key_pos.line, entry.key_pos.column),
            build=build,
            services=() if (got := sub("services")) is None
            else ServiceReader(self.source).services(*got),
            limits=Limits() if (got := sub("limits")) is None else values.limits(self, *got),
        )
        return stages.Draft(name, self.spot(entry.key_pos, key), job, stage, got_needs, need_spots)

    def container(
        self, entry: Entry, body: Map, key: str, what: str
    ) -> tuple[str, scripts.Script, scripts.Script]:
        """A container job's image, script and after_script; image and script are required."""

        sub = functools.partial(self.child, body, key=key, what=what)

        image = self.top.image
        if (got := sub("image")) is not None:
            image = values.image(self, *got)
        if image is None:
            raise self.fail(
                entry.key_pos,
                yamlsrc.join_key(key, "image"),
                f"{what} has no 'image' and there is no top-level 'image' default;"
                " add 'image: <name>' to the job or to the top level",
            )
        got = sub("script")
        if got is None:
            raise self.fail(
                entry.key_pos,
                yamlsrc.join_key(key, "script"),
                f"{what} has no 'script'; add the commands it runs (or 'build' to build"
                " an image)",
            )
        script = scripts.located(self, *got)
        if not script[0]:
            raise self.fail(got[0].pos, got[1], f"{got[2]} is empty; add at least one command")
        after = ((), ()) if (got := sub("after_script")) is None else scripts.located(self, *got)
        return image, script, after

    def stage(self, node: Node, key: str, what: str) -> str:
        """A job's stage, which must be one of the top-level ``stages``."""
        return stages.job_stage(self, self.top.stages, node, key, what)

    def needs(
        self, job: str, spots: list[SourceSpot], node: Node, key: str, what: str
    ) -> tuple[Need, ...]:
        """Explicit needs, each item's spot appended to ``spots`` for later graph errors."""
        items = self.expect_seq(node, key, what)
        needs: list[Need] = []
        first_at: dict[str, Pos] = {}
        for index, item in enumerate(items.items):
            path = join_index(key, index)
            need = self.need(item, path, job)
            if need.job == job:
                raise self.fail(item.pos, path, f"job '{job}' needs itself")
            if need.job in first_at:
                raise self.fail(
                    item.pos,
                    path,
                    f"job '{job}' needs '{need.job}' twice"
                    f" (first at line {first_at[need.job].line})",
                )
            first_at[need.job] = item.pos
            needs.append(need)
            spots.append(self.spot(item.pos, path))
        return tuple(needs)

    def need(self, node: Node, key: str, job: str) -> Need:
        """One needs entry: a job name, or ``{job, artifacts}``."""
        if isinstance(node, Scalar) and isinstance(node.value, str):
            return Need(node.value)
        if not isinstance(node, Map):
            raise self.fail(
                node.pos,
                key,
                f"a 'needs' entry of job '{job}' must be a job name or a mapping"
                f" {{job: <name>, artifacts: <boolean>}}, got {describe(node)}",
            )
        self.check_keys(node, NEED_KEYS, key, f"in a 'needs' entry of job '{job}'")
        name_entry = node.get("job")
        if name_entry is None:
            raise self.fail(
                node.pos,
                yamlsrc.join_key(key, "job"),
                f"a 'needs' entry of job '{job}' has no 'job'",
            )
        name = self.nonempty_str(
            name_entry.value,
            yamlsrc.join_key(key, "job"),
            f"'job' of a 'needs' entry of job '{job}'",
        )
        artifacts = True
        if (entry := node.get("artifacts")) is not None:
            artifacts = self.expect_bool(
                entry.value,
                yamlsrc.join_key(key, "artifacts"),
                f"'artifacts' of a 'needs' entry of job '{job}'",
            )
        return Need(name, artifacts)

    def job_secrets(self, node: Node, key: str, what: str) -> tuple[str, ...]:
        """The secrets a job may see: defined ones only, each once."""
        items = self.expect_seq(node, key, what)
        defined = self.top.secrets
        names: list[str] = []
        for index, item in enumerate(items.items):
            path = join_index(key, index)
            name = self.expect_str(item, path, f"an item of {what}")
            if name in names:
                raise self.fail(item.pos, path, f"secret '{name}' is listed twice in {what}")
            if name not in defined:
                hint = (
                    dag.closest(name, list(defined))
                    if defined
                    else "; define it under the top-level 'secrets'"
                )
                raise self.fail(
                    item.pos, path, f"{what} uses secret '{name}', which is not defined{hint}"
                )
            names.append(name)
        return tuple(names)

    def artifacts(self, node: Node, key: str, what: str) -> Artifacts:
        """``artifacts`` as a path list or as ``{paths, when}``."""
        if isinstance(node, Seq):
            return Artifacts(values.path_list(self, node, key, what))
        spec = self.expect_map(node, key, f"{what} (or a list of paths)")
        self.check_keys(spec, ARTIFACTS_KEYS, key, f"in {what}")
        paths_entry = spec.get("paths")
        if paths_entry is None:
            raise self.fail(spec.pos, yamlsrc.join_key(key, "paths"), f"{what} has no 'paths'")
        paths = values.path_list(
            self, paths_entry.value, yamlsrc.join_key(key, "paths"), f"'paths' of {what}"
        )
        when = When.ON_SUCCESS
        if (entry := spec.get("when")) is not None:
            when = values.when(
                self, entry.value, yamlsrc.join_key(key, "when"), f"'when' of {what}"
            )
        return Artifacts(paths, when)

    def caches(self, node: Node, key: str, what: str) -> tuple[Cache, ...]:
        """``cache`` as one mapping or a list of them, keys unique within the job."""
        if isinstance(node, Map):
            return (self.cache(node, key, what),)
        items = self.expect_seq(node, key, f"{what} (a mapping or a list of mappings)")
        caches: list[Cache] = []
        for index, item in enumerate(items.items):
            path = join_index(key, index)
            cache = self.cache(
                self.expect_map(item, path, f"an item of {what}"), path, f"an item of {what}"
            )
            if any(c.key == cache.key for c in caches):
                raise self.fail(
                    item.pos, path, f"{what} uses cache key '{cache.key}' more than once"
                )
            caches.append(cache)
        return tuple(caches)

    def cache(self, spec: Map, key: str, what: str) -> Cache:
        """One cache; the key defaults to ``default`` as in GitLab."""
        self.check_keys(spec, CACHE_KEYS, key, f"in {what}")
        name = DEFAULT_CACHE_KEY
        if (entry := spec.get("key")) is not None:
            path = yamlsrc.join_key(key, "key")
            name = self.expect_str(entry.value, path, f"'key' of {what}")
            if not CACHE_KEY.fullmatch(name) or name in (".", ".."):
                raise self.fail(
                    entry.value.pos,
                    path,
                    f"cache key '{name}' is not allowed; use letters, digits, '.', '_' and '-'"
                    " (and not '.' or '..')",
                )
        paths_entry = spec.get("paths")
        if paths_entry is None:
            raise self.fail(spec.pos, yamlsrc.join_key(key, "paths"), f"{what} has no 'paths'")
        paths = values.path_list(
            self, paths_entry.value, yamlsrc.join_key(key, "paths"), f"'paths' of {what}"
        )
        return Cache(name, paths)

    def retry(self, node: Node, key: str, what: str) -> int:
        """A retry count, written as a number or as ``{max: N}``."""
        if isinstance(node, Map):
            self.check_keys(node, RETRY_KEYS, key, f"in {what}")
            entry = node.get("max")
            if entry is None:
                raise self.fail(node.pos, yamlsrc.join_key(key, "max"), f"{what} has no 'max'")
            node, key, what = entry.value, yamlsrc.join_key(key, "max"), f"'max' of {what}"
        value = node.value if isinstance(node, Scalar) else None
        if isinstance(value, bool) or not isinstance(value, int):
            raise self.fail(
                node.pos,
                key,
                f"{what} must be a whole number from 0 to {MAX_RETRY} (or a mapping with"
                f" 'max'), got {describe(node)}",
            )
        if not 0 <= value <= MAX_RETRY:
            raise self.fail(node.pos, key, f"{what} must be from 0 to {MAX_RETRY}, got {value}")
        return value
