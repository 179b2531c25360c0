"""A ``.gitlab-ci.yml`` composed as GitLab composes it, before any keyword is interpreted.

The order is GitLab's (lib/gitlab/ci/config.rb, then its Root and Job entries):

1. ``include`` merges the included files underneath the main file (``include``);
2. ``extends`` merges every job onto its parents (``extends``);
3. ``!reference`` tags are replaced by what they name (``reference``), so they see
   ``extends`` results but not defaults;
4. each visible job takes what it does not set itself from ``default:`` (and the
   deprecated top-level ``image``, ``services``, ``before_script``, ``after_script``,
   ``cache``), as its ``inherit: default`` allows. A key set to null counts as
   not set, as in GitLab, and is dropped when no default fills it.

Nested lists in commands (``before_script``, ``script``, ``after_script``,
``hooks:pre_get_sources_script``), ``rules`` and ``stages`` are flattened, as GitLab
reads them, so a ``!reference`` written as a list item splices in.

The translator reads the result; nothing here checks what a keyword means
beyond what composing needs (the shape of ``include``, ``extends``, ``default``
and ``inherit: default``).
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass
from pathlib import Path

from runner.pipeline import yamlsrc
from runner.pipeline.bounds import check_jobs, check_pipeline_values, expanded_values
from runner.pipeline.fields import FieldReader
from runner.pipeline.gitlab.extends import apply_extends, did_you_mean
from runner.pipeline.gitlab.include import IncludeSettings, expand_includes
from runner.pipeline.gitlab.inputs import NO_VARIABLES, Given, load_with_inputs, skipped_note
from runner.pipeline.gitlab.keywords import DEFAULT_KEYS
from runner.pipeline.gitlab.merge import replace
from runner.pipeline.gitlab.reference import flatten, resolve_references
from runner.pipeline.yamlsrc import MAP_TAG, Entry, Map, Node, Scalar, Seq, describe, join_key

RESERVED = frozenset(
    {
        "after_script",
        "before_script",
        "cache",
        "default",
        "image",
        "include",
        "services",
        "spec",
        "stages",
        "types",
        "variables",
        "workflow",
    }
)
"""Top-level keys that are not jobs (GitLab's Root entries; ``pages`` is a job)."""

GLOBAL_DEFAULTS = ("image", "services", "before_script", "after_script", "cache")
"""Deprecated top-level keys that act as if written under ``default:``."""

_COMMANDS = ("before_script", "script", "after_script")


@dataclass(frozen=True)
class Composed:
    """A GitLab pipeline with includes, ``extends``, ``!reference`` and defaults applied."""

    source: yamlsrc.Source
    """The main file as loaded."""
    top: yamlsrc.Map
    """Every top-level key that is not a job (``stages``, ``variables``, ``default``...)."""
    jobs: tuple[tuple[str, yamlsrc.Map], ...]
    """Visible (not ``.hidden``) jobs in merged file order, fully composed."""
    notes: tuple[str, ...]
    """Things to tell the user that are not errors."""


def compose(
    path: Path, root: Path, settings: IncludeSettings | None = None, given: Given | None = None
) -> Composed:
    """Load ``path`` (in the project at ``root``) and compose it; PipelineError on a problem.

    ``settings`` give includes their variables, GitLab server and cache (none by default);
    ``given`` are the pipeline's inputs (``--input``) for a ``spec:inputs`` header of the file.
    """
    text = yamlsrc.read_text(path)
    expand_vars = settings.expand_vars if settings is not None else NO_VARIABLES
    source = load_with_inputs(text, str(path), given, expand_vars)
    reader = FieldReader(source)
    merged, include_notes = expand_includes(source, root, reader, settings)
    skipped = skipped_note(text, str(path))
    notes = (*source.warnings, *include_notes, *([skipped] if skipped else []))
    return compose_merged(source, reader, merged, notes)


def compose_merged(
    source: yamlsrc.Source, reader: FieldReader, merged: Map, include_notes: tuple[str, ...]
) -> Composed:
    """Steps 2 to 4 over a tree whose includes are merged (a child pipeline's starts here)."""
    notes = list(include_notes)
    names = {entry.key for entry in merged if entry.key not in RESERVED}
    resolved = resolve_references(apply_extends(merged, names, reader), reader)
    check_pipeline_values(source.file, expanded_values(resolved))
    check_jobs(source.file, sum(1 for name in names if not name.startswith(".")))
    top = _top(Map(tuple(e for e in resolved if e.key in RESERVED), resolved.pos), reader)
    defaults = _defaults(top, reader, notes)
    jobs = []
    for entry in resolved:
        if entry.key in RESERVED or entry.key.startswith("."):
            continue
        job = entry.value
        if not isinstance(job, Map) or job.tag != MAP_TAG:
            written = merged.get(entry.key)
            raise reader.fail(
                written.value.pos if written is not None else job.pos,
                entry.key,
                _not_a_job(entry.key, job),
            )
        jobs.append((entry.key, _job(entry.key, job, defaults, reader)))
    return Composed(source, top, tuple(jobs), tuple(notes))


def _not_a_job(name: str, value: Node) -> str:
    message = f"job '{name}' must be a mapping of job keywords, got {describe(value)}"
    close = difflib.get_close_matches(name, sorted(RESERVED), n=1)
    if close:
        message += f"; did you mean the top-level keyword '{close[0]}'?"
    return message


def _is_null(node: Node) -> bool:
    return isinstance(node, Scalar) and node.value is None


def _flatten_keys(mapping: Map, keys: tuple[str, ...], prefix: str, reader: FieldReader) -> Map:
    """``mapping`` with the lists at ``keys`` flattened (``prefix`` is its key path)."""
    for key in keys:
        entry = mapping.get(key)
        if entry is not None:
            flat = flatten(entry.value, join_key(prefix, key), reader)
            if flat is not entry.value:
                mapping = replace(mapping, key, flat)
    return mapping


def _flatten_hooks(mapping: Map, prefix: str, reader: FieldReader) -> Map:
    """``hooks: pre_get_sources_script`` is read as commands too."""
    hooks = mapping.get("hooks")
    if hooks is None or not isinstance(hooks.value, Map):
        return mapping
    key = join_key(prefix, "hooks")
    flat = _flatten_keys(hooks.value, ("pre_get_sources_script",), key, reader)
    return mapping if flat is hooks.value else replace(mapping, "hooks", flat)


def _top(top: Map, reader: FieldReader) -> Map:
    """The non-job keys with commands, ``stages`` and ``workflow: rules`` flattened."""
    top = _flatten_keys(top, ("before_script", "after_script", "stages", "types"), "", reader)
    default = top.get("default")
    if default is not None and isinstance(default.value, Map):
        flat = _flatten_keys(default.value, _COMMANDS, "default", reader)
        flat = _flatten_hooks(flat, "default", reader)
        if flat is not default.value:
            top = replace(top, "default", flat)
    workflow = top.get("workflow")
    if workflow is not None and isinstance(workflow.value, Map):
        flat = _flatten_keys(workflow.value, ("rules",), "workflow", reader)
        if flat is not workflow.value:
            top = replace(top, "workflow", flat)
    return top


def _defaults(top: Map, reader: FieldReader, notes: list[str]) -> dict[str, Entry]:
    """What jobs inherit, by key: ``default:`` entries and the deprecated top-level forms.

    GitLab rejects a key set both ways ("is defined in top-level and `default:`
    entry"), so that is an error here too; a null value counts as not set.
    """
    found: dict[str, Entry] = {}
    default = top.get("default")
    if default is not None and not _is_null(default.value):
        mapping = reader.expect_map(default.value, "default", "'default'")
        for entry in mapping:
            if entry.key in DEFAULT_KEYS and not _is_null(entry.value):
                found[entry.key] = entry
    for key in GLOBAL_DEFAULTS:
        glob = top.get(key)
        if glob is None or _is_null(glob.value):
            continue
        spot = reader.spot(glob.key_pos, key)
        other = found.get(key)
        if other is not None:
            where = reader.spot(other.key_pos, join_key("default", key))
            raise reader.fail(
                glob.key_pos,
                key,
                f"'{key}' is set both at the top level and in 'default' (at {where});"
                f" GitLab rejects that, so keep only 'default: {key}'",
            )
        found[key] = glob
        notes.append(
            f"{spot}: a top-level '{key}' is deprecated in GitLab; move it under 'default:'"
        )
    return found


def _inherits(name: str, job: Map, reader: FieldReader) -> frozenset[str]:
    """The default keys job ``name`` takes, from its ``inherit: default`` (all by default)."""
    everything = frozenset(DEFAULT_KEYS)
    inherit = job.get("inherit")
    if inherit is None or _is_null(inherit.value):
        return everything
    key = join_key(name, "inherit")
    mapping = reader.expect_map(inherit.value, key, f"'inherit' of job '{name}'")
    entry = mapping.get("default")
    if entry is None or _is_null(entry.value):
        return everything
    key = join_key(key, "default")
    value = entry.value
    if isinstance(value, Scalar) and isinstance(value.value, bool):
        return everything if value.value else frozenset()
    if not isinstance(value, Seq) or value.tag != yamlsrc.SEQ_TAG:
        raise reader.fail(
            value.pos,
            key,
            f"'inherit: default' of job '{name}' must be true, false or a list of default"
            f" keywords, got {describe(value)}",
        )
    chosen = set()
    for index, item in enumerate(value.items):
        item_key = yamlsrc.join_index(key, index)
        word = reader.expect_str(item, item_key, "each keyword of 'inherit: default'")
        if word not in DEFAULT_KEYS:
            hint = did_you_mean(word, DEFAULT_KEYS) or "; valid ones are " + ", ".join(
                f"'{k}'" for k in DEFAULT_KEYS
            )
            raise reader.fail(item.pos, item_key, f"'{word}' is not a keyword 'default' sets{hint}")
        chosen.add(word)
    return frozenset(chosen)


def _job(name: str, job: Map, defaults: dict[str, Entry], reader: FieldReader) -> Map:
    """Visible job ``name`` with defaults filled in, nulls dropped and lists flattened.

    A trigger job takes no defaults: GitLab's Bridge has none of the keywords
    ``default`` sets (no image, no script).
    """
    inherits = frozenset() if job.get("trigger") is not None else _inherits(name, job, reader)
    for key, default in defaults.items():
        own = job.get(key)
        if key not in inherits:
            continue
        if own is None:
            job = Map((*job.entries, default), job.pos, job.tag)
        elif _is_null(own.value):
            job = replace(job, key, default.value)
    if any(_is_null(entry.value) for entry in job):
        job = Map(tuple(e for e in job if not _is_null(e.value)), job.pos, job.tag)
    job = _flatten_keys(job, (*_COMMANDS, "rules"), name, reader)
    return _flatten_hooks(job, name, reader)
