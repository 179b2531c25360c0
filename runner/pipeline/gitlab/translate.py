"""A composed GitLab CI configuration translated into the pipeline model.

``compose`` has already merged includes and applied ``extends``,
``!reference`` and ``default:``; this module decides, for the ref the
checkout is on, which jobs a push pipeline would hold and what each one
runs. Variables precedence, lowest first: predefined, global YAML (limited
by ``inherit:variables``, overridden by ``workflow:rules:variables``), job
YAML, matched rule's variables, ``parallel:matrix`` values, project
variables (``Options.secrets``, file variables), pipeline variables
(``Options.variables``).

Secrets and file variables are the executor's to supply: their values are
unknown here (and must never enter the model), so a reference to one inside
another variable is left as written (``$TOKEN``) rather than expanded; only
``rules:if`` sees secret values, through ``Options.secret_values``.
Predefined values are never expanded (a ``$`` in a commit message stays).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Protocol

from runner.errors import PipelineError, collecting, raise_all
from runner.pipeline import yamlsrc
from runner.pipeline.bounds import check_jobs
from runner.pipeline.gitlab import keywords, refs
from runner.pipeline.gitlab.artifacts import artifacts_for
from runner.pipeline.gitlab.cache import caches_for
from runner.pipeline.gitlab.cachekey import KeyDigests
from runner.pipeline.gitlab.changes import ChangeSet
from runner.pipeline.gitlab.child import trigger_for
from runner.pipeline.gitlab.expand import CircularReferenceError
from runner.pipeline.gitlab.globs import ProjectFiles
from runner.pipeline.gitlab.jobimage import job_image
from runner.pipeline.gitlab.jobspec import Context, JobSpec, config_path, read_job
from runner.pipeline.gitlab.ordering import NeedSpec, Placed, read_stages, resolve
from runner.pipeline.gitlab.parallel import Instance
from runner.pipeline.gitlab.predefined import GitInfo, job_predefined, pipeline_predefined, read_git
from runner.pipeline.gitlab.reading import GitLabReader, Notes
from runner.pipeline.gitlab.rules import first_match
from runner.pipeline.gitlab.services import services_for
from runner.pipeline.gitlab.variables import Var, final_values, inherited, read_variables
from runner.pipeline.gitlab.workflow import read_workflow
from runner.pipeline.model import (
    Job,
    Pipeline,
    SecretSource,
    Trigger,
    When,
    container_project_dir,
)
from runner.pipeline.yamlsrc import Map


@dataclass(frozen=True)
class _Shared:
    """What every job of the pipeline starts from."""

    git: GitInfo
    predefined: tuple[tuple[str, str], ...]
    globals_: tuple[Var, ...]
    workflow_vars: tuple[Var, ...]


class ComposedLike(Protocol):
    """What ``compose`` hands over (its ``Composed`` dataclass fits)."""

    @property
    def source(self) -> yamlsrc.Source: ...

    @property
    def top(self) -> Map: ...

    @property
    def jobs(self) -> tuple[tuple[str, Map], ...]: ...

    @property
    def notes(self) -> tuple[str, ...]: ...


@dataclass(frozen=True)
class Options:
    """What comes from outside the file (GitLab's project and pipeline settings)."""

    variables: tuple[tuple[str, str], ...] = ()
    """Pipeline variables: highest precedence."""
    file_variables: tuple[tuple[str, str], ...] = ()
    """(name, content) of "file" variables that are not secret."""
    secrets: tuple[SecretSource, ...] = ()
    """Masked project variables; every job may see them."""
    secret_values: Mapping[str, str] = field(default_factory=dict)
    """Their values, for ``rules:if`` and ``only:variables`` only; never put in the model."""
    git: GitInfo | None = None
    """The commit and ref; None reads them from the repository at ``root``."""
    compare_to: str | None = None
    """``--compare-to``: the ref ``changes`` clauses compare with (see ``changes``)."""
    depth: int = 0
    """Levels of parent pipelines above this one (a child pipeline's is 1)."""
    default_image: tuple[str, str] | None = None
    """(image, where it was set): the runner's image for jobs that name none, as
    gitlab-runner's ``[runners.docker] image``."""
    no_image_hint: str = ""
    """How to set a default image, for the error when a job needs one and none is set."""
    listing: bool = False
    """Only listing jobs: a job needing a default image none gives gets image ``""``."""


def translate(composed: ComposedLike, root: Path, options: Options) -> Pipeline:
    """The pipeline GitLab would create for a push of what ``root`` has checked out."""
    return _Translator(composed, root, options).pipeline()


class _Translator:
    def __init__(self, composed: ComposedLike, root: Path, options: Options) -> None:
        self.composed = composed
        self.root = root
        self.options = options
        self.reader = GitLabReader(composed.source)
        self.notes = Notes()
        for note in composed.notes:
            self.notes.add(note)
        self.files = ProjectFiles(root)
        self.project_dir = container_project_dir(root)
        self.hidden = {s.name for s in options.secrets} | {n for n, _ in options.file_variables}
        self.secret_names = tuple(s.name for s in options.secrets)
        self.pipeline_names = tuple(dict.fromkeys(name for name, _ in options.variables))
        # Raw values of project and pipeline variables, as rules:if sees them.
        self.outside: dict[str, str] = {
            **dict(options.file_variables),
            **{k: v for k, v in options.secret_values.items() if k in self.hidden},
            **dict(options.variables),
        }

    def pipeline(self) -> Pipeline:
        composed, reader, top = self.composed, self.reader, self.composed.top
        keywords.check_unsupported(reader.file, top, composed.jobs)
        reader.check_keys(top, keywords.TOP_KEYS, "", "at the top level")
        if (entry := top.get("default")) is not None and isinstance(entry.value, Map):
            reader.check_keys(entry.value, keywords.DEFAULT_KEYS, "default", "in 'default'")
        git = self.options.git or read_git(self.root)
        if git.note:
            self.notes.add(git.note)
        self.changes = ChangeSet(self.root, git, self.options.compare_to)
        stages = read_stages(reader, top)
        globals_: tuple[Var, ...] = ()
        if (entry := top.get("variables")) is not None:
            globals_ = read_variables(reader, entry.value, "variables", "'variables'", top=True)
        shared = pipeline_predefined(git, self.root, config_path(reader.file, self.root))
        if self.options.depth:
            shared = [("CI_PIPELINE_SOURCE", "parent_pipeline") if name == "CI_PIPELINE_SOURCE"
                      else (name, value) for name, value in shared]
        raw = {**dict(shared), **{v.name: v.value for v in globals_}, **self.outside}
        created, name, workflow_vars = read_workflow(reader, self.notes, top, raw, git=git,
                                                     files=self.files, changes=self.changes)
        if name is not None:
            shared.append(("CI_PIPELINE_NAME", name))
        ctx = Context(
            reader,
            self.notes,
            top,
            stages,
            frozenset(job for job, _ in composed.jobs),
            KeyDigests(self.root, self.files),
            child=self.options.depth > 0,
        )
        # Read every job even when workflow says no pipeline: a broken file is still reported,
        # every broken job of it at once (as GitLab's lint lists every error).
        specs: list[JobSpec] = []
        errors: list[PipelineError] = []
        for job, body in composed.jobs:
            with collecting(errors):
                specs.append(read_job(ctx, job, body))
        raise_all(errors)
        check_jobs(reader.file, sum(len(spec.instances) for spec in specs))
        if not created:
            return self.result((), stages)
        wide = _Shared(git, tuple(shared), globals_, workflow_vars)
        placed: list[Placed] = []
        taken: dict[str, str] = {}
        job_id = 0
        for spec in specs:
            for instance in spec.instances:
                job_id += 1
                if instance.name in taken and taken[instance.name] != spec.name:
                    raise PipelineError(
                        spec.spot,
                        f"job '{spec.name}' makes a job named '{instance.name}' (parallel), like"
                        f" job '{taken[instance.name]}'; rename one of them",
                    )
                taken[instance.name] = spec.name
                item = self.instance(spec, instance, job_id, wide)
                if item is not None:
                    placed.append(item)
        if not placed:
            self.notes.add(
                f"no job is added for ref '{git.ref_name}': the rules (or only/except) of every"
                " job leave it out"
            )
            return self.result((), stages)
        stage_of = {spec.name: spec.stage for spec in specs}
        return self.result(resolve(placed, stages, stage_of), stages)

    def result(self, jobs: tuple[Job, ...], stages: tuple[str, ...]) -> Pipeline:
        if self.changes.basis:  # set once some 'changes' clause was judged
            self.notes.add(f"'changes' conditions (rules:changes, only/except:changes):"
                           f" {self.changes.basis}")
        return Pipeline(
            source=Path(self.reader.file),
            root=self.root,
            jobs=jobs,
            secrets=self.options.secrets,
            dialect="gitlab",
            notes=self.notes.render(),
            stages=stages,
        )

    def instance(
        self,
        spec: JobSpec,
        instance: Instance,
        job_id: int,
        wide: _Shared,
    ) -> Placed | None:
        """One job instance, or None when its rules (or only/except) leave it out."""
        reader = self.reader
        own = job_predefined(instance.name, spec.stage, job_id, instance.node)
        inherited_vars = inherited(wide.globals_, spec.keep_globals) + inherited(
            wide.workflow_vars, spec.keep_globals
        )
        raw = dict(wide.predefined)
        raw.update(own)
        raw.update((v.name, v.value) for v in inherited_vars)
        raw.update((v.name, v.value) for v in spec.variables)
        raw.update(instance.matrix)
        raw.update(self.outside)
        when, allow_failure, codes = spec.when, spec.allow_failure, spec.allow_codes
        rule_vars: tuple[Var, ...] = ()
        needs: tuple[NeedSpec, ...] | None = spec.needs
        # GitLab's Job#ignored?: allow_failure defaults to true when the *job-level* `when`
        # is manual, whatever a rule's `when` says; `when: manual` from a rule alone keeps false.
        manual_default = spec.when == "manual"
        if spec.rules is not None:
            rule = first_match(reader, spec.rules, raw, self.files, self.changes)
            if rule is None:
                return None
            if rule.when is not None:
                when = rule.when
            if rule.allow_failure is not None:
                allow_failure, codes = rule.allow_failure, ()
            rule_vars = rule.variables
            index = next(i for i, r in enumerate(spec.rules) if r is rule)
            if spec.rule_needs[index] is not None:
                needs = spec.rule_needs[index]
        elif not refs.included(reader, spec.only, spec.except_, wide.git, raw,
                               changes=self.changes):
            return None
        if when == "never":
            return None
        if when == "manual":
            own.append(("CI_JOB_MANUAL", "true"))
        layers = [(n, v, False) for n, v in (*wide.predefined, *own)]
        yaml_vars = (*inherited_vars, *spec.variables, *rule_vars)
        layers += [(v.name, v.value, v.expand) for v in yaml_vars]
        layers += [(n, v, True) for n, v in instance.matrix]
        layers += [(n, "$" + n, False) for n in sorted(self.hidden)]
        layers += [(n, v, True) for n, v in self.options.variables]
        try:
            variables = final_values(layers, self.hidden)
        except CircularReferenceError as exc:
            raise PipelineError(spec.spot, f"job '{instance.name}': {exc}") from None
        values = dict(variables)
        values.update((n, "$" + n) for n in self.hidden)
        if spec.trigger is not None:
            # GitLab puts parallel:matrix values among the job's YAML variables.
            names = [*(v.name for v in yaml_vars), *(n for n, _ in instance.matrix)]
            forwarded = tuple((name, values[name]) for name in names)
            job = Job(
                name=instance.name, image="", script=(), variables=variables,
                allow_failure=allow_failure if allow_failure is not None else manual_default,
                when=When(when), spot=spec.model_spot, stage=spec.stage,
                trigger=self.trigger(spec, instance.name, forwarded, wide.git),
            )
            return Placed(
                job, spec.name, spec.stage, spec.spot, needs, spec.dependencies, instance.matrix
            )
        job = Job(
            name=instance.name,
            image=job_image(reader, spec, values, default=self.options.default_image,
                            listing=self.options.listing, hint=self.options.no_image_hint),
            script=spec.script,
            after_script=spec.after_script,
            script_spots=spec.script_spots,
            after_script_spots=spec.after_script_spots,
            variables=variables,
            artifacts=(
                None
                if spec.artifacts is None
                else artifacts_for(spec.artifacts, values, self.project_dir)
            ),
            cache=caches_for(reader, spec.caches, values, self.project_dir),
            timeout_s=spec.timeout_s,
            retry=spec.retry,
            allow_failure=allow_failure if allow_failure is not None else manual_default,
            when=When(when),
            secrets=self.secret_names,
            spot=spec.model_spot,
            stage=spec.stage,
            allow_failure_codes=codes,
            retry_on=spec.retry_on,
            retry_exit_codes=spec.retry_codes,
            file_variables=self.options.file_variables,
            coverage=spec.coverage,
            pipeline_variables=self.pipeline_names,
            services=services_for(
                reader, spec.services, values, self.public(variables), job=instance.name,
                notes=self.notes,
            ),
            pull_policy=spec.image_policy,
            image_from=(
                self.options.default_image[1]
                if spec.image is None and self.options.default_image is not None
                else None
            ),
        )
        return Placed(
            job, spec.name, spec.stage, spec.spot, needs, spec.dependencies, instance.matrix
        )

    def public(self, variables: tuple[tuple[str, str], ...]) -> dict[str, str]:
        """The job's variables a service gets: not those of project or pipeline settings."""
        return {n: v for n, v in variables if n not in self.pipeline_names}

    def trigger(
        self, spec: JobSpec, name: str, forwarded: tuple[tuple[str, str], ...], git: GitInfo
    ) -> Trigger:
        """A trigger job's downstream pipeline, its child translated with GitLab's variables.

        The child's pipeline variables are what the trigger job forwards (Ci::Bridge
        ``downstream_variables``): its YAML variables, expanded (``forward:
        yaml_variables``, default true), then this pipeline's own variables
        (``forward: pipeline_variables``, default false), the later winning.
        Project variables (secrets, file variables) are the project's: the child has them.
        """
        assert spec.trigger is not None
        ahead = (forwarded if spec.trigger.forward_yaml else ()) + (
            self.options.variables if spec.trigger.forward_pipeline else ())
        passed = dict(ahead)
        options = replace(self.options, variables=tuple(passed.items()), git=git,
                          depth=self.options.depth + 1)
        return trigger_for(
            spec.trigger, name, parent=self.composed.source, root=self.root,
            depth=self.options.depth,
            translate=lambda composed: translate(composed, self.root, options),
        )
