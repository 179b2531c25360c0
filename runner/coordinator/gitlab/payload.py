"""The body of a 201 from ``POST /api/v4/jobs/request``, checked and mirrored as frozen data.

GitLab builds this JSON from ``API::Entities::Ci::JobRequest::Response`` and
gitlab-runner reads it into Go structs (``common/spec/spec.go``), where a
missing or ``null`` field is simply the zero value. We do the same: every
field is optional and nullable, and ``null`` reads as the empty value
(``""``, ``0``, ``False``, ``()``), except for ids, sizes and the image,
where ``None`` says "not given". Only ``id`` and ``token`` are required,
since nothing can be reported back without them. A value of the wrong JSON
type is refused with `PayloadError`, naming its key path, rather than being
guessed at: such a payload comes from a GitLab we do not understand.

Defaults GitLab leaves implicit are written out here so that no consumer has
to know them: an empty artifact or cache ``when`` is ``on_success`` (Go's
``OnSuccess()``), an empty cache ``policy`` is ``pull-push``, an empty
``artifact_type``/``artifact_format`` is ``archive``/``zip`` (Rails'
defaults for the upload).

Parts of a job this runner cannot run (a ``release`` step, ``run:`` steps,
hooks, external secrets, job inputs) are not errors here: they are listed,
as sentences for the job log, in ``JobPayload.unsupported``, and the agent
decides what to do (GitLab should not send them, since we do not advertise
the features they need).

Secrets never reach a ``repr``: the job token, variable values, registry
passwords, dependency tokens and the clone URL (which embeds the job token)
are ``field(repr=False)``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from runner.errors import Fault, RunnerError

__all__ = [
    "ArtifactSpec",
    "CacheSpec",
    "Credential",
    "Dependency",
    "GitInfo",
    "ImageSpec",
    "JobPayload",
    "PayloadError",
    "ServiceSpec",
    "Variable",
    "parse_payload",
]


class PayloadError(RunnerError):
    """GitLab sent a job payload of a shape we cannot read; ``path`` is the JSON key path."""

    fault = Fault.COORDINATOR

    def __init__(self, path: str, problem: str) -> None:
        self.path = path
        self.problem = problem
        where = f"'{path}' " if path else ""
        super().__init__(f"job payload: {where}{problem}")


@dataclass(frozen=True)
class GitInfo:
    """Where the job's source comes from (``git_info``)."""

    repo_url: str = field(default="", repr=False)
    """An https URL with ``gitlab-ci-token:<job token>@`` in it: never printed."""
    ref: str = ""
    sha: str = ""
    before_sha: str = ""
    ref_type: str = ""
    """``branch`` or ``tag``."""
    refspecs: tuple[str, ...] = ()
    depth: int = 0
    """Shallow clone depth; 0 is a full clone."""


@dataclass(frozen=True)
class Variable:
    """One entry of ``variables`` (or of a service's); keys may repeat, the last one wins.

    ``raw`` values are not expanded by the runner; ``file`` ones are given to the
    job as a path to a file holding the value; ``masked`` ones are hidden in the log.
    """

    key: str
    value: str = field(default="", repr=False)
    public: bool = False
    masked: bool = False
    file: bool = False
    raw: bool = False


@dataclass(frozen=True)
class ImageSpec:
    """The job's image; ``entrypoint`` None keeps the image's own."""

    name: str
    entrypoint: tuple[str, ...] | None = None


@dataclass(frozen=True)
class ServiceSpec:
    """One of ``services``; ``alias`` is the raw string (several names, comma-separated)."""

    name: str
    alias: str = ""
    entrypoint: tuple[str, ...] | None = None
    command: tuple[str, ...] | None = None
    variables: tuple[Variable, ...] = ()
    ports: tuple[int, ...] = ()


@dataclass(frozen=True)
class ArtifactSpec:
    """One element of ``artifacts``: the archive, or one report; each is uploaded on its own.

    ``paths``, ``exclude`` and ``name`` are as GitLab sent them: the runner
    expands them (see ``tomodel.artifact_elements``).
    """

    name: str = ""
    untracked: bool = False
    paths: tuple[str, ...] = ()
    exclude: tuple[str, ...] = ()
    when: str = "on_success"
    expire_in: str = ""
    artifact_type: str = "archive"
    artifact_format: str = "zip"


@dataclass(frozen=True)
class CacheSpec:
    """One element of ``cache``; key, paths and fallback keys are expanded by the runner."""

    key: str = ""
    untracked: bool = False
    paths: tuple[str, ...] = ()
    policy: str = "pull-push"
    when: str = "on_success"
    fallback_keys: tuple[str, ...] = ()


@dataclass(frozen=True)
class Dependency:
    """A job whose artifacts this one downloads (only when ``artifacts_filename`` is set)."""

    id: int
    name: str = ""
    token: str = field(default="", repr=False)
    """The token to download with (that job's, or this job's own on newer GitLab)."""
    artifacts_filename: str | None = None
    artifacts_size: int | None = None


@dataclass(frozen=True)
class Credential:
    """Registry credentials GitLab hands the runner for pulling images."""

    type: str = ""
    url: str = ""
    username: str = ""
    password: str = field(default="", repr=False)


@dataclass(frozen=True)
class JobPayload:
    """A job as GitLab handed it over; see the module docstring for how nulls read."""

    id: int
    token: str = field(repr=False)
    name: str = ""
    stage: str = ""
    project_id: int | None = None
    project_path: str = ""
    """``job_info.project_full_path``, like ``group/sub/project``."""
    pipeline_id: int | None = None
    git: GitInfo = field(default_factory=GitInfo)
    timeout_s: float | None = None
    """``runner_info.timeout``; None when GitLab gave none."""
    variables: tuple[Variable, ...] = ()
    script: tuple[str, ...] = ()
    """The ``script`` step: ``before_script`` and ``script`` together, as GitLab joins them."""
    after_script: tuple[str, ...] = ()
    image: ImageSpec | None = None
    services: tuple[ServiceSpec, ...] = ()
    artifacts: tuple[ArtifactSpec, ...] = ()
    cache: tuple[CacheSpec, ...] = ()
    dependencies: tuple[Dependency, ...] = ()
    credentials: tuple[Credential, ...] = ()
    failure_reasons: tuple[str, ...] = ()
    """``features.failure_reasons``: what this GitLab accepts in a job update."""
    token_mask_prefixes: tuple[str, ...] = ()
    unsupported: tuple[str, ...] = ()
    """Sentences for the job log, one per part of the job this runner cannot run."""


# --- reading JSON values with their key paths ------------------------------------------------

_Object = Mapping[str, object]


_KINDS: tuple[tuple[type | tuple[type, ...], str], ...] = (
    (bool, "a boolean"),  # before int: a bool is an int in Python
    ((int, float), "a number"),
    (str, "a string"),
    (list, "a list"),
    (dict, "an object"),
)


def _kind(value: object) -> str:
    """What a JSON value is, for messages (never the value: it may be a secret)."""
    if value is None:
        return "null"
    return next((name for kind, name in _KINDS if isinstance(value, kind)), type(value).__name__)


def _join(path: str, key: str) -> str:
    return f"{path}.{key}" if path else key


def _wrong(path: str, wanted: str, value: object) -> PayloadError:
    return PayloadError(path, f"must be {wanted}, got {_kind(value)}")


def _object(value: object, path: str) -> _Object:
    """An object, or an empty one for null."""
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise _wrong(path, "an object", value)
    return value


def _list(value: object, path: str) -> list[object]:
    if value is None:
        return []
    if not isinstance(value, list):
        raise _wrong(path, "a list", value)
    return value


def _str(obj: _Object, key: str, path: str) -> str:
    value = obj.get(key)
    if value is None:
        return ""
    if not isinstance(value, str):
        raise _wrong(_join(path, key), "a string", value)
    return value


def _int(obj: _Object, key: str, path: str) -> int | None:
    value = obj.get(key)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int):
        raise _wrong(_join(path, key), "an integer", value)
    return value


def _bool(obj: _Object, key: str, path: str) -> bool:
    value = obj.get(key)
    if value is None:
        return False
    if not isinstance(value, bool):
        raise _wrong(_join(path, key), "true or false", value)
    return value


def _strings(obj: _Object, key: str, path: str) -> tuple[str, ...]:
    """A list of strings; null is empty. One bad item refuses the whole list."""
    value = obj.get(key)
    where = _join(path, key)
    if value is None:
        return ()
    if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
        raise PayloadError(where, f"must be a list of strings, got {_describe_list(value)}")
    return tuple(value)


def _describe_list(value: object) -> str:
    if not isinstance(value, list):
        return _kind(value)
    bad = next(i for i, item in enumerate(value) if not isinstance(item, str))
    return f"{_kind(value[bad])} at index {bad}"


def _argv(obj: _Object, key: str, path: str) -> tuple[str, ...] | None:
    """``entrypoint``/``command``: an empty list keeps the image's own, as gitlab-runner does."""
    return _strings(obj, key, path) or None


def _objects(obj: _Object, key: str, path: str) -> list[tuple[_Object, str]]:
    """A list of objects with their key paths; null items (zero values in Go) are skipped."""
    where = _join(path, key)
    out: list[tuple[_Object, str]] = []
    for index, item in enumerate(_list(obj.get(key), where)):
        if item is not None:
            item_path = f"{where}[{index}]"
            out.append((_object(item, item_path), item_path))
    return out


def _or(text: str, default: str) -> str:
    return text or default


# --- the parts of a payload ----------------------------------------------------------------


def parse_payload(doc: object) -> JobPayload:
    """The payload ``doc`` (decoded JSON) as a `JobPayload`; `PayloadError` for bad shapes."""
    if not isinstance(doc, dict):
        raise PayloadError("", f"must be a JSON object, got {_kind(doc)}")
    top: _Object = doc
    if top.get("id") is None:
        raise PayloadError("id", "is missing")
    job_id = _int(top, "id", "")
    assert job_id is not None
    token = _str(top, "token", "")
    if not token:
        raise PayloadError("token", "is missing")
    info = _object(top.get("job_info"), "job_info")
    features = _object(top.get("features"), "features")
    script, after_script, unsupported = _steps(top)
    return JobPayload(
        id=job_id,
        token=token,
        name=_str(info, "name", "job_info"),
        stage=_str(info, "stage", "job_info"),
        project_id=_int(info, "project_id", "job_info"),
        project_path=_str(info, "project_full_path", "job_info"),
        pipeline_id=_int(info, "pipeline_id", "job_info"),
        git=_git(_object(top.get("git_info"), "git_info")),
        timeout_s=_timeout(_object(top.get("runner_info"), "runner_info")),
        variables=_variables(top, ""),
        script=script,
        after_script=after_script,
        image=_image(top.get("image")),
        services=tuple(_service(obj, path) for obj, path in _objects(top, "services", "")),
        artifacts=tuple(_artifact(obj, path) for obj, path in _objects(top, "artifacts", "")),
        cache=tuple(_cache(obj, path) for obj, path in _objects(top, "cache", "")),
        dependencies=tuple(
            _dependency(obj, path) for obj, path in _objects(top, "dependencies", "")
        ),
        credentials=tuple(
            _credential(obj, path) for obj, path in _objects(top, "credentials", "")
        ),
        failure_reasons=_strings(features, "failure_reasons", "features"),
        token_mask_prefixes=_strings(features, "token_mask_prefixes", "features"),
        unsupported=(*unsupported, *_extras(top)),
    )


def _git(obj: _Object) -> GitInfo:
    return GitInfo(
        repo_url=_str(obj, "repo_url", "git_info"),
        ref=_str(obj, "ref", "git_info"),
        sha=_str(obj, "sha", "git_info"),
        before_sha=_str(obj, "before_sha", "git_info"),
        ref_type=_str(obj, "ref_type", "git_info"),
        refspecs=_strings(obj, "refspecs", "git_info"),
        depth=_int(obj, "depth", "git_info") or 0,
    )


def _timeout(obj: _Object) -> float | None:
    value = obj.get("timeout")
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise _wrong("runner_info.timeout", "a number of seconds", value)
    return float(value)


def _variables(obj: _Object, path: str) -> tuple[Variable, ...]:
    out: list[Variable] = []
    for item, where in _objects(obj, "variables", path):
        key = _str(item, "key", where)
        if not key:
            raise PayloadError(_join(where, "key"), "is missing")
        out.append(
            Variable(
                key=key,
                value=_str(item, "value", where),
                public=_bool(item, "public", where),
                masked=_bool(item, "masked", where),
                file=_bool(item, "file", where),
                raw=_bool(item, "raw", where),
            )
        )
    return tuple(out)


_RELEASE = (
    "the job has a 'release' step (the release: keyword), which this runner cannot run;"
    " create the release from a script with the glab CLI instead"
)
_RUN = (
    "the job uses 'run:' (CI/CD steps), which this runner cannot run; use 'script:' instead"
)


def _steps(top: _Object) -> tuple[tuple[str, ...], tuple[str, ...], list[str]]:
    """The ``script`` and ``after_script`` steps, and sentences for any other step.

    GitLab joins ``before_script`` and ``script`` into the ``script`` step; a
    job using ``run:`` has no steps at all, only ``run`` (a JSON string).
    """
    script: list[str] = []
    after: list[str] = []
    unsupported: list[str] = []
    for step, where in _objects(top, "steps", ""):
        name = _str(step, "name", where)
        lines = _strings(step, "script", where)
        if name == "script":
            script += lines
        elif name == "after_script":
            after += lines
        elif name == "release":
            unsupported.append(_RELEASE)
        else:
            unsupported.append(
                f"the job has a step named '{name}', which this runner does not know how to run"
            )
    run = top.get("run")
    if run is not None and run not in ("", "[]"):
        unsupported.append(_RUN)
    return tuple(script), tuple(after), unsupported


def _extras(top: _Object) -> list[str]:
    """Sentences for hooks, external secrets and job inputs: none of them is run here."""
    out: list[str] = []
    hooks = [
        _str(hook, "name", where) or "unnamed"
        for hook, where in _objects(top, "hooks", "")
        if _strings(hook, "script", where)
    ]
    if hooks:
        out.append(
            "the job sets hooks (" + ", ".join(hooks) + "), which this runner does not run"
        )
    secrets = _object(top.get("secrets"), "secrets")
    if secrets:
        out.append(
            "the job takes secrets from an external provider (" + ", ".join(sorted(secrets))
            + "), which this runner cannot fetch; use masked CI/CD variables instead"
        )
    inputs = top.get("inputs")
    if inputs:
        out.append(
            "the job uses job inputs, which this runner cannot interpolate"
        )
    return out


def _image(value: object) -> ImageSpec | None:
    """The image, or None when there is none: GitLab sends ``{}`` or nothing then."""
    obj = _object(value, "image")
    name = _str(obj, "name", "image")
    if not name:
        return None
    return ImageSpec(name=name, entrypoint=_argv(obj, "entrypoint", "image"))


def _service(obj: _Object, path: str) -> ServiceSpec:
    name = _str(obj, "name", path)
    if not name:
        raise PayloadError(_join(path, "name"), "is missing")
    return ServiceSpec(
        name=name,
        alias=_str(obj, "alias", path),
        entrypoint=_argv(obj, "entrypoint", path),
        command=_argv(obj, "command", path),
        variables=_variables(obj, path),
        ports=_ports(obj, path),
    )


def _ports(obj: _Object, path: str) -> tuple[int, ...]:
    numbers: list[int] = []
    for port, where in _objects(obj, "ports", path):
        number = _int(port, "number", where)
        if number is not None:
            numbers.append(number)
    return tuple(numbers)


def _artifact(obj: _Object, path: str) -> ArtifactSpec:
    return ArtifactSpec(
        name=_str(obj, "name", path),
        untracked=_bool(obj, "untracked", path),
        paths=_strings(obj, "paths", path),
        exclude=_strings(obj, "exclude", path),
        when=_or(_str(obj, "when", path), "on_success"),
        expire_in=_str(obj, "expire_in", path),
        artifact_type=_or(_str(obj, "artifact_type", path), "archive"),
        artifact_format=_or(_str(obj, "artifact_format", path), "zip"),
    )


def _cache(obj: _Object, path: str) -> CacheSpec:
    return CacheSpec(
        key=_str(obj, "key", path),
        untracked=_bool(obj, "untracked", path),
        paths=_strings(obj, "paths", path),
        policy=_or(_str(obj, "policy", path), "pull-push"),
        when=_or(_str(obj, "when", path), "on_success"),
        fallback_keys=_strings(obj, "fallback_keys", path),
    )


def _dependency(obj: _Object, path: str) -> Dependency:
    dep_id = _int(obj, "id", path)
    if dep_id is None:
        raise PayloadError(_join(path, "id"), "is missing")
    where = _join(path, "artifacts_file")
    file = obj.get("artifacts_file")
    filename: str | None = None
    size: int | None = None
    if file is not None:
        found = _object(file, where)
        filename = _str(found, "filename", where) or None
        size = _int(found, "size", where)
    return Dependency(
        id=dep_id,
        name=_str(obj, "name", path),
        token=_str(obj, "token", path),
        artifacts_filename=filename,
        artifacts_size=size,
    )


def _credential(obj: _Object, path: str) -> Credential:
    return Credential(
        type=_str(obj, "type", path),
        url=_str(obj, "url", path),
        username=_str(obj, "username", path),
        password=_str(obj, "password", path),
    )
