"""A variables file: what GitLab keeps in project settings, kept beside the project locally.

Each top-level key is a variable. A plain value is an ordinary variable; a
mapping gives ``value`` plus GitLab's per-variable flags::

    DEPLOY_ENV: staging
    API_TOKEN: {value: "s3cr3t-token", masked: true}
    KUBECONFIG: {value: "apiVersion: v1 ...", file: true}
    PROD_KEY: {value: "...", masked: true, protected: true}

``masked`` values become secrets (masked in every output, never in argv or
the model's repr); ``file`` gives jobs a path to a file holding the value;
``protected`` ones reach only pipelines of protected refs (the caller decides
which refs count; locally, the default branch and tags).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from runner.pipeline import yamlsrc
from runner.pipeline.fields import FieldReader
from runner.pipeline.yamlsrc import Entry, Map, Scalar

FLAGS = ("value", "masked", "file", "protected", "description", "expand")
_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


@dataclass(frozen=True)
class FileVariable:
    """One variable of the file with its flags."""

    name: str
    value: str
    masked: bool = False
    as_file: bool = False
    protected: bool = False


def load_variables_file(path: Path) -> tuple[FileVariable, ...]:
    """Every variable in ``path``, in file order; PipelineError at the spot of any mistake."""
    source = yamlsrc.load_file(path)
    reader = FieldReader(source)
    return tuple(_variable(reader, entry) for entry in source.root)


def _variable(reader: FieldReader, entry: Entry) -> FileVariable:
    name = entry.key
    if not _NAME.fullmatch(name):
        raise reader.fail(entry.key_pos, name, f"'{name}' is not a valid variable name (letters, "
                          "digits and '_', not starting with a digit)")
    node = entry.value
    if not isinstance(node, Map):
        return FileVariable(name, _text(reader, node, name))
    reader.check_keys(node, FLAGS, name, f"of variable '{name}'")
    value = node.get("value")
    if value is None:
        raise reader.fail(node.pos, name, f"variable '{name}' needs a 'value'")
    flags = {key: _flag(reader, node, name, key) for key in ("masked", "file", "protected")}
    return FileVariable(name, _text(reader, value.value, f"{name}.value"),
                        masked=flags["masked"], as_file=flags["file"],
                        protected=flags["protected"])


def _text(reader: FieldReader, node: yamlsrc.Node, key: str) -> str:
    """Strings as written; numbers and booleans as the file spells them (GitLab keeps text)."""
    if isinstance(node, Scalar) and node.value is not None and not isinstance(node.value, bytes):
        return node.value if isinstance(node.value, str) else node.text
    raise reader.fail(node.pos, key, f"the value of '{key}' must be a string, number or "
                      f"boolean, got {yamlsrc.describe(node)}")


def _flag(reader: FieldReader, node: Map, name: str, key: str) -> bool:
    entry = node.get(key)
    if entry is None:
        return False
    return reader.expect_bool(entry.value, f"{name}.{key}", f"'{key}' of variable '{name}'")
