"""One GitLab job definition read into a ``JobSpec``: every keyword checked, nothing decided yet.

What a job *becomes* depends on its rules and its instance (``parallel``),
which ``translate`` works out per instance; this module only reads, so each
keyword is checked once however many instances a job has.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from runner.errors import SourceSpot
from runner.pipeline import scripts, yamlsrc
from runner.pipeline.gitlab import keywords
from runner.pipeline.gitlab.artifacts import ArtifactsSpec, Located, read_artifacts
from runner.pipeline.gitlab.cache import CacheSpec, read_caches
from runner.pipeline.gitlab.cachekey import KeyDigests
from runner.pipeline.gitlab.jobfields import (
    read_allow_failure,
    read_coverage,
    read_image,
    read_pull_policy,
    read_retry,
    read_when,
)
from runner.pipeline.gitlab.ordering import (
    Dependency,
    NeedSpec,
    job_stage,
    read_dependencies,
    read_needs,
)
from runner.pipeline.gitlab.parallel import Instance, read_parallel, single
from runner.pipeline.gitlab.reading import GitLabReader, Notes
from runner.pipeline.gitlab.refs import Policy, read_policy
from runner.pipeline.gitlab.rules import Rule, read_rules
from runner.pipeline.gitlab.services import ServiceSpec, read_services
from runner.pipeline.gitlab.trigger import TriggerSpec, check_trigger_job, read_trigger
from runner.pipeline.gitlab.variables import Var, read_inherit, read_variables
from runner.pipeline.model import DEFAULT_TIMEOUT_S, RetryOn, Spot
from runner.pipeline.yamlsrc import Map, Node, Pos


@dataclass(frozen=True)
class JobSpec:
    """A job as written; see ``translate`` for how each instance is decided."""

    name: str
    spot: SourceSpot
    model_spot: Spot
    stage: str
    image: Located | None
    image_policy: tuple[str, ...]
    """``image:pull_policy``: empty for the runner's default."""
    script: tuple[str, ...]
    after_script: tuple[str, ...]
    script_spots: tuple[Spot, ...]
    """Where each line of before_script + script is written."""
    after_script_spots: tuple[Spot, ...]
    variables: tuple[Var, ...]
    keep_globals: frozenset[str] | None
    rules: tuple[Rule, ...] | None
    rule_needs: tuple[tuple[NeedSpec, ...] | None, ...]
    only: Policy | None
    except_: Policy | None
    when: str
    """Job-level ``when`` (``start_in`` is checked but unused: a local run does not wait)."""
    allow_failure: bool | None
    allow_codes: tuple[int, ...]
    needs: tuple[NeedSpec, ...] | None
    dependencies: tuple[Dependency, ...] | None
    artifacts: ArtifactsSpec | None
    caches: tuple[CacheSpec, ...]
    timeout_s: float
    retry: int
    retry_on: tuple[RetryOn, ...]
    retry_codes: tuple[int, ...]
    coverage: str | None
    instances: tuple[Instance, ...]
    services: tuple[ServiceSpec, ...]
    trigger: TriggerSpec | None = None
    """A trigger job's downstream pipeline (the job has no script or image then)."""


@dataclass(frozen=True)
class Context:
    """What every job is read against."""

    reader: GitLabReader
    notes: Notes
    top: Map
    stages: tuple[str, ...]
    known: frozenset[str]
    """Names of every job defined in the file (also those rules may leave out)."""
    digests: KeyDigests
    child: bool = False
    """Whether this is a child pipeline (its needs may name the parent's jobs)."""


def job_key_pos(ctx: Context, name: str, body: Map) -> Pos:
    """Where the job's name is written: its key in the main file, else its mapping's start."""
    entry = ctx.reader.source.root.get(name)
    return entry.key_pos if entry is not None else body.pos


def _conditions(
    reader: GitLabReader, body: Map, name: str, notes: Notes
) -> tuple[tuple[Rule, ...] | None, Policy | None, Policy | None]:
    """``rules``, or ``only``/``except``: GitLab refuses a job with both kinds."""
    what = f"job '{name}'"
    got = reader.child(body, "rules", name, what)
    if got is not None:
        for word in ("only", "except"):
            if (entry := body.get(word)) is not None:
                raise reader.fail(
                    entry.key_pos,
                    yamlsrc.join_key(name, word),
                    f"{what} has both 'rules' and '{word}'; GitLab does not allow combining"
                    " them, so express the condition in 'rules'",
                )
        return read_rules(reader, *got, notes), None, None
    policies = [
        None if (got := reader.child(body, word, name, what)) is None
        else read_policy(reader, *got, notes)
        for word in ("only", "except")
    ]
    return None, policies[0], policies[1]


def read_job(ctx: Context, name: str, body: Map) -> JobSpec:
    """Read and check every keyword of job ``name``."""
    reader, notes = ctx.reader, ctx.notes
    what = f"job '{name}'"
    key_pos = job_key_pos(ctx, name, body)
    reader.check_keys(body, keywords.ALL_JOB_KEYS, name, f"in {what}")
    for word in keywords.NO_EFFECT:
        if body.get(word) is not None:
            notes.ignored(word, name)
    _, keep_globals = read_inherit(reader, body, name, what)

    def get(word: str) -> tuple[Node, str, str] | None:
        return reader.child(body, word, name, what)

    stage = job_stage(reader, body, name, what, ctx.stages)
    trigger = None
    if (written := body.get("trigger")) is not None:
        check_trigger_job(reader, body, name)
        trigger = read_trigger(reader, written.value, yamlsrc.join_key(name, "trigger"),
                               f"'trigger' of {what}", at=written.key_pos)
    script_node = get("script")
    script: tuple[str, ...] = ()
    script_spots: tuple[Spot, ...] = ()
    if script_node is None and trigger is None:
        raise reader.fail(
            key_pos,
            yamlsrc.join_key(name, "script"),
            f"{what} has no 'script'; add the commands it runs",
        )
    if script_node is not None:
        script, script_spots = scripts.located(reader, *script_node)
        if not script:
            raise reader.fail(script_node[0].pos, script_node[1], f"{script_node[2]} is empty")
    if (got := get("before_script")) is not None:
        before, before_spots = scripts.located(reader, *got)
        script, script_spots = before + script, before_spots + script_spots
    after, after_spots = ((), ()) if (got := get("after_script")) is None else scripts.located(
        reader, *got)
    image = None
    image_policy: tuple[str, ...] = ()
    if (got := get("image")) is not None:
        image = read_image(reader, *got, notes=notes, job=name)
        image_policy = read_pull_policy(reader, *got)
    rules, only, except_ = _conditions(reader, body, name, notes)
    rule_needs = tuple(
        None if rule.needs is None
        else read_needs(reader, *rule.needs, job=name, known=ctx.known, child=ctx.child)
        for rule in rules or ()
    )
    entry = body.get("when")
    if trigger is not None and entry is not None and getattr(entry.value, "value", None) == (
        "delayed"
    ):
        raise reader.fail(
            entry.value.pos,
            yamlsrc.join_key(name, "when"),
            f"'when' of trigger job '{name}' should be one of: on_success, on_failure, always,"
            " manual (GitLab does not delay trigger jobs)",
        )
    when, _ = read_when(reader, body, name, what)
    allow_failure: bool | None = None
    codes: tuple[int, ...] = ()
    if (got := get("allow_failure")) is not None:
        allow_failure, codes = read_allow_failure(reader, *got)
    retry: int = 0
    retry_on: tuple[RetryOn, ...] = ()
    retry_codes: tuple[int, ...] = ()
    if (got := get("retry")) is not None:
        retry, retry_on, retry_codes = read_retry(reader, *got, notes=notes, job=name)
    return JobSpec(
        name=name,
        spot=reader.spot(key_pos, name),
        model_spot=Spot(key_pos.file or reader.file, key_pos.line, key_pos.column),
        stage=stage,
        image=image,
        image_policy=image_policy,
        script=script,
        after_script=after,
        script_spots=script_spots,
        after_script_spots=after_spots,
        variables=() if (got := get("variables")) is None else read_variables(reader, *got),
        keep_globals=keep_globals,
        rules=rules,
        rule_needs=rule_needs,
        only=only,
        except_=except_,
        when=when or "on_success",
        allow_failure=allow_failure,
        allow_codes=codes,
        needs=(
            None
            if (got := get("needs")) is None
            else read_needs(reader, *got, job=name, known=ctx.known, child=ctx.child)
        ),
        dependencies=(
            None
            if (got := get("dependencies")) is None
            else read_dependencies(reader, *got, job=name, known=ctx.known)
        ),
        artifacts=(
            None
            if (got := get("artifacts")) is None
            else read_artifacts(reader, *got, notes=notes, job=name)
        ),
        caches=(
            ()
            if (got := get("cache")) is None
            else read_caches(reader, *got, notes=notes, job=name, digests=ctx.digests)
        ),
        timeout_s=DEFAULT_TIMEOUT_S if (got := get("timeout")) is None else reader.duration(*got),
        retry=retry,
        retry_on=retry_on,
        retry_codes=retry_codes,
        coverage=None if (got := get("coverage")) is None else read_coverage(reader, *got),
        instances=single(name) if (got := get("parallel")) is None else read_parallel(
            reader, *got, job=name
        ),
        services=(
            ()
            if (got := get("services")) is None
            else read_services(reader, *got, notes=notes, job=name)
        ),
        trigger=trigger,
    )


def config_path(file: str, root: Path) -> str:
    """``CI_CONFIG_PATH``: the main file relative to the project, else its name."""
    path = Path(file)
    try:
        return path.resolve().relative_to(root.resolve()).as_posix()
    except ValueError:
        return path.name
