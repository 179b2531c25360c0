"""Whole-pipeline bounds that one file's YAML limits cannot see (see ``yamllimits``).

Each included file is bounded on its own, but a pipeline may include 150 of
them; ``extends`` and ``!reference`` then repeat values much as aliases do.
The composed tree shares the nodes it repeats, so its expanded size is cheap
to count (once per distinct node) before anything walks it value by value.
"""

from __future__ import annotations

from runner.errors import PipelineError, SourceSpot
from runner.pipeline.yamllimits import MAX_JOBS, MAX_PIPELINE_VALUES, too_many_values
from runner.pipeline.yamlsrc import Map, Node, Pos, Seq


def expanded_values(root: Node) -> int:
    """Values in ``root`` counted the way ``BoundedComposer`` counts them (keys included)."""
    sizes: dict[int, int] = {}
    # Iterative post-order: the tree may repeat nodes, never contain itself.
    stack: list[tuple[Node, bool]] = [(root, False)]
    keep: list[Node] = []  # ids stay valid while their nodes are alive
    while stack:
        node, children_done = stack.pop()
        if id(node) in sizes:
            continue
        kids: tuple[Node, ...] = ()
        if isinstance(node, Map):
            kids = tuple(entry.value for entry in node.entries)
        elif isinstance(node, Seq):
            kids = node.items
        if children_done or not kids:
            keys = len(node.entries) if isinstance(node, Map) else 0
            sizes[id(node)] = 1 + keys + sum(sizes[id(kid)] for kid in kids)
            keep.append(node)
            continue
        stack.append((node, True))
        stack.extend((kid, False) for kid in kids if id(kid) not in sizes)
    return sizes[id(root)]


def check_pipeline_values(file: str, values: int, pos: Pos | None = None) -> None:
    """Refuse a pipeline (all its files, or its composed tree) over ``MAX_PIPELINE_VALUES``."""
    if values > MAX_PIPELINE_VALUES:
        spot = SourceSpot(pos.file or file, pos.line, pos.column) if pos else SourceSpot(file)
        raise PipelineError(spot, too_many_values(MAX_PIPELINE_VALUES, "the pipeline")
                            + "; it counts every included file and what 'extends' and"
                            " '!reference' repeat")


def check_jobs(file: str, count: int) -> None:
    """Refuse a pipeline of more than ``MAX_JOBS`` jobs (``parallel`` copies included)."""
    if count > MAX_JOBS:
        raise PipelineError(
            SourceSpot(file),
            f"the pipeline has {count:,} jobs (parallel copies included); runner runs at most"
            f" {MAX_JOBS:,} in one pipeline (GitLab.com allows 2,000)",
        )
