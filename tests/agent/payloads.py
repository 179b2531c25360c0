"""Job payloads shaped like the body GitLab answers ``POST /api/v4/jobs/request`` with (201).

The agent under test must cope with what GitLab really sends, so the builder
copies Rails' shapes (``lib/api/entities/ci/job_request/*.rb`` over
``Ci::BuildRunnerPresenter``; see docs section 4 of the protocol reference):
predefined variables next to the project's, ``steps`` built the way
``Gitlab::Ci::Build::Step`` builds them, ``artifacts`` elements with the defaults
Rails fills in, ``null`` where Rails sends ``null``.

The job token is embedded in several places (``CI_JOB_TOKEN``, the clone URL),
so it must be known before the payload is built: ``FakeGitLab.add_job`` accepts
a builder ``lambda job_id, token: job_payload(job_id=job_id, token=token, ...)``.
"""

from __future__ import annotations

import hashlib
import re
import secrets
from collections.abc import Iterable, Mapping, Sequence
from typing import Any
from urllib.parse import quote, urlsplit, urlunsplit

# ``Enums::Ci::CommitStatus.failure_reasons`` keys (GitLab CE) as read in the stored
# gitlabhq source: the list ``Ci::Build#features`` sends to the runner. Note what is
# absent: ``image_pull_failure``, ``runner_configuration_error`` and friends must be
# mapped by the runner before it reports them (``common/failure_reason_mapper.go``).
DEFAULT_FAILURE_REASONS: tuple[str, ...] = (
    "unknown_failure",
    "script_failure",
    "api_failure",
    "stuck_or_timeout_failure",
    "runner_system_failure",
    "missing_dependency_failure",
    "runner_unsupported",
    "stale_schedule",
    "job_execution_timeout",
    "archived_failure",
    "unmet_prerequisites",
    "scheduler_failure",
    "data_integrity_failure",
    "forward_deployment_failure",
    "user_blocked",
    "project_deleted",
    "ci_quota_exceeded",
    "pipeline_loop_detected",
    "no_matching_runner",
    "trace_size_exceeded",
    "builds_disabled",
    "insufficient_bridge_permissions",
    "downstream_bridge_project_not_found",
    "invalid_bridge_trigger",
    "bridge_pipeline_is_child_pipeline",
    "downstream_pipeline_creation_failed",
    "secrets_provider_not_found",
    "reached_max_descendant_pipelines_depth",
)

# ``Enums::Ci::JobArtifact.type_and_format_pairs``: the one format Rails accepts per
# artifact type (``Ci::JobArtifact#validate_file_format!``), and the default file
# names report elements carry. Also used by the fake to validate uploads.
TYPE_AND_FORMAT: dict[str, str] = {
    "archive": "zip", "metadata": "gzip", "trace": "raw",
    "junit": "gzip", "metrics": "gzip", "metrics_referee": "gzip", "network_referee": "gzip",
    "dotenv": "gzip", "cobertura": "gzip", "jacoco": "gzip", "cluster_applications": "gzip",
    "lsif": "zip", "scip": "zip", "cyclonedx": "gzip", "annotations": "gzip",
    "repository_xray": "gzip",
    "sast": "raw", "secret_detection": "raw", "dependency_scanning": "raw",
    "container_scanning": "raw", "cluster_image_scanning": "raw", "dast": "raw",
    "license_scanning": "raw", "accessibility": "raw", "codequality": "raw",
    "performance": "raw", "browser_performance": "raw", "load_performance": "raw",
    "terraform": "raw", "requirements": "raw", "requirements_v2": "raw",
    "coverage_fuzzing": "raw", "api_fuzzing": "raw", "sarif": "raw",
}
DEFAULT_FILE_NAMES: dict[str, str] = {
    "junit": "junit.xml", "accessibility": "gl-accessibility.json",
    "codequality": "gl-code-quality-report.json", "sast": "gl-sast-report.json",
    "secret_detection": "gl-secret-detection-report.json",
    "dependency_scanning": "gl-dependency-scanning-report.json",
    "container_scanning": "gl-container-scanning-report.json", "dast": "gl-dast-report.json",
    "metrics": "metrics.txt", "lsif": "lsif.json", "scip": "index.scip", "dotenv": ".env",
    "cobertura": "cobertura-coverage.xml", "jacoco": "jacoco-coverage.xml",
    "terraform": "tfplan.json", "cyclonedx": "gl-sbom.cdx.json",
    "annotations": "gl-annotations.json", "sarif": "gl-sarif-report.sarif",
}

JOB_TOKEN_PREFIX = "glcbt-64_"
DEFAULT_SERVER_URL = "http://gitlab.example.com/"
ZERO_SHA = "0" * 40

# A variable given as (key, value), or as a ready runner-variable dict passed through.
VarSpec = tuple[str, str] | Mapping[str, Any]
VarsArg = Mapping[str, str] | Iterable[VarSpec]
# artifacts: runner-side elements, or a .gitlab-ci.yml ``artifacts:`` mapping.
ArtifactsArg = Sequence[Mapping[str, Any]] | Mapping[str, Any] | None


def new_job_token() -> str:
    """A CI job token of GitLab's shape: ``glcbt-`` + hex partition prefix + random part."""
    return JOB_TOKEN_PREFIX + secrets.token_hex(10)


def job_payload(
    *,
    job_id: int | None = None,
    token: str | None = None,
    name: str = "test",
    stage: str = "test",
    before_script: Sequence[str] = (),
    script: Sequence[str] = ("echo hi",),
    after_script: Sequence[str] = (),
    image: str | Mapping[str, Any] | None = "busybox:latest",
    variables: VarsArg = (),
    masked: VarsArg = (),
    file_vars: VarsArg = (),
    artifacts: ArtifactsArg = None,
    dependencies: Sequence[Mapping[str, Any]] = (),
    cache: Sequence[Mapping[str, Any]] = (),
    services: Sequence[str | Mapping[str, Any]] = (),
    credentials: Sequence[Mapping[str, Any]] = (),
    repo_url: str = "",
    sha: str = "",
    before_sha: str = ZERO_SHA,
    ref: str = "main",
    ref_type: str = "branch",
    depth: int = 0,
    persistent_ref: bool = False,
    timeout: int = 3600,
    project_id: int = 42,
    project_path: str = "group/project",
    pipeline_id: int | None = None,
    server_url: str = DEFAULT_SERVER_URL,
    failure_reasons: Sequence[str] = DEFAULT_FAILURE_REASONS,
    allow_git_fetch: bool = True,
) -> dict[str, Any]:
    """A realistic 201 body of ``POST /jobs/request`` for one job.

    ``variables``/``masked``/``file_vars`` take a mapping or (key, value) pairs;
    ``masked`` ones get ``masked: true`` and ``file_vars`` ones ``file: true``.
    ``artifacts`` is either a list of runner-side elements (defaults filled in the way
    Rails fills them) or a ``.gitlab-ci.yml``-style mapping (``paths``, ``reports`` ...)
    converted like ``BuildRunnerPresenter#artifacts``. ``repo_url`` empty means
    ``<server_url>/<project_path>.git``; an http(s) URL without credentials gets
    ``gitlab-ci-token:<job token>@`` embedded as GitLab does; anything else
    (a ``file://`` URL, a path) is used verbatim. ``persistent_ref`` adds the
    ``refs/pipelines/<id>`` refspec GitLab sends: off by default because a test
    repository does not have that ref and fetching it would fail. ``job_id`` and
    ``token`` default to fresh random ones; prefer a builder passed to
    ``FakeGitLab.add_job``, which hands it the ones the fake knows.
    """
    # A ready payload keeps its id in the fake, so unnamed ones must not collide.
    job_id = secrets.randbelow(9_000_000) + 1_000_000 if job_id is None else job_id
    token = new_job_token() if token is None else token
    pipeline_id = 100 + job_id if pipeline_id is None else pipeline_id
    sha = sha or hashlib.sha1(ref.encode(), usedforsecurity=False).hexdigest()
    server_url = server_url if server_url.endswith("/") else server_url + "/"
    clone_url = _clone_url(repo_url, server_url, project_path, token)
    project_name = project_path.rsplit("/", 1)[-1]

    predefined = _predefined_variables(
        job_id=job_id, token=token, name=name, stage=stage, sha=sha, before_sha=before_sha,
        ref=ref, ref_type=ref_type, project_id=project_id, project_path=project_path,
        pipeline_id=pipeline_id, server_url=server_url, clone_url=clone_url, image=image,
    )
    user_vars = (_variables(variables) + _variables(masked, masked=True)
                 + _variables(file_vars, file=True))
    if depth:
        user_vars.append(_var("GIT_DEPTH", str(depth)))
    steps: list[dict[str, Any]] = [{
        "name": "script", "script": [*before_script, *script], "timeout": timeout,
        "when": "on_success", "allow_failure": False,
    }]
    if after_script:
        steps.append({"name": "after_script", "script": list(after_script), "timeout": timeout,
                      "when": "always", "allow_failure": True})
    return {
        "id": job_id,
        "token": token,
        "allow_git_fetch": allow_git_fetch,
        "job_info": {
            "id": job_id, "name": name, "stage": stage, "pipeline_id": pipeline_id,
            "project_id": project_id, "project_name": project_name,
            "project_full_path": project_path, "namespace_id": 7, "root_namespace_id": 7,
            "organization_id": 1, "user_id": 1, "time_in_queue_seconds": 0,
            "project_jobs_running_on_instance_runners_count": "+Inf",
            "queue_size": 0, "queue_depth": 0,
        },
        "git_info": {
            "repo_url": clone_url, "ref": ref, "sha": sha, "before_sha": before_sha,
            "ref_type": ref_type,
            "refspecs": _refspecs(ref, ref_type, depth, pipeline_id if persistent_ref else None),
            "depth": depth, "repo_object_format": "sha1",
        },
        "runner_info": {"timeout": timeout, "runner_session_url": None},
        "variables": predefined + user_vars,
        "steps": steps,
        "image": _image(image),
        "services": [_service(service) for service in services],
        "artifacts": _artifacts(artifacts),
        "cache": [_cache(entry) for entry in cache],
        "credentials": [dict(entry) for entry in credentials],
        "dependencies": [dict(dep) for dep in dependencies],
        "features": {"trace_sections": True, "failure_reasons": list(failure_reasons)},
        "hooks": [],
    }


def _var(key: str, value: str, *, public: bool = True, masked: bool = False,
         file: bool = False) -> dict[str, Any]:
    """One runner variable: ``file``/``raw`` appear only when true (``to_runner_variable``)."""
    var: dict[str, Any] = {"key": key, "value": value, "public": public, "masked": masked}
    if file:
        var["file"] = True
    return var


def _variables(spec: VarsArg, *, masked: bool = False, file: bool = False) -> list[dict[str, Any]]:
    """Project-level variables: ``public: false`` as ``Ci::Variable`` sends them."""
    items: Iterable[VarSpec] = spec.items() if isinstance(spec, Mapping) else spec
    out: list[dict[str, Any]] = []
    for item in items:
        if isinstance(item, Mapping):
            out.append(dict(item))
        else:
            key, value = item
            out.append(_var(key, value, public=False, masked=masked, file=file))
    return out


def _predefined_variables(*, job_id: int, token: str, name: str, stage: str, sha: str,
                          before_sha: str, ref: str, ref_type: str, project_id: int,
                          project_path: str, pipeline_id: int, server_url: str, clone_url: str,
                          image: str | Mapping[str, Any] | None) -> list[dict[str, Any]]:
    """The predefined variables GitLab itself puts first in ``variables``."""
    parts = urlsplit(server_url)
    host = parts.hostname or "gitlab.example.com"
    port = str(parts.port or (443 if parts.scheme == "https" else 80))
    server = server_url.rstrip("/")
    namespace, _, project_name = project_path.rpartition("/")
    ref_slug = re.sub(r"[^a-z0-9]", "-", ref.lower())[:63].strip("-")
    project_url = f"{server}/{project_path}"
    out = [
        _var("CI_PIPELINE_ID", str(pipeline_id)),
        _var("CI_PIPELINE_URL", f"{project_url}/-/pipelines/{pipeline_id}"),
        _var("CI_JOB_ID", str(job_id)),
        _var("CI_JOB_URL", f"{project_url}/-/jobs/{job_id}"),
        _var("CI_JOB_TOKEN", token, public=False, masked=True),
        _var("CI_REGISTRY_USER", "gitlab-ci-token"),
        _var("CI_REGISTRY_PASSWORD", token, public=False, masked=True),
        _var("CI_REPOSITORY_URL", clone_url, public=False),
        _var("CI", "true"),
        _var("GITLAB_CI", "true"),
        _var("CI_SERVER_URL", server),
        _var("CI_SERVER_HOST", host),
        _var("CI_SERVER_PORT", port),
        _var("CI_SERVER_PROTOCOL", parts.scheme or "http"),
        _var("CI_SERVER_NAME", "GitLab"),
        _var("CI_SERVER_VERSION", "18.4.0"),
        _var("CI_PROJECT_ID", str(project_id)),
        _var("CI_PROJECT_NAME", project_name),
        _var("CI_PROJECT_TITLE", project_name),
        _var("CI_PROJECT_PATH", project_path),
        _var("CI_PROJECT_PATH_SLUG", re.sub(r"[^a-z0-9]", "-", project_path.lower())),
        _var("CI_PROJECT_NAMESPACE", namespace),
        _var("CI_PROJECT_ROOT_NAMESPACE", namespace.split("/", 1)[0]),
        _var("CI_PROJECT_URL", project_url),
        _var("CI_PROJECT_VISIBILITY", "private"),
        _var("CI_DEFAULT_BRANCH", "main"),
        _var("CI_PIPELINE_IID", "1"),
        _var("CI_PIPELINE_SOURCE", "push"),
        _var("CI_COMMIT_SHA", sha),
        _var("CI_COMMIT_SHORT_SHA", sha[:8]),
        _var("CI_COMMIT_BEFORE_SHA", before_sha),
        _var("CI_COMMIT_REF_NAME", ref),
        _var("CI_COMMIT_REF_SLUG", ref_slug),
        _var("CI_COMMIT_TAG" if ref_type == "tag" else "CI_COMMIT_BRANCH", ref),
        _var("CI_JOB_NAME", name),
        _var("CI_JOB_NAME_SLUG", re.sub(r"[^a-z0-9]", "-", name.lower())[:63]),
        _var("CI_JOB_STAGE", stage),
        _var("CI_NODE_TOTAL", "1"),
        _var("GITLAB_USER_ID", "1"),
        _var("GITLAB_USER_LOGIN", "root"),
    ]
    image_name = image.get("name") if isinstance(image, Mapping) else image
    if image_name:
        out.insert(0, _var("CI_JOB_IMAGE", str(image_name)))
    return out


def _clone_url(repo_url: str, server_url: str, project_path: str, token: str) -> str:
    """``repo_url`` as Rails builds it: http(s) with ``gitlab-ci-token:<token>@``."""
    url = repo_url or f"{server_url}{project_path}.git"
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or "@" in parts.netloc:
        return url
    netloc = f"gitlab-ci-token:{quote(token, safe='')}@{parts.netloc}"
    return urlunsplit(parts._replace(netloc=netloc))


def _refspecs(ref: str, ref_type: str, depth: int, pipeline_id: int | None) -> list[str]:
    """``BuildRunnerPresenter#refspecs``: only the job's ref when shallow, else all."""
    specs = [f"+refs/pipelines/{pipeline_id}:refs/pipelines/{pipeline_id}"] if pipeline_id else []
    branches = "+refs/heads/{0}:refs/remotes/origin/{0}"
    tags = "+refs/tags/{0}:refs/tags/{0}"
    if depth > 0:
        specs.append((tags if ref_type == "tag" else branches).format(ref))
    else:
        specs += [branches.format("*"), tags.format("*")]
    return specs


def _image(image: str | Mapping[str, Any] | None) -> dict[str, Any] | None:
    if not image:
        return None
    spec: dict[str, Any] = {"name": image} if isinstance(image, str) else dict(image)
    return {"name": spec["name"], "entrypoint": spec.get("entrypoint"),
            "ports": list(spec.get("ports", ())),
            "executor_opts": dict(spec.get("executor_opts", {})),
            "pull_policy": spec.get("pull_policy")}


def _service(service: str | Mapping[str, Any]) -> dict[str, Any]:
    spec: dict[str, Any] = {"name": service} if isinstance(service, str) else dict(service)
    base = _image(spec) or {}
    return {**base, "alias": spec.get("alias"), "command": spec.get("command"),
            "variables": list(spec.get("variables", ()))}


def _artifacts(spec: ArtifactsArg) -> list[dict[str, Any]]:
    """Runner-side artifacts elements; a mapping is read as ``.gitlab-ci.yml`` ``artifacts:``.

    List elements get friendly defaults (``untracked: false``, ``when: on_success``, the
    format that goes with the type); the mapping form reproduces Rails exactly, ``null``s
    included, so the agent is also tested against what GitLab really sends.
    """
    if spec is None:
        return []
    if isinstance(spec, Mapping):
        return _artifacts_from_yaml(spec)
    out = []
    for element in spec:
        artifact_type = element.get("artifact_type", "archive")
        item: dict[str, Any] = {
            "name": element.get("name"), "untracked": element.get("untracked", False),
            "paths": list(element.get("paths", ())), "when": element.get("when", "on_success"),
            "expire_in": element.get("expire_in"), "artifact_type": artifact_type,
            "artifact_format": element.get("artifact_format",
                                           TYPE_AND_FORMAT.get(artifact_type, "zip")),
        }
        if element.get("exclude"):  # Rails drops an empty exclude
            item["exclude"] = list(element["exclude"])
        out.append(item)
    return out


def _artifacts_from_yaml(spec: Mapping[str, Any]) -> list[dict[str, Any]]:
    """``BuildRunnerPresenter#artifacts``: one archive element, then one per report.

    The archive element keeps Rails' ``nil``s (``name``, ``untracked``, ``when`` when the
    YAML has none); report elements are ``compact``ed, so absent keys are missing.
    """
    out: list[dict[str, Any]] = []
    if spec.get("untracked") or spec.get("paths"):
        archive: dict[str, Any] = {
            "name": spec.get("name"), "untracked": spec.get("untracked"),
            "paths": spec.get("paths"), "when": spec.get("when"),
            "expire_in": spec.get("expire_in"), "artifact_type": "archive",
            "artifact_format": "zip",
        }
        if spec.get("exclude"):
            archive["exclude"] = list(spec["exclude"])
        out.append(archive)
    for report_type, paths in dict(spec.get("reports", {})).items():
        report = {"name": DEFAULT_FILE_NAMES.get(report_type), "paths": list(paths),
                  "when": "always", "expire_in": spec.get("expire_in"),
                  "artifact_type": report_type,
                  "artifact_format": TYPE_AND_FORMAT.get(report_type, "raw")}
        out.append({key: value for key, value in report.items() if value is not None})
    return out


def _cache(entry: Mapping[str, Any]) -> dict[str, Any]:
    return {"key": entry.get("key", "default"), "untracked": entry.get("untracked", False),
            "paths": list(entry.get("paths", ())), "policy": entry.get("policy", "pull-push"),
            "when": entry.get("when", "on_success"),
            "fallback_keys": list(entry.get("fallback_keys", ()))}
