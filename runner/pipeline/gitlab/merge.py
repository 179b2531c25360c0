"""GitLab's deep merge of two mappings, as ``include`` and ``extends`` use it.

GitLab merges with Ruby's ``Hash#deep_merge``: where both sides hold a
mapping the two are merged key by key, and anything else (a list, a scalar,
null, or a ``!reference`` not yet resolved) is replaced by the overriding
side. Lists are never concatenated. Each entry keeps the positions of the side
it came from, so an error in a merged value still points at where it was
written, in whichever file that was.
"""

from __future__ import annotations

from runner.pipeline.yamlsrc import MAP_TAG, Entry, Map, Node


def _plain_map(node: Node | None) -> Map | None:
    """``node`` when it is a plain mapping; a tagged one (``!reference``) is an opaque value."""
    return node if isinstance(node, Map) and node.tag == MAP_TAG else None


def deep_merge(base: Map, over: Map) -> Map:
    """``over`` merged onto ``base``: ``over`` wins, mappings merge recursively.

    Keys keep ``base``'s order, with keys new in ``over`` appended in its order
    (Ruby's hash order). The result takes ``over``'s position and tag.
    """
    merged: dict[str, Entry] = {entry.key: entry for entry in base.entries}
    for entry in over.entries:
        old = merged.get(entry.key)
        old_map = _plain_map(old.value if old is not None else None)
        new_map = _plain_map(entry.value)
        if old_map is not None and new_map is not None:
            merged[entry.key] = Entry(entry.key, entry.key_pos, deep_merge(old_map, new_map))
        else:
            merged[entry.key] = entry
    return Map(tuple(merged.values()), over.pos, over.tag)


def without(mapping: Map, *keys: str) -> Map:
    """``mapping`` less ``keys`` (the same object when it has none of them)."""
    if not any(mapping.get(key) is not None for key in keys):
        return mapping
    kept = tuple(entry for entry in mapping.entries if entry.key not in keys)
    return Map(kept, mapping.pos, mapping.tag)


def replace(mapping: Map, key: str, value: Node) -> Map:
    """``mapping`` with ``key``'s value replaced in place (appended when absent)."""
    entries = list(mapping.entries)
    for index, entry in enumerate(entries):
        if entry.key == key:
            entries[index] = Entry(key, entry.key_pos, value)
            break
    else:
        entries.append(Entry(key, value.pos, value))
    return Map(tuple(entries), mapping.pos, mapping.tag)
