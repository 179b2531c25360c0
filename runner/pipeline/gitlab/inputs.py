"""``spec:inputs`` headers: reading a file with the inputs given to it, as GitLab reads it.

Checked against GitLab's lib/gitlab/ci/config/interpolation/interpolator.rb,
inputs.rb and inputs/{base,string,number,boolean,array}_input.rb, and the header
entries lib/gitlab/ci/config/header/{root,spec,input}.rb and entry/base_input.rb:

* A file of two documents has a header, ``spec:`` only, whose ``inputs`` declare
  each input: ``type`` (``string`` when absent, ``number``, ``boolean``, ``array``),
  ``default`` (without one the input is required), ``options`` (at most 50, string
  and number inputs only), ``regex`` (RE2, unanchored, string inputs only) and
  ``description``. ``$[[ inputs.name ]]`` in the body is then replaced (``interpolate``).
* Inputs given to a file that has no header, or not declared by it, are errors
  (GitLab: "unknown input arguments"); so is a value or default of the wrong type, not
  in ``options`` or not matching ``regex``. A file without a header is read as it is:
  a ``$[[ ... ]]`` in it stays text.

Every problem is reported with file, line and key: the value given (an include's
``inputs:``), or the declaration for ``--input`` and defaults.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Mapping
from dataclasses import dataclass, field

import yaml

from runner.errors import PipelineError, SourceSpot, raise_all
from runner.pipeline import yamlsrc
from runner.pipeline.gitlab import source as gitlab_source
from runner.pipeline.gitlab.documents import Document, split_documents
from runner.pipeline.gitlab.interpolate import InterpolationError, Variables, interpolate
from runner.pipeline.gitlab.re2 import RegexError, compile_re2
from runner.pipeline.yamlsrc import Map, Node, Pos, Scalar, Seq, describe, join_key

__all__ = ["Given", "Variables", "given_from_cli", "given_from_node", "load_with_inputs"]

TYPES = ("array", "boolean", "number", "string")
INPUT_KEYS = ("default", "description", "options", "regex", "type")
MAX_OPTIONS = 50
_NUMBER = re.compile(r"[-+]?(\d+(\.\d*)?|\.\d+)([eE][-+]?\d+)?")
NO_VARIABLES = Variables(dict)


@dataclass(frozen=True)
class Given:
    """Input values given to a file: an include's ``inputs:`` or ``--input`` on the command line.

    ``values`` maps each name to its value and where it was written (``None`` for
    the command line, whose values are text typed by the declaration, as GitLab
    types pipeline inputs).
    """

    values: Mapping[str, tuple[object, SourceSpot | None]]
    spot: SourceSpot | None = None
    """Where ``inputs:`` is written; None for the command line."""
    from_cli: bool = field(default=False)


def given_from_node(node: Node, key: str, file: str) -> Given:
    """The ``inputs:`` mapping of an include (``key`` is its key path, in ``file``)."""
    spot = SourceSpot(node.pos.file or file, node.pos.line, node.pos.column, key)
    if not isinstance(node, Map) or node.tag != yamlsrc.MAP_TAG:
        raise PipelineError(spot, f"'inputs' of an include must be a mapping of input names"
                            f" to values, got {describe(node)}")
    values = {}
    for entry in node:
        where = SourceSpot(entry.key_pos.file or file, entry.key_pos.line, entry.key_pos.column,
                           join_key(key, entry.key))
        values[entry.key] = (_python(entry.value), where)
    return Given(values, spot)


def given_from_cli(pairs: Mapping[str, str]) -> Given:
    """``--input NAME=VALUE`` pairs; each value is typed by the input's declared type."""
    return Given({name: (value, None) for name, value in pairs.items()}, None, from_cli=True)


def _python(node: Node) -> object:
    if isinstance(node, Map):
        return {entry.key: _python(entry.value) for entry in node}
    if isinstance(node, Seq):
        return [_python(item) for item in node.items]
    return node.value


def load_with_inputs(
    text: str, label: str, given: Given | None = None, variables: Variables = NO_VARIABLES
) -> yamlsrc.Source:
    """The body of GitLab CI ``text`` (named ``label``), interpolated with ``given``.

    ``variables`` are what ``expand_vars`` may read (the pipeline's, not the file's).
    Raises PipelineError, naming file, line and key, for everything GitLab refuses.
    """
    docs = split_documents(text)
    if docs.body is None:
        return gitlab_source.load_text(text, label)  # its "the file is empty" error
    body = _load(docs.body, text, label)
    _no_spec_in_body(body, label, docs.header is not None)
    if docs.header is None:
        if given is not None and given.values:
            raise PipelineError(
                given.spot or SourceSpot(label, 1, 1),
                f"inputs are given ({', '.join(given.values)}), but {label} has no"
                " 'spec:inputs' header to declare them (GitLab: unknown input arguments);"
                " a header is a first YAML document 'spec: {inputs: ...}' ended by '---'",
            )
        return body
    header = _load(docs.header, text, label)
    specs = _read_header(header.root, label)
    values = _values(specs, given or Given({}), label)
    try:
        root = interpolate(body.root, values, variables)
    except InterpolationError as exc:
        raise PipelineError(
            SourceSpot(exc.pos.file or label, exc.pos.line, exc.pos.column, exc.key or None),
            f"cannot interpolate: {exc.message}",
        ) from None
    return yamlsrc.Source(label, text, root, header.values + body.values,
                          header.warnings + body.warnings)


def skipped_note(text: str, label: str) -> str | None:
    """A note naming documents GitLab would read past, or None (for ``--list`` notes)."""
    skipped = split_documents(text).skipped
    if not skipped:
        return None
    lines = ", ".join(str(line) for line in skipped)
    return (f"{label}: YAML documents starting on line {lines} are not read; GitLab reads a"
            " header and one pipeline document")


def _load(doc: Document, text: str, label: str) -> yamlsrc.Source:
    loaded = gitlab_source.load_text(doc.text, label)
    return yamlsrc.Source(label, text, loaded.root, loaded.values, loaded.warnings)


def _no_spec_in_body(body: yamlsrc.Source, label: str, has_header: bool) -> None:
    entry = body.root.get("spec")
    if entry is None:
        return
    why = ("the file's header is its first document" if has_header else
           "it must be a header document of its own: 'spec:' first, then a line '---', then"
           " the pipeline")
    raise PipelineError(
        SourceSpot(entry.key_pos.file or label, entry.key_pos.line, entry.key_pos.column, "spec"),
        f"'spec' cannot be part of the pipeline; {why}",
    )


@dataclass(frozen=True)
class _Spec:
    name: str
    type: str
    pos: Pos
    key: str
    default: tuple[object, Pos] | None = None
    options: tuple[object, ...] | None = None
    regex: str | None = None


def _fail(pos: Pos, label: str, key: str, message: str) -> PipelineError:
    return PipelineError(SourceSpot(pos.file or label, pos.line, pos.column, key), message)


def _read_header(root: Map, label: str) -> dict[str, _Spec]:
    """The declared inputs; the header may hold only ``spec`` and ``spec`` only ``inputs``."""
    for entry in root:
        if entry.key != "spec":
            raise _fail(entry.key_pos, label, entry.key,
                        f"unknown key '{entry.key}' in the header: this file has two YAML"
                        " documents, and GitLab reads the first as a header holding only"
                        " 'spec' (remove the '---' line if both are pipeline)")
    spec = root.get("spec")
    if spec is None:
        return {}
    if not isinstance(spec.value, Map):
        raise _fail(spec.value.pos, label, "spec",
                    f"'spec' must be a mapping with 'inputs', got {describe(spec.value)}")
    for entry in spec.value:
        if entry.key not in ("inputs", "component"):
            raise _fail(entry.key_pos, label, join_key("spec", entry.key),
                        f"unknown key '{entry.key}' in 'spec'; runner reads 'spec:inputs'")
    inputs = spec.value.get("inputs")
    if inputs is None or (isinstance(inputs.value, Scalar) and inputs.value.value is None):
        return {}
    if not isinstance(inputs.value, Map):
        raise _fail(inputs.value.pos, label, "spec.inputs",
                    f"'spec:inputs' must be a mapping of input names, got"
                    f" {describe(inputs.value)}")
    errors: list[PipelineError] = []
    specs = {}
    for entry in inputs.value:
        try:
            specs[entry.key] = _read_input(entry.key, entry.value, entry.key_pos, label)
        except PipelineError as exc:
            errors.append(exc)
    raise_all(errors)
    return specs


def _read_input(name: str, node: Node, pos: Pos, label: str) -> _Spec:
    key = join_key("spec.inputs", name)
    if isinstance(node, Scalar) and node.value is None:
        return _Spec(name, "string", pos, key)
    if not isinstance(node, Map):
        raise _fail(node.pos, label, key, f"input '{name}' must be a mapping with 'type',"
                    f" 'default' and the like, or empty; got {describe(node)}")
    for entry in node:
        if entry.key == "rules":
            raise _fail(entry.key_pos, label, join_key(key, "rules"),
                        "input 'rules' are not supported yet; give the input a 'default'")
        if entry.key not in INPUT_KEYS:
            close = difflib.get_close_matches(entry.key, INPUT_KEYS, n=1)
            hint = f"; did you mean '{close[0]}'?" if close else ""
            raise _fail(entry.key_pos, label, join_key(key, entry.key),
                        f"unknown key '{entry.key}' in input '{name}'{hint}")

    def scalar_str(field_name: str) -> str | None:
        found = node.get(field_name)
        if found is None or (isinstance(found.value, Scalar) and found.value.value is None):
            return None
        if not isinstance(found.value, Scalar) or not isinstance(found.value.value, str):
            raise _fail(found.value.pos, label, join_key(key, field_name),
                        f"'{field_name}' of input '{name}' must be a string,"
                        f" got {describe(found.value)}")
        return found.value.value

    kind = scalar_str("type") or "string"
    if kind not in TYPES:
        found_type = node.get("type")
        assert found_type is not None
        raise _fail(found_type.value.pos, label, join_key(key, "type"),
                    f"unknown type '{kind}' of input '{name}'; valid types: " + ", ".join(TYPES))
    scalar_str("description")
    regex = scalar_str("regex")
    options = None
    if (found := node.get("options")) is not None:
        opts = found.value
        if not isinstance(opts, Seq):
            raise _fail(opts.pos, label, join_key(key, "options"),
                        f"'options' of input '{name}' must be a list, got {describe(opts)}")
        if len(opts.items) > MAX_OPTIONS:
            raise _fail(opts.pos, label, join_key(key, "options"),
                        f"input '{name}' cannot define more than {MAX_OPTIONS} options")
        options = tuple(_python(item) for item in opts.items)
        if any(option is None for option in options):
            raise _fail(opts.pos, label, join_key(key, "options"),
                        f"'options' of input '{name}' cannot contain null values")
    default = None
    if (found := node.get("default")) is not None:
        default = (_python(found.value), found.value.pos)
    return _Spec(name, kind, pos, key, default, options, regex)


def _values(specs: dict[str, _Spec], given: Given, label: str) -> dict[str, object]:
    """Each input's value (given, else default), checked as GitLab's Inputs checks them."""
    errors: list[PipelineError] = []
    for name, (_, spot) in given.values.items():
        if name in specs:
            continue
        close = difflib.get_close_matches(name, list(specs), n=1)
        hint = f"; did you mean '{close[0]}'?" if close else ""
        declared = ", ".join(specs) or "none"
        where = spot or SourceSpot(label, 1, 1, "spec.inputs")
        what = f"--input {name}" if given.from_cli else f"input '{name}'"
        errors.append(PipelineError(where, f"unknown {what} (GitLab: unknown input arguments);"
                                    f" {label} declares: {declared}{hint}"))
    values: dict[str, object] = {}
    for name, spec in specs.items():
        decl = SourceSpot(spec.pos.file or label, spec.pos.line, spec.pos.column, spec.key)
        provided = given.values.get(name)
        if provided is None:
            if spec.default is None:
                where = given.spot or decl
                how = (f"give it with --input {name}=VALUE" if given.spot is None else
                       f"give it in 'inputs' (declared at {decl})")
                errors.append(PipelineError(where, f"`{name}` input: required value has not"
                                            f" been provided; {how}"))
                continue
            value, pos = spec.default
            problem = _check(spec, value, "default")
            if problem:
                errors.append(_fail(pos, label, join_key(spec.key, "default"),
                                    f"`{name}` input: {problem}"))
            values[name] = value
            continue
        value, spot = provided
        if given.from_cli:
            value = _typed(spec.type, str(value))
        problem = _check(spec, value, "provided")
        if problem:
            prefix = f"--input {name}: " if spot is None else ""
            errors.append(PipelineError(spot or decl, f"{prefix}`{name}` input: {problem}"))
        values[name] = value
    raise_all(errors)
    return values


def _check(spec: _Spec, value: object, which: str) -> str | None:
    """GitLab's checks of one value: type, then options, then regex (None when it passes)."""
    ok = {
        "string": isinstance(value, str),
        "number": isinstance(value, int | float) and not isinstance(value, bool),
        "boolean": isinstance(value, bool),
        "array": isinstance(value, list),
    }[spec.type]
    if not ok:
        article = "an" if spec.type == "array" else "a"
        return f"{which} value is not {article} {spec.type}"
    return _check_options(spec, value) or _check_regex(spec, value, which)


def _check_options(spec: _Spec, value: object) -> str | None:
    if spec.options is None:
        return None
    if spec.type not in ("string", "number"):
        return "Options can only be used with string and number inputs"
    # Ruby's include? uses ==, under which true is not 1 (Python's True == 1).
    if not any(o == value and isinstance(o, bool) == isinstance(value, bool)
               for o in spec.options):
        allowed = ", ".join(str(option) for option in spec.options)
        return (f"`{value}` cannot be used because it is not in the list of allowed options"
                f" ({allowed})")
    return None


def _check_regex(spec: _Spec, value: object, which: str) -> str | None:
    if spec.regex is not None:
        if spec.type != "string":
            return "RegEx validation can only be used with string inputs"
        try:
            pattern = compile_re2(spec.regex, "")
        except RegexError as exc:
            return f"invalid regular expression ({exc})"
        if not pattern.search(str(value)):
            return f"{which} value does not match required RegEx pattern /{spec.regex}/"
    return None


def _typed(kind: str, text: str) -> object:
    """A ``--input`` value as the declared type; text that is not one fails the type check."""
    if kind == "number" and _NUMBER.fullmatch(text.strip()):
        number = float(text)
        return int(text) if re.fullmatch(r"[-+]?\d+", text.strip()) else number
    if kind == "boolean" and text in ("true", "false"):
        return text == "true"
    if kind == "array":
        try:
            loaded = yaml.safe_load(text)
        except yaml.YAMLError:
            return text
        return loaded if isinstance(loaded, list) else text
    return text
