"""``strategy.matrix``: GitHub's expansion into job instances, and their display names.

Exactly GitHub's workflow parser (its ``MatrixBuilder``): the cartesian product
of the vectors in key order (the first key varies slowest); an ``exclude``
entry drops each combination all of whose written leaves equal it (a partial
match, compared with the expression language's loose ``==``: strings
case-insensitively); an ``include`` entry's keys that are vectors filter, its
other keys are extra values added to every combination the filter matches
(later includes overwriting earlier extras, never a vector's value); an
include that matches nothing becomes a combination of its own, after the
product. At most 256 instances.

A display name is the job's name, then the values of the combination's own
vectors (nested leaves too, extras not) in order: ``test (3.11, ubuntu)``,
cut to 100 characters as GitHub does.

Matrix values may be ``${{ }}`` expressions over ``github``, ``inputs`` and
``vars``; one that reads ``needs`` would make the jobs known only at run time,
which ``--list`` and job selection cannot show, so it is refused.
"""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass

from runner.pipeline import yamlsrc
from runner.pipeline.github import exprs
from runner.pipeline.github.reading import WorkflowReader, number_text, value
from runner.pipeline.github.stepspec import Json
from runner.pipeline.yamlsrc import Map, Node, Pos, Scalar, Seq

MAX_JOBS = 256
MAX_NAME = 100


@dataclass(frozen=True)
class Instance:
    """One combination: the ``matrix`` context and the segments of its display name."""

    matrix: dict[str, Json]
    segments: tuple[str, ...]


@dataclass(frozen=True)
class Strategy:
    """A job's strategy: its instances (one, with an empty matrix, without a matrix)."""

    instances: tuple[Instance, ...]
    fail_fast: bool = True
    max_parallel: int | None = None
    matrix: bool = False


def display_name(base: str, segments: tuple[str, ...]) -> str:
    """``base (a, b)`` cut to GitHub's 100 characters."""
    name = f"{base} ({', '.join(segments)})" if segments else base
    return name if len(name) <= MAX_NAME else name[:MAX_NAME - 3] + "..."


def read_strategy(reader: WorkflowReader, node: Node, key: str,
                  contexts: dict[str, Json]) -> Strategy:
    """The strategy at ``key``; problems recorded on ``reader`` (then one plain instance)."""
    plain = Strategy((Instance({}, ()),))
    mapping = reader.mapping(node, key, f"'{key}'")
    if mapping is None:
        return plain
    reader.keys(mapping, ("matrix", "fail-fast", "max-parallel"), key, f"in '{key}'")
    fail_fast = _setting(reader, mapping, "fail-fast", key, contexts)
    parallel = _setting(reader, mapping, "max-parallel", key, contexts)
    max_parallel: int | None = None
    if isinstance(parallel, float) and parallel >= 1 and parallel == int(parallel):
        max_parallel = int(parallel)
    elif parallel is not None:
        reader.problem(mapping.get("max-parallel").value.pos,  # type: ignore[union-attr]
                       f"{key}.max-parallel", "'max-parallel' must be a whole number >= 1")
    if fail_fast is not None and not isinstance(fail_fast, bool):
        reader.problem(mapping.get("fail-fast").value.pos,  # type: ignore[union-attr]
                       f"{key}.fail-fast", "'fail-fast' must be true or false")
    found = mapping.get("matrix")
    if found is None:
        return Strategy(plain.instances, fail_fast is not False, max_parallel)
    at = f"{key}.matrix"
    raw = _resolve(reader, found.value, at, contexts)
    if not isinstance(raw, dict):
        if raw is not _FAILED:
            reader.problem(found.value.pos, at, "'matrix' must be a mapping of vectors")
        return Strategy(plain.instances, fail_fast is not False, max_parallel)
    instances = expand(reader, raw, found.value.pos, at, found.value)
    return Strategy(instances or plain.instances, fail_fast is not False, max_parallel, True)


_FAILED: Json = {"__runner_failed__": True}


def _setting(reader: WorkflowReader, mapping: Map, name: str, key: str,
             contexts: dict[str, Json]) -> Json:
    found = mapping.get(name)
    if found is None:
        return None
    got = _resolve(reader, found.value, f"{key}.{name}", contexts)
    if isinstance(got, str) and got.lower() in ("true", "false"):
        return got.lower() == "true"
    if isinstance(got, str):
        try:
            return float(got)
        except ValueError:
            return got
    return None if got is _FAILED else got


def _resolve(  # noqa: PLR0911 - each kind of node and each failure returns at once
        reader: WorkflowReader, node: Node, key: str, contexts: dict[str, Json]) -> Json:
    """``node`` as JSON with every ``${{ }}`` string evaluated (``_FAILED`` on a problem)."""
    if isinstance(node, Map):
        return {entry.key: _resolve(reader, entry.value, yamlsrc.join_key(key, entry.key),
                                    contexts) for entry in node}
    if isinstance(node, Seq):
        return [_resolve(reader, item, yamlsrc.join_index(key, i), contexts)
                for i, item in enumerate(node.items)]
    got = value(node)
    if not (isinstance(got, str) and "${{" in got):
        return got
    template = exprs.check(reader, got, node.pos, key, exprs.JOB + "strategy")
    if template is None:
        return _FAILED
    if any("needs" in expr.contexts() for expr in template.expressions):
        reader.problem(node.pos, key, f"'{key}' depends on 'needs': runner expands a matrix "
                       "when it reads the file (for --list and job selection), so a matrix "
                       "made from another job's outputs cannot run here")
        return _FAILED
    try:
        return exprs.evaluate(template, contexts)
    except Exception as exc:
        reader.problem(node.pos, key, f"cannot evaluate '{got}': {getattr(exc, 'message', exc)}")
        return _FAILED


def expand(reader: WorkflowReader, raw: dict[str, Json], pos: Pos, key: str,
           node: Node | None = None) -> tuple[Instance, ...]:
    """The instances of matrix ``raw`` (already evaluated), or () after recording a problem.

    ``node`` is the matrix as written, when it is, to point problems at their keys."""
    parts = _parts(reader, raw, pos, key, node)
    if parts is None:
        return ()
    vectors, include, exclude = parts
    size = math.prod(len(v) for v in vectors.values()) if vectors else 0
    if size > MAX_JOBS * 16:  # don't build a huge product only to refuse it
        reader.problem(pos, key, f"the matrix makes {size} jobs; GitHub allows at most "
                       f"{MAX_JOBS}")
        return ()
    found = _combine(vectors, include, exclude)
    if len(found) > MAX_JOBS:
        reader.problem(pos, key, f"the matrix makes {len(found)} jobs; GitHub allows at most "
                       f"{MAX_JOBS}")
        return ()
    if not found:
        reader.problem(pos, key, "the matrix makes no job (every combination is excluded)")
    return tuple(found)


_Parts = tuple[dict[str, list[Json]], list[dict[str, Json]], list[dict[str, Json]]]


def _parts(reader: WorkflowReader, raw: dict[str, Json], pos: Pos, key: str,
           node: Node | None) -> _Parts | None:
    """(vectors, include, exclude) of a matrix, each checked; None after a problem."""
    vectors: dict[str, list[Json]] = {}
    lists: dict[str, list[dict[str, Json]]] = {"include": [], "exclude": []}
    problem: tuple[tuple[str | int, ...], str] | None = None
    for name, got in raw.items():
        if got is _FAILED:
            return None
        if name in lists:
            if not isinstance(got, list) or not all(isinstance(i, dict) for i in got):
                problem = (name,), f"'{name}' must be a list of mappings"
                break
            lists[name] = [i for i in got if isinstance(i, dict)]
        elif not isinstance(got, list):
            problem = (name,), f"matrix vector '{name}' must be a list"
            break
        elif not got:
            problem = (name,), f"matrix vector '{name}' has no values"
            break
        else:
            vectors[name] = got
    if problem is None and not vectors and not lists["include"]:
        problem = (), "the matrix defines no vector and no 'include'"
    for index, entry in enumerate(lists["exclude"] if problem is None else ()):
        if missing := [name for name in entry if name not in vectors]:
            problem = (("exclude", index, missing[0]),
                       f"exclude key '{missing[0]}' does not match any key of the matrix")
            break
    if problem is not None:
        at, where = _locate(node, problem[0], pos, key)
        reader.problem(at, where, problem[1])
        return None
    return vectors, lists["include"], lists["exclude"]


def _locate(node: Node | None, path: tuple[str | int, ...], pos: Pos, key: str
            ) -> tuple[Pos, str]:
    """Where ``path`` (keys and list indexes) is written under the matrix ``node``, and its
    key path; as deep as the written matrix goes (a value made by an expression is not)."""
    for step in path:
        if isinstance(node, Map) and isinstance(step, str) and (entry := node.get(step)):
            pos, node, key = entry.key_pos, entry.value, yamlsrc.join_key(key, step)
        elif isinstance(node, Seq) and isinstance(step, int) and step < len(node.items):
            node, key = node.items[step], yamlsrc.join_index(key, step)
            pos = node.pos
        else:
            break
    return pos, key


def _combine(vectors: dict[str, list[Json]], include: list[dict[str, Json]],
             exclude: list[dict[str, Json]]) -> list[Instance]:
    """GitHub's product, exclusion, then inclusion (see the module's docstring)."""
    filters = [({k: v for k, v in i.items() if k in vectors},
                {k: v for k, v in i.items() if k not in vectors}) for i in include]
    matched = [False] * len(filters)
    found: list[Instance] = []
    for combo in itertools.product(*vectors.values()) if vectors else ():
        matrix = dict(zip(vectors, combo, strict=True))
        if any(_matches(entry, matrix) for entry in exclude):
            continue
        segments = tuple(_segments(matrix))
        for index, (wanted, extra) in enumerate(filters):
            if _matches(wanted, matrix):
                matched[index] = True
                matrix.update(extra)
        found.append(Instance(matrix, segments))
    for index, (wanted, extra) in enumerate(filters):
        if not matched[index]:
            matrix = {**wanted, **extra}
            found.append(Instance(matrix, tuple(_segments(matrix))))
    return found


def _segments(data: Json) -> list[str]:
    """Leaf values in order, as strings, empty ones left out (GitHub's name segments)."""
    if isinstance(data, dict):
        return [s for v in data.values() for s in _segments(v)]
    if isinstance(data, list):
        return [s for v in data for s in _segments(v)]
    if isinstance(data, bool):
        return ["true" if data else "false"]
    if isinstance(data, float | int):
        return [number_text(float(data))]
    return [data] if isinstance(data, str) and data else []


def _matches(wanted: Json, have: Json) -> bool:
    """Whether every leaf written in ``wanted`` equals the value at its path in ``have``."""
    if isinstance(wanted, dict):
        return all(_matches(v, _member(have, k)) for k, v in wanted.items())
    if isinstance(wanted, list):
        return all(_matches(v, have[i] if isinstance(have, list) and i < len(have) else None)
                   for i, v in enumerate(wanted))
    return loose_equal(wanted, have)


def _member(data: Json, name: str) -> Json:
    if isinstance(data, dict):
        for key, got in data.items():
            if key.lower() == name.lower():
                return got
    return None


def loose_equal(left: Json, right: Json) -> bool:
    """The expression language's ``==`` on scalars: strings ignore case, mixed types compare
    as numbers; objects and arrays only equal themselves."""
    if isinstance(left, dict | list) or isinstance(right, dict | list):
        return left is right
    if type(left) is type(right) or (isinstance(left, int | float) and not isinstance(
            left, bool) and isinstance(right, int | float) and not isinstance(right, bool)):
        if isinstance(left, str) and isinstance(right, str):
            return left.upper() == right.upper()
        return left == right
    return _number(left) == _number(right)


def _number(data: Json) -> float:
    if data is None:
        return 0.0
    if isinstance(data, bool):
        return 1.0 if data else 0.0
    if isinstance(data, int | float):
        return float(data)
    text = str(data).strip()
    if not text:
        return 0.0
    try:
        return float(int(text, 0)) if text.lower().startswith(("0x", "0o")) else float(text)
    except ValueError:
        return math.nan


__all__ = ["MAX_JOBS", "Instance", "Scalar", "Strategy", "display_name", "expand",
           "loose_equal", "read_strategy"]
