"""Typed reads of a JSON document that name the key path of what is wrong.

GitLab's job payload is read with these (``payload``): a value of the wrong
JSON type is refused with a ``PayloadError`` naming its path (``steps[0].script``)
and the kind of value found, never the value (it may be a secret). ``null``
reads as the empty value, as a missing field does in gitlab-runner's Go structs.
"""

from __future__ import annotations

from collections.abc import Mapping

from runner.coordinator.gitlab.payloadtypes import PayloadError

JsonObject = Mapping[str, object]

_KINDS: tuple[tuple[type | tuple[type, ...], str], ...] = (
    (bool, "a boolean"),  # before int: a bool is an int in Python
    ((int, float), "a number"),
    (str, "a string"),
    (list, "a list"),
    (dict, "an object"),
)


def kind(value: object) -> str:
    """What a JSON value is, for messages (never the value: it may be a secret)."""
    if value is None:
        return "null"
    return next((name for cls, name in _KINDS if isinstance(value, cls)), type(value).__name__)


def join(path: str, key: str) -> str:
    return f"{path}.{key}" if path else key


def wrong(path: str, wanted: str, value: object) -> PayloadError:
    return PayloadError(path, f"must be {wanted}, got {kind(value)}")


def as_object(value: object, path: str) -> JsonObject:
    """An object, or an empty one for null."""
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise wrong(path, "an object", value)
    return value


def as_list(value: object, path: str) -> list[object]:
    if value is None:
        return []
    if not isinstance(value, list):
        raise wrong(path, "a list", value)
    return value


def text(obj: JsonObject, key: str, path: str) -> str:
    value = obj.get(key)
    if value is None:
        return ""
    if not isinstance(value, str):
        raise wrong(join(path, key), "a string", value)
    return value


def integer(obj: JsonObject, key: str, path: str) -> int | None:
    value = obj.get(key)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int):
        raise wrong(join(path, key), "an integer", value)
    return value


def boolean(obj: JsonObject, key: str, path: str) -> bool:
    value = obj.get(key)
    if value is None:
        return False
    if not isinstance(value, bool):
        raise wrong(join(path, key), "true or false", value)
    return value


def strings(obj: JsonObject, key: str, path: str) -> tuple[str, ...]:
    """A list of strings; null is empty. One bad item refuses the whole list."""
    value = obj.get(key)
    where = join(path, key)
    if value is None:
        return ()
    if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
        raise PayloadError(where, f"must be a list of strings, got {_describe_list(value)}")
    return tuple(value)


def _describe_list(value: object) -> str:
    if not isinstance(value, list):
        return kind(value)
    bad = next(i for i, item in enumerate(value) if not isinstance(item, str))
    return f"{kind(value[bad])} at index {bad}"


def objects(obj: JsonObject, key: str, path: str) -> list[tuple[JsonObject, str]]:
    """A list of objects with their key paths; null items (zero values in Go) are skipped."""
    where = join(path, key)
    out: list[tuple[JsonObject, str]] = []
    for index, item in enumerate(as_list(obj.get(key), where)):
        if item is not None:
            item_path = f"{where}[{index}]"
            out.append((as_object(item, item_path), item_path))
    return out
