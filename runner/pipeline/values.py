"""Dialect-neutral checks of common field values: images, variables, paths, durations, when.

Each function takes the ``FieldReader`` of the file being read, so its errors
point at the file, line, column and key like the reader's own.
"""

from __future__ import annotations

import difflib
import re

from runner.engine import imageref
from runner.pipeline import yamlsrc
from runner.pipeline.durations import parse_duration
from runner.pipeline.fields import FieldReader
from runner.pipeline.model import OUTPUT_REF, Limits, When
from runner.pipeline.sizes import parse_size
from runner.pipeline.yamlsrc import Entry, Node, Pos, Scalar, describe, join_index

VAR_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
WHEN_WORDS = (When.ON_SUCCESS.value, When.ON_FAILURE.value, When.ALWAYS.value)
"""The native format's words; manual and delayed jobs are a GitLab notion."""


def image(reader: FieldReader, node: Node, key: str, what: str, *,
          expands: bool = False) -> str:
    """An image reference, checked against the grammar here, not by podman mid-run.

    The whole value may instead be ``${{ jobs.NAME.image }}``: the image build
    job NAME made (the graph check makes sure NAME is a build job). With
    ``expands`` (a build's tags and cache refs) ``$VAR``s are expanded later:
    the text around them is checked here, the result again by the build.
    """
    text = reader.nonempty_str(node, key, what)
    if (found := OUTPUT_REF.search(text)) is not None:
        if found.group(0) != text.strip() or found.group(2) != "image":
            raise reader.fail(node.pos, key, f"{what} may use a build job's output only as the"
                              " whole value, written '${{ jobs.NAME.image }}'")
        return text.strip()
    shape = _VARIABLE.sub("x", text) if expands else text
    if imageref.why_not(shape) is not None:
        raise reader.fail(node.pos, key, f"{what}: {imageref.why_not(text)}")
    return text


_VARIABLE = re.compile(r"\$(?:\{[A-Za-z_][A-Za-z0-9_]*\}|[A-Za-z_][A-Za-z0-9_]*)")
"""A ``$VAR`` or ``${VAR}`` that a build expands before it uses the reference."""


def check_var_name(reader: FieldReader, entry: Entry, key: str, kind: str) -> None:
    """``entry``'s key must be usable as an environment variable; ``kind`` names what it is."""
    if not VAR_NAME.fullmatch(entry.key):
        raise reader.fail(
            entry.key_pos,
            key,
            f"{kind} name '{entry.key}' is not allowed; use letters, digits and '_',"
            " not starting with a digit",
        )


def variable_map(
    reader: FieldReader, node: Node, key: str, what: str
) -> tuple[dict[str, str], dict[str, tuple[Pos, str]]]:
    """Names to string values, plus where each name is written (for later clashes)."""
    mapping = reader.expect_map(node, key, what)
    values: dict[str, str] = {}
    where: dict[str, tuple[Pos, str]] = {}
    for entry in mapping:
        path = yamlsrc.join_key(key, entry.key)
        check_var_name(reader, entry, path, "variable")
        values[entry.key] = variable_value(reader, entry.value, path, entry.key)
        where[entry.key] = (entry.key_pos, path)
    return values, where


def variable_value(reader: FieldReader, node: Node, key: str, name: str) -> str:
    """Scalars become the string the user wrote; booleans become "true"/"false"."""
    if not isinstance(node, Scalar) or node.value is None:
        raise reader.fail(
            node.pos,
            key,
            f"variable '{name}' must be a string, number or boolean, got {describe(node)}"
            + ("; write '' for an empty value" if isinstance(node, Scalar) else ""),
        )
    if isinstance(node.value, bool):
        return "true" if node.value else "false"
    if isinstance(node.value, str):
        return node.value
    return node.text


def rel_path(reader: FieldReader, node: Node, key: str, what: str) -> str:
    """A path that stays inside the project directory (globs allowed)."""
    path = reader.expect_str(node, key, what)
    if not path.strip():
        raise reader.fail(node.pos, key, f"{what} must not be empty")
    if "\0" in path:
        raise reader.fail(node.pos, key, f"{what} contains a NUL character")
    if path.startswith("/"):
        raise reader.fail(
            node.pos,
            key,
            f"{what} must be relative to the project directory, got '{path}'",
        )
    if ".." in path.split("/"):
        raise reader.fail(
            node.pos,
            key,
            f"{what} must not contain a '..' component (it would leave the project"
            f" directory), got '{path}'",
        )
    return path


def path_list(reader: FieldReader, node: Node, key: str, what: str) -> tuple[str, ...]:
    """A non-empty list of project-relative paths."""
    items = reader.expect_seq(node, key, what)
    if not items.items:
        raise reader.fail(node.pos, key, f"{what} is empty; list at least one path")
    return tuple(
        rel_path(reader, item, join_index(key, i), f"a path in {what}")
        for i, item in enumerate(items.items)
    )


def positive_duration(reader: FieldReader, node: Node, key: str, what: str) -> float:
    """A positive duration in seconds (a zero timeout would kill the job at once)."""
    value = node.value if isinstance(node, Scalar) else None
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        raise reader.fail(
            node.pos,
            key,
            f"{what} must be a duration like '10m' or a number of seconds, got {describe(node)}",
        )
    try:
        seconds = parse_duration(value)
    except ValueError as exc:
        raise reader.fail(node.pos, key, f"{what}: {exc}") from None
    if seconds <= 0:
        raise reader.fail(node.pos, key, f"{what} must be longer than zero")
    return seconds


def when(reader: FieldReader, node: Node, key: str, what: str) -> When:
    """A ``when`` word; GitLab's manual/delayed/never have no meaning here."""
    word = reader.expect_str(node, key, what)
    if word not in WHEN_WORDS:
        close = difflib.get_close_matches(word, WHEN_WORDS, n=1)
        hint = f"did you mean '{close[0]}'?" if close else "use " + ", ".join(WHEN_WORDS)
        raise reader.fail(node.pos, key, f"{what} cannot be '{word}'; {hint}")
    return When(word)


LIMIT_KEYS = ("memory", "pids", "cpus", "disk")


def limits(reader: FieldReader, node: Node, key: str, what: str) -> Limits:
    """``{memory, pids, cpus, disk}``: sizes like ``512m``, a process count, a CPU share."""
    spec = reader.expect_map(node, key, what)
    reader.check_keys(spec, LIMIT_KEYS, key, f"in {what}")
    found: dict[str, int | float] = {}
    for entry in spec:
        path = yamlsrc.join_key(key, entry.key)
        value = entry.value.value if isinstance(entry.value, Scalar) else None
        try:
            if entry.key in ("memory", "disk"):
                if not isinstance(value, int | str):
                    raise ValueError(f"expected a size like '512m', got {describe(entry.value)}")
                found[entry.key] = parse_size(value)
            elif entry.key == "pids":
                if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                    raise ValueError(f"expected a whole number of processes, got"
                                     f" {describe(entry.value)}")
                found[entry.key] = value
            else:
                if isinstance(value, bool) or not isinstance(value, int | float) or value <= 0:
                    raise ValueError(f"expected a number of CPUs like 1 or 0.5, got"
                                     f" {describe(entry.value)}")
                found[entry.key] = float(value)
        except ValueError as exc:
            raise reader.fail(entry.value.pos, path, f"'{entry.key}' of {what}: {exc}") from None
    return Limits(
        memory=None if "memory" not in found else int(found["memory"]),
        pids=None if "pids" not in found else int(found["pids"]),
        cpus=None if "cpus" not in found else float(found["cpus"]),
        disk=None if "disk" not in found else int(found["disk"]),
    )
