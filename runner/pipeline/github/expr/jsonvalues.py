"""``toJSON`` and ``fromJSON``: values to GitHub's JSON text and back.

``toJSON`` writes what the runner's ``ToJson`` writes: two-space indentation, ``"key": value``,
empty collections as ``[]``/``{}``, numbers in ``G15`` form (``1`` not ``1.0``) and strings
escaped as Newtonsoft's ``JsonConvert.ToString`` escapes them (control characters,
``"``, ``\\``, U+0085, U+2028 and U+2029; everything else as is).
"""

from __future__ import annotations

import json
import math

from runner.pipeline.github.expr.errors import ExprError
from runner.pipeline.github.expr.values import Value, format_number

_ESCAPES = {i: f"\\u{i:04x}" for i in range(0x20)}
_ESCAPES.update(
    {
        ord("\b"): "\\b", ord("\t"): "\\t", ord("\n"): "\\n", ord("\f"): "\\f",
        ord("\r"): "\\r", ord('"'): '\\"', ord("\\"): "\\\\",
        0x85: "\\u0085", 0x2028: "\\u2028", 0x2029: "\\u2029",
    }
)


def json_string(text: str) -> str:
    """``text`` as a JSON string literal, escaped as GitHub's runner escapes it."""
    return '"' + text.translate(_ESCAPES) + '"'


def to_json(value: Value) -> str:
    """``value`` as GitHub's ``toJSON`` prints it."""
    out: list[str] = []
    _write(value, 0, out)
    return "".join(out)


def _write(value: Value, level: int, out: list[str]) -> None:
    if isinstance(value, list):
        if not value:
            out.append("[]")
            return
        out.append("[")
        for position, item in enumerate(value):
            out.append(("," if position else "") + "\n" + "  " * (level + 1))
            _write(item, level + 1, out)
        out.append("\n" + "  " * level + "]")
    elif isinstance(value, dict):
        if not value:
            out.append("{}")
            return
        out.append("{")
        for position, (key, item) in enumerate(value.items()):
            prefix = ("," if position else "") + "\n" + "  " * (level + 1)
            out.append(prefix + json_string(key) + ": ")
            _write(item, level + 1, out)
        out.append("\n" + "  " * level + "}")
    elif value is None:
        out.append("null")
    elif isinstance(value, bool):
        out.append("true" if value else "false")
    elif isinstance(value, int | float):
        out.append(format_number(float(value)))
    else:
        out.append(json_string(value))


def _number(text: str) -> float:
    return float(text)


def _constant(name: str) -> float:
    return {"NaN": math.nan, "Infinity": math.inf, "-Infinity": -math.inf}[name]


_DECODER = json.JSONDecoder(parse_int=_number, parse_float=_number, parse_constant=_constant)


def from_json(text: str, column: int = 0) -> Value:
    """``text`` read as JSON into a value (numbers as floats); `ExprError` if it is not JSON.

    Like the runner (Newtonsoft's ``JToken.ReadFrom``) only the first JSON value is read;
    text after it is ignored.  The message does not quote the text: it may be a secret.
    """
    stripped = text.lstrip()
    try:
        value, _ = _DECODER.raw_decode(stripped)
    except json.JSONDecodeError as exc:
        raise ExprError(
            f"fromJSON: the text is not valid JSON: {exc.msg} at line {exc.lineno} "
            f"column {exc.colno}",
            column,
        ) from None
    except RecursionError:
        raise ExprError("fromJSON: the JSON text is nested too deeply", column) from None
    result: Value = value
    return result
