"""Values of GitHub's expression language and its coercions, as actions/runner implements them.

GitHub's evaluator (``DTExpressions2/EvaluationResult.cs``, ``ExpressionUtility.cs``) works on
JSON-like values: null, booleans, doubles, strings, arrays and objects.  Its rules differ from
Python's and from JavaScript's in small ways that workflows rely on, so each one is written
out here:

* truthiness: null, false, 0, NaN and ``''`` are false; every array and object is true;
* numbers print with .NET's ``G15`` format (``1.0`` is ``1``, ``1e15`` is ``1E+15``);
* string to number follows ``ParseNumber``: trimmed, empty is 0, decimal with sign and
  exponent, ``0x`` hex and ``0o`` octal (32-bit), ``Infinity``; anything else is NaN;
* loose equality is JavaScript's abstract equality, except that strings compare ignoring case
  and arrays/objects are equal only to themselves (never coerced);
* object keys are looked up ignoring case (GitHub's contexts are case-insensitive).
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping

Value = None | bool | float | str | list["Value"] | dict[str, "Value"]
"""A value as expressions see it; numbers are always floats (GitHub's are doubles)."""


class FilteredArray(list[Value]):
    """The result of an object filter (``a.*``): a following index applies to each item."""


_DECIMAL = re.compile(r"[+-]?(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][+-]?[0-9]+)?")
_SPECIAL = re.compile(r"[+-]?(?:infinity|nan)", re.IGNORECASE)
_HEX = re.compile(r"0x[0-9a-fA-F]+")
_OCTAL = re.compile(r"0o[0-7]+")
_INT32 = 1 << 32


def parse_number(text: str) -> float:  # noqa: PLR0911 - one return per notation
    """``text`` read as GitHub reads a string as a number; NaN when it is not one."""
    text = text.strip()
    if not text:
        return 0.0
    if _DECIMAL.fullmatch(text) or _SPECIAL.fullmatch(text):
        return float(text)
    if _HEX.fullmatch(text):
        value = int(text[2:], 16)
        # .NET's Int32 hex parse reads up to 32 bits as two's complement; longer is NaN.
        if value >= _INT32:
            return math.nan
        return float(value - _INT32 if value >= _INT32 // 2 else value)
    if _OCTAL.fullmatch(text):
        value = int(text[2:], 8)
        if value >= _INT32:
            return math.nan
        return float(value - _INT32 if value >= _INT32 // 2 else value)
    return math.nan


def format_number(number: float) -> str:
    """``number`` as .NET's ``G15`` prints it (GitHub's number to string)."""
    if math.isnan(number):
        return "NaN"
    if math.isinf(number):
        return "Infinity" if number > 0 else "-Infinity"
    if number == 0:
        return "0"  # .NET prints -0 as "0" here
    return f"{number:.15g}".replace("e", "E")


def to_string(value: Value) -> str:
    """``value`` as GitHub turns it into text: null is ``''``, ``1.0`` is ``'1'``.

    Arrays and objects become ``'Array'`` and ``'Object'``, as in GitHub (use ``toJSON``).
    """
    if value is None:
        return ""
    if value is True:
        return "true"
    if value is False:
        return "false"
    if isinstance(value, str):
        return value
    if isinstance(value, int | float):
        return format_number(float(value))
    return "Array" if isinstance(value, list) else "Object"


def to_number(value: Value) -> float:
    """``value`` as a number: null 0, booleans 0/1, strings parsed, arrays/objects NaN."""
    if value is None:
        return 0.0
    if isinstance(value, bool):
        return 1.0 if value else 0.0
    if isinstance(value, int | float):
        return float(value)
    if isinstance(value, str):
        return parse_number(value)
    return math.nan


def truthy(value: Value) -> bool:
    """Whether ``value`` counts as true in a condition (``if:``, ``!``, ``&&``, ``||``)."""
    if value is None:
        return False
    if isinstance(value, bool):
        return value
    if isinstance(value, int | float):
        return value != 0 and not math.isnan(value)
    if isinstance(value, str):
        return value != ""
    return True


def is_primitive(value: Value) -> bool:
    """Null, boolean, number or string (not an array or object)."""
    return not isinstance(value, list | dict)


def fold(text: str) -> str:
    """``text`` upper-cased one character at a time, as .NET's ``OrdinalIgnoreCase`` does.

    Python's ``str.upper`` maps some characters to several (``ß`` to ``SS``); .NET never
    changes a string's length, and does not map dotless i (U+0131) to ``I``: such
    characters are kept.
    """
    if text.isascii():
        return text.upper()
    return "".join(_fold_char(c) for c in text)


def _fold_char(c: str) -> str:
    upper = c.upper()
    # Keep what would change length (ß) and what would turn into ASCII (U+0131 dotless i,
    # U+017F long s): .NET's invariant upper-casing maps neither.
    if len(upper) != 1 or (upper.isascii() and not c.isascii()):
        return c
    return upper


def lookup(obj: Mapping[str, Value], key: str) -> tuple[bool, Value]:
    """``obj[key]`` ignoring case, as GitHub looks up object keys; (found, value)."""
    if key in obj:
        return True, obj[key]
    folded = fold(key)
    for name, value in obj.items():
        if fold(name) == folded:
            return True, value
    return False, None


def _kind(value: Value) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int | float):
        return "number"
    if isinstance(value, str):
        return "string"
    return "array" if isinstance(value, list) else "object"


def _coerce(left: Value, right: Value) -> tuple[str, Value, str, Value]:
    """Both sides brought to one kind where GitHub does (``CoerceTypes``)."""
    lkind, rkind = _kind(left), _kind(right)
    while lkind != rkind:
        if lkind == "number" and rkind == "string":
            right, rkind = to_number(right), "number"
        elif (lkind == "string" and rkind == "number") or lkind in ("boolean", "null"):
            left, lkind = to_number(left), "number"
        elif rkind in ("boolean", "null"):
            right, rkind = to_number(right), "number"
        else:
            break
    return lkind, left, rkind, right


def loose_equal(left: Value, right: Value) -> bool:
    """GitHub's ``==``: JavaScript's abstract equality, strings ignoring case."""
    lkind, left, rkind, right = _coerce(left, right)
    if lkind != rkind:
        return False
    if lkind == "number":
        return to_number(left) == to_number(right)  # NaN is unequal to everything, as in GitHub
    if lkind == "string":
        assert isinstance(left, str) and isinstance(right, str)
        return left == right or fold(left) == fold(right)
    if lkind in ("array", "object"):
        return left is right
    return left == right


def compare(left: Value, right: Value) -> int | None:
    """-1, 0 or 1 as ``<``, ``>`` see ``left`` against ``right``; None: not comparable.

    Used by ``<``, ``<=``, ``>``, ``>=`` together with `loose_equal` (GitHub's ``<=`` is
    ``==`` or ``<``).  NaN, arrays, objects and mixed kinds compare as neither.
    """
    lkind, left, rkind, right = _coerce(left, right)
    if lkind != rkind:
        return None
    if lkind == "number":
        a, b = to_number(left), to_number(right)
        if math.isnan(a) or math.isnan(b):
            return None
        return (a > b) - (a < b)
    if lkind == "string":
        assert isinstance(left, str) and isinstance(right, str)
        lfold, rfold = fold(left), fold(right)
        return (lfold > rfold) - (lfold < rfold)
    if lkind == "boolean":
        return (left is True) - (right is True)
    return None
