"""GitLab's ``variables`` blocks, ``inherit``, and the values a job finally sees.

Values are kept raw (as written) until the very end, because GitLab
evaluates ``rules:if`` against raw values; ``final_values`` then expands
them with GitLab's two passes (``expand.expand_all``) in precedence order.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass

from runner.pipeline import values, yamlsrc
from runner.pipeline.gitlab.expand import expand_all
from runner.pipeline.gitlab.reading import GitLabReader
from runner.pipeline.yamlsrc import Map, Node, Scalar, Seq, describe, join_index

TOP_VARIABLE_KEYS = ("value", "description", "expand", "options")
JOB_VARIABLE_KEYS = ("value", "expand")
INHERIT_KEYS = ("default", "variables")


@dataclass(frozen=True)
class Var:
    """One definition: ``expand=False`` keeps the value raw (no ``$`` references resolved)."""

    name: str
    value: str
    expand: bool = True


def read_variables(
    reader: GitLabReader, node: Node, key: str, what: str, *, top: bool = False
) -> tuple[Var, ...]:
    """A ``variables`` mapping: plain values or ``{value, expand, ...}`` (``description``
    and ``options`` only at the top level, where they describe manual pipeline inputs)."""
    mapping = reader.expect_map(node, key, what)
    found: list[Var] = []
    for entry in mapping:
        path = yamlsrc.join_key(key, entry.key)
        values.check_var_name(reader, entry, path, "variable")
        name = f"variable '{entry.key}'"
        if not isinstance(entry.value, Map):
            found.append(Var(entry.key, reader.text(entry.value, path, name)))
            continue
        spec = entry.value
        allowed = TOP_VARIABLE_KEYS if top else JOB_VARIABLE_KEYS
        for word in () if top else ("description", "options"):
            if (misplaced := spec.get(word)) is not None:
                raise reader.fail(
                    misplaced.key_pos,
                    yamlsrc.join_key(path, word),
                    f"'{word}' of {name} is allowed only for top-level variables",
                )
        reader.check_keys(spec, allowed, path, f"in {name}")
        got = reader.child(spec, "value", path, name)
        value = "" if got is None else reader.text(*got)
        expand = True
        if (got := reader.child(spec, "expand", path, name)) is not None:
            expand = reader.expect_bool(*got)
        if (got := reader.child(spec, "options", path, name)) is not None:
            options = [text for text, _, _ in reader.strings(*got)]
            if value not in options:
                raise reader.fail(
                    spec.pos,
                    path,
                    f"the value of {name} ('{value}') must be one of its 'options'",
                )
        if (got := reader.child(spec, "description", path, name)) is not None:
            reader.expect_str(*got)
        found.append(Var(entry.key, value, expand))
    return tuple(found)


def read_inherit_part(
    reader: GitLabReader, node: Node, key: str, what: str
) -> frozenset[str] | None:
    """``inherit:default`` or ``inherit:variables``: true (None: all), false, or a name list."""
    if isinstance(node, Scalar) and isinstance(node.value, bool):
        return None if node.value else frozenset()
    if not isinstance(node, Seq):
        raise reader.fail(
            node.pos,
            key,
            f"{what} must be true, false or a list of names, got {describe(node)}",
        )
    return frozenset(
        reader.nonempty_str(item, join_index(key, i), f"an item of {what}")
        for i, item in enumerate(node.items)
    )


def read_inherit(
    reader: GitLabReader, body: Map, key: str, what: str
) -> tuple[frozenset[str] | None, frozenset[str] | None]:
    """``(default, variables)`` filters of a job's ``inherit``; None means inherit all."""
    got = reader.child(body, "inherit", key, what)
    if got is None:
        return None, None
    spec = reader.expect_map(*got)
    reader.check_keys(spec, INHERIT_KEYS, got[1], f"in {got[2]}")
    parts: list[frozenset[str] | None] = []
    for part in INHERIT_KEYS:
        sub = reader.child(spec, part, got[1], got[2])
        parts.append(None if sub is None else read_inherit_part(reader, *sub))
    return parts[0], parts[1]


def inherited(globals_: Sequence[Var], keep: frozenset[str] | None) -> tuple[Var, ...]:
    """The global variables a job keeps under ``inherit:variables``."""
    if keep is None:
        return tuple(globals_)
    return tuple(var for var in globals_ if var.name in keep)


def final_values(
    layers: Sequence[tuple[str, str, bool]], hidden: Collection[str]
) -> tuple[tuple[str, str], ...]:
    """Expanded ``(name, value)`` pairs from definitions given lowest precedence first.

    Order is each name's first definition; ``hidden`` names (secrets and file
    variables, whose values the executor supplies) are left out of the result.
    Raises ``expand.CircularReferenceError`` for variables referencing each other.
    """
    result = expand_all(layers)
    order: dict[str, None] = {}
    for name, _, _ in layers:
        if name not in hidden:
            order.setdefault(name, None)
    return tuple((name, result[name]) for name in order)
