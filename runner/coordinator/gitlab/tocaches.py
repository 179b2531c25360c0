"""A GitLab job's caches in the pipeline model, decided as gitlab-runner decides them."""

from __future__ import annotations

from runner.coordinator.gitlab.payload import CacheSpec, JobPayload
from runner.coordinator.gitlab.resolved import Resolved
from runner.pipeline.gitlab.cache import dir_key
from runner.pipeline.model import Cache, CachePolicy, When

OUTCOMES = {w.value: w for w in (When.ON_SUCCESS, When.ON_FAILURE, When.ALWAYS)}
"""GitLab's ``when`` of a cache or artifact; anything else is noted and read as on_success."""
_POLICIES = {p.value: p for p in CachePolicy}
_RESERVED_FALLBACK_SUFFIX = "-protected"
"""gitlab-runner refuses a ``CACHE_FALLBACK_KEY`` ending so (trailing dots ignored): it
would let an unprotected ref read a protected ref's cache."""


def caches(payload: JobPayload, resolved: Resolved, notes: list[str]) -> tuple[Cache, ...]:
    """Model caches; keys are made directory names with ``dir_key``, as the YAML dialect does.

    An empty key is ``<job name>/<ref>`` and a key that expands to nothing
    leaves the cache out, both as in gitlab-runner (``cacheFile``). The job's
    ``CACHE_FALLBACK_KEY`` is tried after the cache's own fallback keys.
    """
    fallback_var = resolved.finals.get("CACHE_FALLBACK_KEY")
    extra = fallback_var.value.strip() if fallback_var is not None else ""
    if extra.rstrip(".").endswith(_RESERVED_FALLBACK_SUFFIX):
        notes.append(
            f"CACHE_FALLBACK_KEY '{extra}' is not used: it may not end in"
            f" '{_RESERVED_FALLBACK_SUFFIX}'"
        )
        extra = ""
    out: list[Cache] = []
    for number, spec in enumerate(payload.cache, 1):
        cache = _cache(spec, f"cache {number}", payload, resolved, notes=notes, extra=extra)
        if cache is not None:
            out.append(cache)
    return tuple(out)


def _cache(
    spec: CacheSpec,
    what: str,
    payload: JobPayload,
    resolved: Resolved,
    *,
    notes: list[str],
    extra: str,
) -> Cache | None:
    if spec.untracked:
        notes.append(f"{what}: 'untracked: true' is not supported; only its paths are cached")
    outside: list[str] = []
    found = (resolved.project_path(p, outside) for p in spec.paths)
    paths = tuple(dict.fromkeys(p for p in found if p is not None))
    if not paths and not outside:
        return None
    key = resolved.expand(spec.key) if spec.key else f"{payload.name}/{payload.git.ref}"
    if not key.strip():
        notes.append(f"{what}: its key '{spec.key}' expands to nothing; not cached")
        return None
    policy = _POLICIES.get(resolved.expand(spec.policy).strip() or CachePolicy.PULL_PUSH.value)
    if policy is None:
        notes.append(f"{what}: unknown policy '{spec.policy}'; not cached")
        return None
    when = OUTCOMES.get(spec.when)
    if when is None:
        notes.append(f"{what}: unknown 'when: {spec.when}'; saved on success")
        when = When.ON_SUCCESS
    fallbacks = [resolved.expand(k).strip() for k in spec.fallback_keys]
    fallbacks.append(extra)
    return Cache(
        key=dir_key(key.strip()),
        paths=paths,
        policy=policy,
        when=when,
        fallback_keys=tuple(dict.fromkeys(dir_key(k) for k in fallbacks if k)),
        skipped=tuple(dict.fromkeys(outside)),
    )
