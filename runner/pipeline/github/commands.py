"""Workflow commands in a step's output (``::name k=v,k=v::data``), parsed as actions/runner does.

Rules from actions/runner ``src/Runner.Common/ActionCommand.cs``:

- the current form starts the line (after leading blanks) with ``::``; the command
  info runs to the next ``::``; its first word is the name, then ``k=v`` properties
  separated by ``,``; the rest of the line is the data;
- the legacy form ``##[name k=v;k=v]data`` may stand anywhere in the line;
- only registered names are commands (case-insensitive); any other line is output;
- escapes: data ``%25 %0D %0A``; properties also ``%3A %2C``; legacy ``%3B %5D`` too.
"""

from __future__ import annotations

from dataclasses import dataclass, field

REGISTERED = frozenset(
    {
        "add-mask",
        "add-path",
        "set-env",
        "set-output",
        "save-state",
        "debug",
        "warning",
        "error",
        "notice",
        "group",
        "endgroup",
        "echo",
        "add-matcher",
        "remove-matcher",
        "stop-commands",
    }
)
"""The names actions/runner registers (``ActionCommandManager``), lower-case."""

_DATA_ESCAPES = (("%0D", "\r"), ("%0A", "\n"), ("%25", "%"))
_PROPERTY_ESCAPES = (("%0D", "\r"), ("%0A", "\n"), ("%3A", ":"), ("%2C", ","), ("%25", "%"))
_LEGACY_ESCAPES = (("%3B", ";"), ("%0D", "\r"), ("%0A", "\n"), ("%5D", "]"), ("%25", "%"))


def _unescape(text: str, escapes: tuple[tuple[str, str], ...]) -> str:
    # Replaced one mapping after the other, "%25" last, exactly as the runner does
    # (so "%250A" becomes "%0A", not a newline).
    for escaped, plain in escapes:
        text = text.replace(escaped, plain)
    return text


@dataclass(frozen=True)
class Command:
    """One workflow command: ``name`` lower-case, ``properties`` by lower-case key."""

    name: str
    data: str
    properties: dict[str, str] = field(default_factory=dict)


def _split_properties(
    text: str, separator: str, escapes: tuple[tuple[str, str], ...]
) -> dict[str, str]:
    properties: dict[str, str] = {}
    for item in text.split(separator):
        if not item:
            continue
        key, sep, value = item.partition("=")
        # String.Split with RemoveEmptyEntries: "k=" and "=v" have one part and are dropped.
        if sep and key and value:
            properties[key.lower()] = _unescape(value, escapes)
    return properties


def parse(line: str, registered: frozenset[str] | set[str] = REGISTERED) -> Command | None:
    """The command ``line`` holds (without its line ending), or None for plain output."""
    return _parse_v2(line, registered) or _parse_legacy(line, registered)


def _parse_v2(line: str, registered: frozenset[str] | set[str]) -> Command | None:
    message = line.lstrip()
    if not message.startswith("::"):
        return None
    end = message.find("::", 2)
    if end < 0:
        return None
    info = message[2:end]
    name, space, rest = info.partition(" ")
    if name.lower() not in registered:
        return None
    properties = _split_properties(rest.strip(), ",", _PROPERTY_ESCAPES) if space else {}
    return Command(name.lower(), _unescape(message[end + 2 :], _DATA_ESCAPES), properties)


def _parse_legacy(line: str, registered: frozenset[str] | set[str]) -> Command | None:
    start = line.find("##[")
    if start < 0:
        return None
    close = line.find("]", start)
    if close < 0:
        return None
    info = line[start + 3 : close]
    name, space, rest = info.partition(" ")
    if name.lower() not in registered:
        return None
    properties = _split_properties(rest, ";", _LEGACY_ESCAPES) if space else {}
    return Command(name.lower(), _unescape(line[close + 1 :], _LEGACY_ESCAPES), properties)


def annotation_where(properties: dict[str, str], workspace: str) -> str | None:
    """``file:line:col`` of an ``::error``/``::warning``/``::notice``, or None without a file.

    A file inside the workspace is shown relative to it (``IssueCommandExtension``);
    ``endLine`` alone stands for ``line``, ``endColumn`` alone for ``col``, and columns
    without a line are dropped (``ValidateLinesAndColumns``).
    """
    file = properties.get("file", "")
    if not file:
        return None
    prefix = workspace.rstrip("/") + "/"
    if workspace and file.startswith(prefix):
        file = file[len(prefix) :]
    line = properties.get("line") or properties.get("endline") or ""
    col = properties.get("col") or properties.get("endcolumn") or ""
    if not line.strip().isdigit():
        return file
    where = f"{file}:{int(line)}"
    if col.strip().isdigit():
        where += f":{int(col)}"
    return where
