"""``cache``: read once per job definition, keys and paths expanded per job instance.

``cache:key:files`` and ``key:files_commits`` are keyed as GitLab keys them
(see ``cachekey``), so runs of the same commit share a cache. A model cache key is a directory
name, so other characters become ``_`` and a short hash of the original key
is appended whenever anything was changed, keeping distinct keys distinct.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Mapping
from dataclasses import dataclass

from runner.pipeline import yamlsrc
from runner.pipeline.gitlab.artifacts import OUTCOME_WHENS, Located, project_paths
from runner.pipeline.gitlab.cachekey import DEFAULT_KEY, KeyDigests
from runner.pipeline.gitlab.expand import expand
from runner.pipeline.gitlab.reading import GitLabReader, Notes
from runner.pipeline.model import Cache, CachePolicy, When
from runner.pipeline.yamlsrc import Map, Node, join_index

CACHE_KEYS = ("key", "paths", "policy", "when", "fallback_keys", "untracked", "unprotect")
CACHE_KEY_KEYS = ("files", "files_commits", "prefix")
POLICIES = tuple(p.value for p in CachePolicy)
MAX_CACHES = 4
MAX_KEY_FILES = 2
MAX_FALLBACK_KEYS = 5
MAX_KEY_LENGTH = 100
_KEY_REJECT = re.compile(r"[^A-Za-z0-9._-]")


@dataclass(frozen=True)
class CacheSpec:
    """One ``cache`` entry as written; ``key`` is the raw key (or key-from-files) text."""

    key: str
    paths: tuple[Located, ...]
    policy: Located | None
    when: When
    fallback_keys: tuple[str, ...]


def read_caches(
    reader: GitLabReader,
    node: Node,
    key: str,
    what: str,
    *,
    notes: Notes,
    job: str,
    digests: KeyDigests,
) -> tuple[CacheSpec, ...]:
    """``cache``: one mapping or a list of up to four."""
    if isinstance(node, Map):
        return (_cache(reader, node, key, what, notes=notes, job=job, digests=digests),)
    items = reader.expect_seq(node, key, f"{what} (a mapping or a list of mappings)")
    if len(items.items) > MAX_CACHES:
        raise reader.fail(
            node.pos, key, f"{what} lists {len(items.items)} caches; GitLab allows {MAX_CACHES}"
        )
    return tuple(
        _cache(
            reader,
            reader.expect_map(item, join_index(key, i), f"an item of {what}"),
            join_index(key, i),
            f"an item of {what}",
            notes=notes,
            job=job,
            digests=digests,
        )
        for i, item in enumerate(items.items)
    )


def _cache(
    reader: GitLabReader,
    spec: Map,
    key: str,
    what: str,
    *,
    notes: Notes,
    job: str,
    digests: KeyDigests,
) -> CacheSpec:
    reader.check_keys(spec, CACHE_KEYS, key, f"in {what}")
    name = DEFAULT_KEY
    if (got := reader.child(spec, "key", key, what)) is not None:
        name = _cache_key(reader, *got, digests)
    paths: tuple[Located, ...] = ()
    if (got := reader.child(spec, "paths", key, what)) is not None:
        paths = tuple(reader.strings(*got))
    policy: Located | None = None
    if (got := reader.child(spec, "policy", key, what)) is not None:
        policy = (reader.nonempty_str(*got), got[0].pos, got[1])
    when = When.ON_SUCCESS
    if (got := reader.child(spec, "when", key, what)) is not None:
        when = When(reader.word(*got, OUTCOME_WHENS))
    fallback: tuple[str, ...] = ()
    if (got := reader.child(spec, "fallback_keys", key, what)) is not None:
        fallback = tuple(text for text, _, _ in reader.strings(*got))
        if len(fallback) > MAX_FALLBACK_KEYS:
            raise reader.fail(got[0].pos, got[1], f"{got[2]} allows {MAX_FALLBACK_KEYS} keys")
    got = reader.child(spec, "untracked", key, what)
    if got is not None and reader.expect_bool(*got):
        notes.ignored("cache:untracked", job)
    if (got := reader.child(spec, "unprotect", key, what)) is not None:
        reader.expect_bool(*got)
    return CacheSpec(name, paths, policy, when, fallback)


def _cache_key(
    reader: GitLabReader, node: Node, key: str, what: str, digests: KeyDigests
) -> str:
    """A key string, or ``{files | files_commits, prefix}``: ``prefix-digest`` (``cachekey``)."""
    if not isinstance(node, Map):
        return reader.text(node, key, what)
    reader.check_keys(node, CACHE_KEY_KEYS, key, f"in {what}")
    got = reader.child(node, "files", key, what)
    commits = reader.child(node, "files_commits", key, what)
    listed = got if got is not None else commits
    if listed is None or (got is not None and commits is not None):
        raise reader.fail(
            node.pos, yamlsrc.join_key(key, "files"),
            f"{what} must have one of 'files' and 'files_commits'"
            + (", not both" if listed is not None else ""),
        )
    files = reader.strings(*listed)
    if not 1 <= len(files) <= MAX_KEY_FILES:
        raise reader.fail(
            listed[0].pos, listed[1],
            f"{listed[2]} must list 1 or {MAX_KEY_FILES} files, not {len(files)}",
        )
    prefix = ""
    if (pre := reader.child(node, "prefix", key, what)) is not None:
        prefix = reader.text(*pre)
    names = tuple(text for text, _, _ in files)
    digest = digests.digest(names) if got is not None else digests.commits_digest(names)
    return f"{prefix}-{digest}" if prefix else digest


def dir_key(key: str) -> str:
    """``key`` as a safe directory name; changed keys get 8 hex of the original's SHA-256."""
    safe = _KEY_REJECT.sub("_", key) or DEFAULT_KEY
    if safe in (".", ".."):
        safe = safe.replace(".", "_")
    if len(safe) > MAX_KEY_LENGTH:
        safe = safe[:MAX_KEY_LENGTH]
    if safe != key:
        safe += "-" + hashlib.sha256(key.encode()).hexdigest()[:8]
    return safe


def caches_for(
    reader: GitLabReader,
    specs: tuple[CacheSpec, ...],
    variables: Mapping[str, str],
    project_dir: str,
) -> tuple[Cache, ...]:
    """The model's caches for one job instance; one without paths keeps nothing: left out.

    Paths outside the project go to ``skipped``: warned about when the cache is
    saved, as gitlab-runner's archiver does, so such a cache is kept for that.
    """
    caches: list[Cache] = []
    for spec in specs:
        outside: list[str] = []
        paths = project_paths(spec.paths, variables, project_dir, outside)
        if not paths and not outside:
            continue
        policy = CachePolicy.PULL_PUSH
        if spec.policy is not None:
            text, pos, key = spec.policy
            word = expand(text, variables)
            if word not in POLICIES:
                shown = f"'{word}'" + (f" (from '{text}')" if word != text else "")
                raise reader.fail(
                    pos, key, f"cache policy {shown} must be one of " + ", ".join(POLICIES)
                )
            policy = CachePolicy(word)
        caches.append(
            Cache(
                key=dir_key(expand(spec.key, variables) or DEFAULT_KEY),
                paths=paths,
                policy=policy,
                when=spec.when,
                fallback_keys=tuple(
                    dir_key(expand(k, variables) or DEFAULT_KEY) for k in spec.fallback_keys
                ),
                skipped=tuple(dict.fromkeys(outside)),
            )
        )
    return tuple(caches)
