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

from runner.coordinator.gitlab import jsonpath as js
from runner.coordinator.gitlab.payloadtypes import (
    ArtifactSpec,
    CacheSpec,
    Credential,
    Dependency,
    GitInfo,
    ImageSpec,
    JobPayload,
    PayloadError,
    ServiceSpec,
    Variable,
)

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


def _argv(obj: js.JsonObject, key: str, path: str) -> tuple[str, ...] | None:
    """``entrypoint``/``command``: an empty list keeps the image's own, as gitlab-runner does."""
    return js.strings(obj, key, path) or None


def _or(text: str, default: str) -> str:
    return text or default


# --- the parts of a payload ----------------------------------------------------------------


def parse_payload(doc: object) -> JobPayload:
    """The payload ``doc`` (decoded JSON) as a `JobPayload`; `PayloadError` for bad shapes."""
    if not isinstance(doc, dict):
        raise PayloadError("", f"must be a JSON object, got {js.kind(doc)}")
    top: js.JsonObject = doc
    if top.get("id") is None:
        raise PayloadError("id", "is missing")
    job_id = js.integer(top, "id", "")
    assert job_id is not None
    token = js.text(top, "token", "")
    if not token:
        raise PayloadError("token", "is missing")
    info = js.as_object(top.get("job_info"), "job_info")
    features = js.as_object(top.get("features"), "features")
    script, after_script, unsupported = _steps(top)
    return JobPayload(
        id=job_id,
        token=token,
        name=js.text(info, "name", "job_info"),
        stage=js.text(info, "stage", "job_info"),
        project_id=js.integer(info, "project_id", "job_info"),
        project_path=js.text(info, "project_full_path", "job_info"),
        pipeline_id=js.integer(info, "pipeline_id", "job_info"),
        git=_git(js.as_object(top.get("git_info"), "git_info")),
        timeout_s=_timeout(js.as_object(top.get("runner_info"), "runner_info")),
        variables=_variables(top, ""),
        script=script,
        after_script=after_script,
        image=_image(top.get("image")),
        services=tuple(_service(obj, path) for obj, path in js.objects(top, "services", "")),
        artifacts=tuple(_artifact(obj, path) for obj, path in js.objects(top, "artifacts", "")),
        cache=tuple(_cache(obj, path) for obj, path in js.objects(top, "cache", "")),
        dependencies=tuple(
            _dependency(obj, path) for obj, path in js.objects(top, "dependencies", "")
        ),
        credentials=tuple(
            _credential(obj, path) for obj, path in js.objects(top, "credentials", "")
        ),
        failure_reasons=js.strings(features, "failure_reasons", "features"),
        token_mask_prefixes=js.strings(features, "token_mask_prefixes", "features"),
        unsupported=(*unsupported, *_extras(top)),
    )


def _git(obj: js.JsonObject) -> GitInfo:
    return GitInfo(
        repo_url=js.text(obj, "repo_url", "git_info"),
        ref=js.text(obj, "ref", "git_info"),
        sha=js.text(obj, "sha", "git_info"),
        before_sha=js.text(obj, "before_sha", "git_info"),
        ref_type=js.text(obj, "ref_type", "git_info"),
        refspecs=js.strings(obj, "refspecs", "git_info"),
        depth=js.integer(obj, "depth", "git_info") or 0,
    )


def _timeout(obj: js.JsonObject) -> float | None:
    value = obj.get("timeout")
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise js.wrong("runner_info.timeout", "a number of seconds", value)
    return float(value)


def _variables(obj: js.JsonObject, path: str) -> tuple[Variable, ...]:
    out: list[Variable] = []
    for item, where in js.objects(obj, "variables", path):
        key = js.text(item, "key", where)
        if not key:
            raise PayloadError(js.join(where, "key"), "is missing")
        out.append(
            Variable(
                key=key,
                value=js.text(item, "value", where),
                public=js.boolean(item, "public", where),
                masked=js.boolean(item, "masked", where),
                file=js.boolean(item, "file", where),
                raw=js.boolean(item, "raw", where),
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


def _steps(top: js.JsonObject) -> tuple[tuple[str, ...], tuple[str, ...], list[str]]:
    """The ``script`` and ``after_script`` steps, and sentences for any other step.

    GitLab joins ``before_script`` and ``script`` into the ``script`` step; a
    job using ``run:`` has no steps at all, only ``run`` (a JSON string).
    """
    script: list[str] = []
    after: list[str] = []
    unsupported: list[str] = []
    for step, where in js.objects(top, "steps", ""):
        name = js.text(step, "name", where)
        lines = js.strings(step, "script", where)
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


def _extras(top: js.JsonObject) -> list[str]:
    """Sentences for hooks, external secrets and job inputs: none of them is run here."""
    out: list[str] = []
    hooks = [
        js.text(hook, "name", where) or "unnamed"
        for hook, where in js.objects(top, "hooks", "")
        if js.strings(hook, "script", where)
    ]
    if hooks:
        out.append(
            "the job sets hooks (" + ", ".join(hooks) + "), which this runner does not run"
        )
    secrets = js.as_object(top.get("secrets"), "secrets")
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
    obj = js.as_object(value, "image")
    name = js.text(obj, "name", "image")
    if not name:
        return None
    return ImageSpec(name=name, entrypoint=_argv(obj, "entrypoint", "image"))


def _service(obj: js.JsonObject, path: str) -> ServiceSpec:
    name = js.text(obj, "name", path)
    if not name:
        raise PayloadError(js.join(path, "name"), "is missing")
    return ServiceSpec(
        name=name,
        alias=js.text(obj, "alias", path),
        entrypoint=_argv(obj, "entrypoint", path),
        command=_argv(obj, "command", path),
        variables=_variables(obj, path),
        ports=_ports(obj, path),
    )


def _ports(obj: js.JsonObject, path: str) -> tuple[int, ...]:
    numbers: list[int] = []
    for port, where in js.objects(obj, "ports", path):
        number = js.integer(port, "number", where)
        if number is not None:
            numbers.append(number)
    return tuple(numbers)


def _artifact(obj: js.JsonObject, path: str) -> ArtifactSpec:
    return ArtifactSpec(
        name=js.text(obj, "name", path),
        untracked=js.boolean(obj, "untracked", path),
        paths=js.strings(obj, "paths", path),
        exclude=js.strings(obj, "exclude", path),
        when=_or(js.text(obj, "when", path), "on_success"),
        expire_in=js.text(obj, "expire_in", path),
        artifact_type=_or(js.text(obj, "artifact_type", path), "archive"),
        artifact_format=_or(js.text(obj, "artifact_format", path), "zip"),
    )


def _cache(obj: js.JsonObject, path: str) -> CacheSpec:
    return CacheSpec(
        key=js.text(obj, "key", path),
        untracked=js.boolean(obj, "untracked", path),
        paths=js.strings(obj, "paths", path),
        policy=_or(js.text(obj, "policy", path), "pull-push"),
        when=_or(js.text(obj, "when", path), "on_success"),
        fallback_keys=js.strings(obj, "fallback_keys", path),
    )


def _dependency(obj: js.JsonObject, path: str) -> Dependency:
    dep_id = js.integer(obj, "id", path)
    if dep_id is None:
        raise PayloadError(js.join(path, "id"), "is missing")
    where = js.join(path, "artifacts_file")
    file = obj.get("artifacts_file")
    filename: str | None = None
    size: int | None = None
    if file is not None:
        found = js.as_object(file, where)
        filename = js.text(found, "filename", where) or None
        size = js.integer(found, "size", where)
    return Dependency(
        id=dep_id,
        name=js.text(obj, "name", path),
        token=js.text(obj, "token", path),
        artifacts_filename=filename,
        artifacts_size=size,
    )


def _credential(obj: js.JsonObject, path: str) -> Credential:
    return Credential(
        type=js.text(obj, "type", path),
        url=js.text(obj, "url", path),
        username=js.text(obj, "username", path),
        password=js.text(obj, "password", path),
    )
