"""A GitLab job payload as a one-job ``Pipeline``, decided the way gitlab-runner decides it.

GitLab has done the pipeline-level work (rules, ``extends``, needs) before it
hands a job over; what is left for a runner is what this module does:

* **Variables** (gitlab-runner ``common/build.go`` ``GetAllVariables``,
  ``common/spec/variables.go``): the runner's own first, then the job's in
  GitLab's order, the last definition of a key winning. ``CI_PROJECT_DIR``
  and ``CI_BUILDS_DIR`` from the payload are dropped: where the job runs is
  the runner's to say. Every value not marked ``raw`` is expanded once with
  Go's ``os.Expand`` rules (``$$`` is ``$``, undefined is empty) against all
  of these, *unexpanded*, as gitlab-runner's single ``Expand`` pass does; a
  reference to a file-type variable is the path of its file.
* **Image, services, cache, artifacts**: names, aliases, keys and paths are
  expanded the same way over the job's final values, which is what
  gitlab-runner does for them (``GetAllVariables().ExpandValue``).

Nothing here raises for a job GitLab considered valid: what cannot be carried
over (a path outside the project, an untracked cache, an alias that is no host
name) is left out with a sentence in ``Pipeline.notes`` for the job log.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import replace
from pathlib import Path

from runner.coordinator.gitlab.payload import (
    ArtifactSpec,
    Credential,
    JobPayload,
    ServiceSpec,
    Variable,
)
from runner.coordinator.gitlab.resolved import RUNNER_OWNED, FilePath, Resolved
from runner.coordinator.gitlab.tocaches import OUTCOMES, caches
from runner.logs.mask import MIN_SECRET_LEN
from runner.pipeline.aliases import claim, default_aliases, is_hostname
from runner.pipeline.gitlab.expand import expand
from runner.pipeline.gitlab.services import health_check_port
from runner.pipeline.model import (
    DEFAULT_TIMEOUT_S,
    Artifacts,
    Job,
    Pipeline,
    Registry,
    SecretSource,
    Service,
    When,
)

__all__ = [
    "DEFAULT_IMAGE",
    "DIALECT",
    "RUNNER_OWNED",
    "FilePath",
    "artifact_elements",
    "masked_values",
    "to_pipeline",
]

DEFAULT_IMAGE = "busybox:latest"
"""The image of a job that names none (gitlab-runner takes its config's ``image``)."""
DIALECT = "gitlab-agent"
_ENV_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")



def to_pipeline(
    payload: JobPayload,
    root: Path,
    *,
    runner_vars: Sequence[tuple[str, str]] = (),
    default_image: str = DEFAULT_IMAGE,
    file_path: FilePath | None = None,
) -> Pipeline:
    """The one-job pipeline that runs ``payload`` with ``root`` as its project checkout.

    ``runner_vars`` are the variables the runner adds (``CI_BUILDS_DIR``,
    ``CI_SERVER=yes``, ``CI_RUNNER_VERSION``, ``CI_CONCURRENT_ID``,
    ``CI_JOB_TIMEOUT``…); the job's own override them. Give ``CI_PROJECT_DIR``
    among them whenever the executor's project dir is not
    ``container_project_dir(root)``: references to it are expanded here.

    ``file_path`` says where the executor will put a file-type variable's file;
    a reference to such a variable (``KUBECONFIG: $KUBE_FILE``) becomes that
    path, as in gitlab-runner. Without it the reference is kept as ``${NAME}``.

    Masked variables (file type or not) become pipeline secrets that the job
    lists, so the executor hides their values in every output. A value shorter
    than ``runner.logs.mask.MIN_SECRET_LEN`` is kept as a secret all the same:
    the masker silently skips such short values (so it is *not* hidden in the
    log), and ``runner.execute.secrets.resolve_secrets`` refuses them; a note
    says so. GitLab itself only accepts masked values of 8 characters or more.
    A masked value that a plain variable pulls in by reference ends up in that
    plain variable, as in gitlab-runner; the masker still hides it in the log.
    """
    notes: list[str] = []
    resolved = Resolved(payload, root, runner_vars, file_path)
    variables, files, secrets = _split(resolved, notes)
    name = payload.name or f"job-{payload.id}"
    job = Job(
        name=name,
        image=_image(payload, resolved, default_image, notes),
        script=payload.script,
        after_script=payload.after_script,
        variables=variables,
        artifacts=_artifacts(payload, resolved, notes),
        cache=caches(payload, resolved, notes),
        timeout_s=_timeout(payload.timeout_s),
        secrets=tuple(secret.name for secret in secrets),
        stage=payload.stage,
        file_variables=files,
        services=_services(payload.services, resolved, notes),
    )
    registries, passwords = _registries(payload.credentials, notes)
    return Pipeline(
        source=Path(f"gitlab-job-{payload.id}"),
        root=root,
        jobs=(job,),
        secrets=(*secrets, *passwords),
        registries=registries,
        dialect=DIALECT,
        notes=tuple(dict.fromkeys(notes)),
        stages=(payload.stage,) if payload.stage else (),
    )


def artifact_elements(
    payload: JobPayload,
    root: Path,
    *,
    runner_vars: Sequence[tuple[str, str]] = (),
    file_path: FilePath | None = None,
) -> tuple[ArtifactSpec, ...]:
    """The payload's artifact elements with ``name``, ``paths`` and ``exclude`` expanded.

    Paths are made project-relative exactly as for `to_pipeline`'s ``Artifacts``
    (the union of these), so the agent can build each element's archive from
    the tree the executor collected: that element's paths minus its own
    excludes. Paths outside the project are dropped. Take the same arguments
    as for `to_pipeline`.
    """
    return _expanded_elements(payload, Resolved(payload, root, runner_vars, file_path), {})


def masked_values(payload: JobPayload) -> list[str]:
    """What the job's log must never show: masked values, tokens, registry passwords.

    Each masked variable's value as sent and, when different, expanded over the
    payload's variables (gitlab-runner masks the expanded value); the job token
    (it is also inside ``CI_REPOSITORY_URL``, which GitLab does not mark
    masked); dependency tokens; registry passwords. Empty values are left out,
    duplicates removed, order kept.
    """
    lookup = {v.key: v.value for v in payload.variables}
    found: list[str] = []
    for variable in payload.variables:
        if variable.masked:
            found.append(variable.value)
            if not variable.raw:
                found.append(expand(variable.value, lookup))
    found.append(payload.token)
    found += [dep.token for dep in payload.dependencies]
    found += [cred.password for cred in payload.credentials]
    return [value for value in dict.fromkeys(found) if value]


def _registries(credentials: Iterable[Credential], notes: list[str]
                ) -> tuple[tuple[Registry, ...], tuple[SecretSource, ...]]:
    """The job's registry credentials, used to pull its images (and only for that).

    Each password becomes a pipeline secret (masked, written only to the pull's
    0600 auth file) that no job lists, so no container sees it. Images from
    these registries then live in the project's own image store
    (``runner.execute.images``). The first credential for a host wins.
    """
    registries: dict[str, Registry] = {}
    passwords: list[SecretSource] = []
    for cred in credentials:
        host = _registry_host(cred.url)
        if cred.type != "registry" or not host or host in registries or not cred.username:
            continue
        if len(cred.password) < MIN_SECRET_LEN:
            notes.append(f"the credentials for registry {host} have a password too short to "
                         "mask in the log; they are not used")
            continue
        name = f"registry password {len(passwords)}"
        passwords.append(SecretSource(name=name, value=cred.password))
        registries[host] = Registry(host=host, username=cred.username, password_secret=name)
    return tuple(registries.values()), tuple(passwords)


def _registry_host(url: str) -> str:
    """``registry.example.com:5005`` from a credential's url, scheme and path or not."""
    rest = url.strip().split("://", 1)[-1]
    return rest.split("/", 1)[0]


def _timeout(seconds: float | None) -> float:
    """GitLab's ``runner_info.timeout``; none, or not positive, is the one-hour default
    (gitlab-runner's ``GetBuildTimeout``)."""
    return seconds if seconds is not None and seconds > 0 else DEFAULT_TIMEOUT_S


# --- variables -------------------------------------------------------------------------------


def _split(
    resolved: Resolved, notes: list[str]
) -> tuple[tuple[tuple[str, str], ...], tuple[tuple[str, str], ...], tuple[SecretSource, ...]]:
    """Plain variables, file variables and secrets, each key once, in first-definition order."""
    plain: list[tuple[str, str]] = []
    files: list[tuple[str, str]] = []
    secrets: list[SecretSource] = []
    for key, final in resolved.finals.items():
        variable = final.variable
        if not _ENV_NAME.fullmatch(key):
            notes.append(
                f"variable '{key}' is not passed to the job: it is not a valid shell variable name"
            )
        elif variable.masked:
            secrets.append(SecretSource(name=key, value=final.value, as_file=variable.file))
            if len(final.value) < MIN_SECRET_LEN:
                notes.append(
                    f"masked variable {key} is shorter than {MIN_SECRET_LEN} characters and"
                    " cannot be masked in the job log"
                )
        elif variable.file:
            files.append((key, final.value))
        else:
            plain.append((key, final.value))
    return tuple(plain), tuple(files), tuple(secrets)


# --- image and services ----------------------------------------------------------------------


def _image(payload: JobPayload, resolved: Resolved, default: str, notes: list[str]) -> str:
    spec = payload.image
    name = resolved.expand(spec.name).strip() if spec is not None else ""
    if spec is not None and spec.entrypoint not in (None, ("",)):
        notes.append(
            "the image's entrypoint is ignored: runner starts the job's shell itself"
        )
    if not name:
        notes.append(f"the job names no image; it runs in {default}")
        return default
    return name


def _services(
    specs: Iterable[ServiceSpec], resolved: Resolved, notes: list[str]
) -> tuple[Service, ...]:
    """Services with their host names, as gitlab-runner's Docker executor names them.

    Names are the image's default aliases (``runner.pipeline.aliases``) plus
    those in ``alias`` (split on commas and spaces), as in the YAML dialect
    (``runner.pipeline.gitlab.services``). A service whose names are all taken
    by earlier ones is not started, as gitlab-runner does.
    """
    out: list[Service] = []
    taken: set[str] = set()
    for number, spec in enumerate(specs, 1):
        what = f"service {number}"
        image = resolved.expand(spec.name).strip()
        if not image:
            notes.append(f"{what} ('{spec.name}') has an empty image name and is not started")
            continue
        names = list(default_aliases(image) or ())
        for alias in resolved.expand(spec.alias).replace(",", " ").split():
            if is_hostname(alias):
                names.append(alias)
            else:
                notes.append(f"alias '{alias}' of {what} ({image}) is not a host name; skipped")
        fresh = claim(names, taken)
        if fresh is None:
            notes.append(
                f"{what} ({image}) is not started: its host names are all taken by earlier"
                " services"
            )
            continue
        own = _service_variables(spec.variables, resolved.public)
        health = health_check_port({**resolved.public, **dict(own)})
        out.append(
            Service(
                image=image,
                aliases=fresh,
                entrypoint=spec.entrypoint,
                command=spec.command,
                variables=own,
                ports=(health,) if health else tuple(p for p in spec.ports if 0 < p < 65536),
                ready_on_any=True,  # gitlab-runner's health check: any one port
            )
        )
    return tuple(out)


def _service_variables(
    own: Sequence[Variable], public: Mapping[str, str]
) -> tuple[tuple[str, str], ...]:
    """The service's own variables, expanded over the job's public ones and its own.

    gitlab-runner gives a service the job's public (and runner) variables plus
    its own, expanded in one pass; the executor adds the job's variables
    itself, so only the service's own are kept here (last definition wins).
    """
    source = dict(public)
    source.update((v.key, v.value) for v in own)
    values = {v.key: v.value if v.raw else expand(v.value, source) for v in own}
    return tuple(values.items())


# --- artifacts -------------------------------------------------------------------------------


def _expanded_elements(
    payload: JobPayload, resolved: Resolved, outside: dict[int, list[str]]
) -> tuple[ArtifactSpec, ...]:
    """Elements with paths expanded; each one's paths outside the project go to ``outside``
    under its index (its excludes outside the project can match nothing: dropped)."""
    out: list[ArtifactSpec] = []
    for index, spec in enumerate(payload.artifacts):
        skipped = outside.setdefault(index, [])
        paths = (resolved.project_path(p, skipped) for p in spec.paths)
        exclude = (resolved.project_path(p, []) for p in spec.exclude)
        out.append(
            replace(
                spec,
                name=resolved.expand(spec.name),
                paths=tuple(dict.fromkeys(p for p in paths if p is not None)),
                exclude=tuple(dict.fromkeys(p for p in exclude if p is not None)),
            )
        )
    return tuple(out)


def _artifacts(payload: JobPayload, resolved: Resolved, notes: list[str]) -> Artifacts | None:
    """One model ``Artifacts`` collecting what every element needs.

    The model keeps one set per job, GitLab sends one element per archive and
    report, each with its own ``when`` and ``exclude``. The union is collected:
    every element's paths, untracked files if any element wants them, kept
    ``always`` when the elements' ``when`` differ (or any is ``always``).
    Excludes are left to the agent, which applies each element's own when it
    builds that element's archive: one element's exclude must not drop a file
    another element wants. ``dotenv`` stays empty: GitLab parses dotenv reports
    itself once they are uploaded. Paths outside the project are in ``skipped``,
    for the executor to warn about when it collects, as gitlab-runner does.
    """
    outside: dict[int, list[str]] = {}
    elements = _expanded_elements(payload, resolved, outside)
    wanted: list[ArtifactSpec] = []
    skipped: list[str] = []
    for index, element in enumerate(elements):
        if not element.paths and not element.untracked and not outside[index]:
            continue
        if element.when not in OUTCOMES:
            notes.append(
                f"{element.artifact_type} artifact has unknown 'when: {element.when}'; not kept"
            )
            continue
        wanted.append(element)
        skipped += outside[index]
    if not wanted:
        return None
    whens = {element.when for element in wanted}
    when = When.ALWAYS if len(whens) > 1 else OUTCOMES[whens.pop()]
    return Artifacts(
        paths=tuple(dict.fromkeys(p for element in wanted for p in element.paths)),
        when=when,
        untracked=any(element.untracked for element in wanted),
        skipped=tuple(dict.fromkeys(skipped)),
    )
