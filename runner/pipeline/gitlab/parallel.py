"""``parallel``: one job definition becoming several jobs, named exactly as GitLab names them.

``parallel: N`` makes ``job 1/N`` ... ``job N/N``; ``parallel: matrix`` makes one
job per combination of each entry's values (the first variable varying
slowest), named ``job: [v1, v2]`` with the values in the order written, and
each instance gets its combination as job variables. Every instance gets
``CI_NODE_INDEX`` (1-based) and ``CI_NODE_TOTAL``.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass

from runner.pipeline import values, yamlsrc
from runner.pipeline.gitlab.reading import GitLabReader
from runner.pipeline.yamlsrc import Node, Scalar, Seq, join_index

MAX_PARALLEL = 200
PARALLEL_KEYS = ("matrix",)


@dataclass(frozen=True)
class Instance:
    """One job made from a definition; ``node`` is (CI_NODE_INDEX, CI_NODE_TOTAL) if parallel."""

    name: str
    node: tuple[int, int] | None = None
    matrix: tuple[tuple[str, str], ...] = ()


def single(job: str) -> tuple[Instance, ...]:
    """A job without ``parallel``."""
    return (Instance(job),)


def read_parallel(
    reader: GitLabReader, node: Node, key: str, what: str, *, job: str
) -> tuple[Instance, ...]:
    """The instances ``parallel`` makes of ``job``."""
    if isinstance(node, Scalar):
        total = reader.integer(node, key, f"{what} (or a mapping with 'matrix')", 1, MAX_PARALLEL)
        return tuple(Instance(f"{job} {i}/{total}", (i, total)) for i in range(1, total + 1))
    spec = reader.expect_map(node, key, f"{what} (a number or a mapping with 'matrix')")
    reader.check_keys(spec, PARALLEL_KEYS, key, f"in {what}")
    got = reader.child(spec, "matrix", key, what)
    if got is None:
        raise reader.fail(spec.pos, yamlsrc.join_key(key, "matrix"), f"{what} has no 'matrix'")
    combos = matrix_combinations(reader, *got)
    if len(combos) > MAX_PARALLEL:
        raise reader.fail(
            got[0].pos,
            got[1],
            f"{got[2]} makes {len(combos)} jobs; GitLab allows at most {MAX_PARALLEL}",
        )
    instances: list[Instance] = []
    seen: set[str] = set()
    for index, combo in enumerate(combos, start=1):
        name = f"{job}: [{', '.join(value for _, value in combo)}]"
        if name in seen:
            raise reader.fail(
                got[0].pos, got[1], f"{got[2]} makes the job '{name}' more than once"
            )
        seen.add(name)
        instances.append(Instance(name, (index, len(combos)), combo))
    return tuple(instances)


def matrix_combinations(
    reader: GitLabReader, node: Node, key: str, what: str
) -> list[tuple[tuple[str, str], ...]]:
    """Every combination a ``matrix`` list stands for, entry by entry, in order."""
    items = reader.expect_seq(node, key, what)
    if not items.items:
        raise reader.fail(node.pos, key, f"{what} is empty; add at least one mapping")
    combos: list[tuple[tuple[str, str], ...]] = []
    for index, item in enumerate(items.items):
        path = join_index(key, index)
        entry = reader.expect_map(item, path, f"an item of {what}")
        if not len(entry):
            raise reader.fail(entry.pos, path, f"an item of {what} is empty")
        axes: list[list[tuple[str, str]]] = []
        for var in entry:
            var_key = yamlsrc.join_key(path, var.key)
            values.check_var_name(reader, var, var_key, "matrix variable")
            axes.append([(var.key, value) for value in _values(reader, var.value, var_key)])
        combos.extend(tuple(combo) for combo in itertools.product(*axes))
    return combos


def _values(reader: GitLabReader, node: Node, key: str) -> list[str]:
    what = "a matrix value"
    if isinstance(node, Seq):
        if not node.items:
            raise reader.fail(node.pos, key, f"the list at '{key}' is empty; give it a value")
        return [reader.text(item, join_index(key, i), what) for i, item in enumerate(node.items)]
    return [reader.text(node, key, what)]
