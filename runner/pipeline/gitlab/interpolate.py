"""``$[[ inputs.name | function ]]`` blocks replaced in a loaded body, as GitLab replaces them.

Checked against GitLab's lib/gitlab/ci/config/interpolation (Template, Config, Block,
Access, FunctionsStack, functions/{truncate,expand_vars,posix_escape,split}.rb):

* Interpolation walks the *parsed* tree, keys and values, never the text: only string
  scalars are looked at (a number or a ``!reference`` list is left alone), so YAML
  quoting in the file cannot be broken by a value, and every node keeps its line.
* A string that is exactly one block becomes the input's value itself, so an array,
  number or boolean input stays one; a block inside a longer string is replaced by the
  value as Ruby's ``to_s`` writes it (an array reads ``["a", "b"]``).
* A block is ``$[[`` data ``]]`` where data is at least two characters on one line:
  an access ``inputs.name`` (``matrix.*`` is left for ``parallel:matrix``), then at most
  three functions separated by ``|``, applied in order.
* The first bad block stops interpolation, as in GitLab; its message is GitLab's.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass

from runner.pipeline import yamlsrc
from runner.pipeline.gitlab.expand import expand
from runner.pipeline.yamlsrc import Entry, Map, Node, Pos, Scalar, Seq

__all__ = ["InterpolationError", "Variables", "interpolate", "ruby_to_s", "to_node"]

BLOCK = re.compile(r"\$\[\[\s*(\S.*?\S)\s*\]\]")
"""GitLab's BLOCK_REGEXP; ``.`` does not cross a line, as in RE2."""
MAX_BLOCKS = 10_000
MAX_FUNCTIONS = 3
MAX_ACCESS_OBJECTS = 5
MAX_ACCESS_BYTES = 1024
MAX_NODE_BYTES = 1024 * 1024

_TRUNCATE = re.compile(r"truncate\(\s*(\d+)\s*,\s*(\d+)\s*\)?")
"""GitLab's pattern, whose closing parenthesis is optional (``truncate(0,3`` works there)."""
_SPLIT = re.compile(r"split\('([^']*)'\)")


class InterpolationError(Exception):
    """A block GitLab refuses; ``pos`` and ``key`` say where the string holding it is."""

    def __init__(self, message: str, pos: Pos, key: str) -> None:
        super().__init__(message)
        self.message = message
        self.pos = pos
        self.key = key


@dataclass(frozen=True)
class Variables:
    """What ``expand_vars`` may read: the pipeline's variables, and which are masked.

    ``load`` is called only when a block uses ``expand_vars`` (reading git for the
    predefined variables costs a few processes), and at most once.
    """

    load: Callable[[], Mapping[str, str]]
    masked: frozenset[str] = frozenset()


def interpolate(body: Map, inputs: Mapping[str, object], variables: Variables) -> Map:
    """``body`` with every block replaced; raises `InterpolationError` at the first bad one."""
    result = _Template(inputs, variables).node(body, "")
    assert isinstance(result, Map)
    return result


class _Template:
    def __init__(self, inputs: Mapping[str, object], variables: Variables) -> None:
        self.context: dict[str, object] = {"inputs": dict(inputs)}
        self.variables = variables
        self.loaded: Mapping[str, str] | None = None
        self.blocks: dict[str, object] = {}

    def node(self, node: Node, key: str) -> Node:
        if node.tag not in (yamlsrc.MAP_TAG, yamlsrc.SEQ_TAG) and not isinstance(node, Scalar):
            return node  # a custom tag (!reference): GitLab's replace! leaves it untouched
        if isinstance(node, Map):
            entries: dict[str, Entry] = {}
            for entry in node:
                name = entry.key
                if "$[[" in name:
                    name = ruby_to_s(self.string(name, entry.key_pos, key))
                path = yamlsrc.join_key(key, name)
                entries[name] = Entry(name, entry.key_pos, self.node(entry.value, path))
            return Map(tuple(entries.values()), node.pos, node.tag)
        if isinstance(node, Seq):
            items = tuple(
                self.node(item, yamlsrc.join_index(key, i)) for i, item in enumerate(node.items)
            )
            return Seq(items, node.pos, node.tag)
        text = node.value
        if node.tag != yamlsrc.STR_TAG or not isinstance(text, str) or "$[[" not in text:
            return node
        return to_node(self.string(text, node.pos, key), node.pos)

    def string(self, text: str, pos: Pos, key: str) -> object:
        """The value of a string holding blocks: a block's own value, or the new string."""
        if len(text.encode()) > MAX_NODE_BYTES:
            raise InterpolationError("config node too large", pos, key)
        matches = list(BLOCK.finditer(text))
        if not matches:
            return text
        values = []
        for match in matches:
            block = match.group(0)
            if block not in self.blocks:
                self.blocks[block] = self.block(match.group(1), block, pos, key)
                if len(self.blocks) > MAX_BLOCKS:
                    raise InterpolationError("too many interpolation blocks", pos, key)
            values.append((block, self.blocks[block]))
        if len(matches) == 1 and len(matches[0].group(0)) == len(text):
            return values[0][1]
        for block, value in values:
            text = text.replace(block, ruby_to_s(value))
        return text

    def block(self, data: str, block: str, pos: Pos, key: str) -> object:
        parts = [part.strip() for part in _ruby_split(data, "|")]
        access, functions = parts[0], parts[1:]
        if access.split(".", 1)[0] == "matrix":
            return block  # left for parallel:matrix, as GitLab does
        objects = access.split(".", MAX_ACCESS_OBJECTS - 1)
        errors = []
        if len(objects) <= 1:
            errors.append("invalid interpolation access pattern")
        if len(access.encode()) > MAX_ACCESS_BYTES:
            errors.append("maximum interpolation expression size exceeded")
        if errors:
            raise InterpolationError(", ".join(errors), pos, key)
        value: object = self.context
        for name in objects:
            if not isinstance(value, dict) or name not in value:
                raise InterpolationError(f"unknown interpolation key: `{name}`", pos, key)
            value = value[name]
        if len(functions) > MAX_FUNCTIONS:
            raise InterpolationError("too many functions in interpolation block", pos, key)
        stack = [self.function(text, pos, key) for text in functions]
        for function in stack:
            value = function(value)
        return value

    def function(self, text: str, pos: Pos, key: str) -> Callable[[object], object]:
        """The function ``text`` names, checked before any is applied (as FunctionsStack)."""

        def strings_only(name: str, apply: Callable[[str], object]) -> Callable[[object], object]:
            def run(value: object) -> object:
                if not isinstance(value, str):
                    raise InterpolationError(
                        f"error in `{name}` function: invalid input type: {name} can only be"
                        " used with string inputs",
                        pos,
                        key,
                    )
                return apply(value)

            return run

        if (match := _TRUNCATE.fullmatch(text)) is not None:
            start, length = int(match.group(1)), int(match.group(2))
            return strings_only("truncate", lambda value: value[start : start + length])
        if text == "expand_vars":
            return strings_only("expand_vars", lambda value: self.expand_vars(value, pos, key))
        if text == "posix_escape":
            return strings_only("posix_escape", shell_escape)
        if (match := _SPLIT.fullmatch(text)) is not None:
            separator = match.group(1)

            def split(value: str) -> object:
                if not separator:
                    raise InterpolationError(
                        "error in `split` function: invalid argument: separator cannot be empty",
                        pos,
                        key,
                    )
                return [item.strip() for item in value.split(separator) if item.strip()]

            return strings_only("split", split)
        raise InterpolationError(
            f"no function matching `{text}`: check that the function name, arguments, and"
            " types are correct",
            pos,
            key,
        )

    def expand_vars(self, value: str, pos: Pos, key: str) -> str:
        """GitLab's ``expand_existing``: known ``$NAME``/``${NAME}`` replaced, others kept."""
        if self.loaded is None:
            self.loaded = self.variables.load()
        masked = [
            name for name in self.variables.masked if re.search(rf"\$\{{?{name}\b", value)
        ]
        if masked:
            raise InterpolationError(
                "error in `expand_vars` function: variable expansion error: masked variables"
                f" cannot be expanded (${masked[0]})",
                pos,
                key,
            )
        return expand(value, self.loaded, missing="keep", server=True)


def _ruby_split(text: str, separator: str) -> list[str]:
    """Ruby's ``String#split``: trailing empty fields are dropped."""
    parts = text.split(separator)
    while len(parts) > 1 and parts[-1] == "":
        parts.pop()
    return parts


_SHELL_SAFE = re.compile(r"[^A-Za-z0-9_\-.,:+/@\n]")


def shell_escape(text: str) -> str:
    """Ruby's ``Shellwords.shellescape``: a backslash before each unsafe character.

    Not ``shlex.quote``, which wraps the whole text in single quotes: GitLab's output differs.
    """
    if not text:
        return "''"
    return _SHELL_SAFE.sub(lambda m: "\\" + m.group(0), text).replace("\n", "'\n'")


def ruby_to_s(value: object) -> str:
    """``value.to_s`` in Ruby: what a block inside a longer string becomes."""
    if value is None:
        return ""
    if isinstance(value, list | dict):
        return _inspect(value)
    return _scalar_s(value)


def _scalar_s(value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        if value.is_integer() and abs(value) < 1e16:
            return f"{int(value)}.0"
        return repr(value)
    return str(value)


def _inspect(value: object) -> str:
    """Ruby's ``inspect`` (an array's ``to_s``); hash keys are symbols, as GitLab's are."""
    if value is None:
        return "nil"
    if isinstance(value, str):
        return '"' + value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n") + '"'
    if isinstance(value, list):
        return "[" + ", ".join(_inspect(item) for item in value) + "]"
    if isinstance(value, dict):
        return "{" + ", ".join(f":{k}=>{_inspect(v)}" for k, v in value.items()) + "}"
    return _scalar_s(value)


def to_node(value: object, pos: Pos) -> Node:
    """A Python value (an input's) as a tree node at ``pos``."""
    if isinstance(value, list):
        return Seq(tuple(to_node(item, pos) for item in value), pos)
    if isinstance(value, dict):
        return Map(tuple(Entry(str(k), pos, to_node(v, pos)) for k, v in value.items()), pos)
    if isinstance(value, str):
        return Scalar(value, value, pos, yamlsrc.STR_TAG)
    tag = {bool: "bool", int: "int", float: "float", type(None): "null"}.get(type(value), "str")
    text = "null" if value is None else _scalar_s(value)
    return Scalar(value, text, pos, yamlsrc.YAML_TAG + tag)

