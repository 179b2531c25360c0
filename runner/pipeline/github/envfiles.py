"""The environment files a step writes (``GITHUB_ENV``, ``GITHUB_OUTPUT``, ``GITHUB_PATH``,
``GITHUB_STATE``, ``GITHUB_STEP_SUMMARY``), read back the way actions/runner reads them.

Rules from actions/runner ``src/Runner.Worker/FileCommandManager.cs``:

- ``NAME=value`` and the heredoc ``NAME<<DELIM`` ... ``DELIM`` in ENV, OUTPUT and STATE;
  whichever of ``=`` and ``<<`` comes first on the line decides the form; empty lines
  are skipped; lines end at ``\\n`` only (a ``\\r`` stays in the value, as on Linux).
- A bad line stops reading the file (pairs before it still count) and fails the step
  with ``Unable to process file command 'env' successfully.``.
- ``NODE_OPTIONS`` cannot be set through ``GITHUB_ENV`` (an error is logged, the
  rest of the file still counts, the step does not fail).
- ``GITHUB_PATH``: one directory per non-empty line; a directory added again moves
  to the front.
- ``GITHUB_STEP_SUMMARY``: at most 1 MiB per step, else dropped with an error.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

BLOCKED_ENV = frozenset({"NODE_OPTIONS"})
"""Names ``GITHUB_ENV`` may not set (``SetEnvFileCommand._setEnvBlockList``)."""

SUMMARY_LIMIT = 1024 * 1024
"""``CreateStepSummaryCommand.AttachmentSizeLimit``."""

CONTEXT_NAMES = {
    "GITHUB_ENV": "env",
    "GITHUB_OUTPUT": "output",
    "GITHUB_PATH": "path",
    "GITHUB_STATE": "state",
    "GITHUB_STEP_SUMMARY": "step_summary",
}
"""Each file's name in actions/runner's messages (``Unable to process file command 'env'``)."""


class EnvFileError(Exception):
    """A line of an environment file that actions/runner refuses; ``pairs`` read before it."""

    def __init__(self, message: str, pairs: list[tuple[str, str]]) -> None:
        super().__init__(message)
        self.message = message
        self.pairs = pairs


@dataclass(frozen=True)
class FileEffects:
    """What one step's environment files change for the steps after it."""

    env: tuple[tuple[str, str], ...] = ()
    outputs: tuple[tuple[str, str], ...] = ()
    state: tuple[tuple[str, str], ...] = ()
    path: tuple[str, ...] = ()
    summary: str = ""
    errors: tuple[str, ...] = ()
    """Errors to log (each also an annotation), in GitHub's words."""
    failed: bool = False
    """Whether an error fails the step (a malformed file does; a blocked name does not)."""


def _lines(text: str) -> list[tuple[str, bool]]:
    """Each line of ``text`` with whether a newline ended it (``ReadLine`` on Linux)."""
    parts = text.split("\n")
    lines = [(part, True) for part in parts[:-1]]
    if parts[-1]:
        lines.append((parts[-1], False))
    return lines


def parse_pairs(text: str) -> list[tuple[str, str]]:
    """The ``NAME=value`` and heredoc pairs of ``text`` in order (``EnvFileKeyValuePairs``).

    Raises ``EnvFileError`` with actions/runner's message at the first bad line.
    """
    pairs: list[tuple[str, str]] = []
    lines = _lines(text)
    index = 0
    while index < len(lines):
        line, _ = lines[index]
        index += 1
        if not line:
            continue
        equals = line.find("=")
        heredoc = line.find("<<")
        if equals >= 0 and (heredoc < 0 or equals < heredoc):
            name, value = line.split("=", 1)
            if not name:
                # actions/runner means to refuse this but tests the whole line by mistake.
                raise EnvFileError(f"Invalid format '{line}'. Name must not be empty", pairs)
            pairs.append((name, value))
        elif heredoc >= 0:
            name, delimiter = line.split("<<", 1)
            if not name or not delimiter:
                raise EnvFileError(
                    f"Invalid format '{line}'. Name must not be empty and delimiter must not "
                    "be empty",
                    pairs,
                )
            value_lines: list[str] = []
            while True:
                if index >= len(lines):
                    raise EnvFileError(
                        f"Invalid value. Matching delimiter not found '{delimiter}'", pairs
                    )
                candidate, ended = lines[index]
                index += 1
                if candidate == delimiter:
                    break
                if not ended:
                    raise EnvFileError("Invalid value. EOF marker missing new line.", pairs)
                value_lines.append(candidate)
            pairs.append((name, "\n".join(value_lines)))
        else:
            raise EnvFileError(f"Invalid format '{line}'", pairs)
    return pairs


def parse_path(text: str) -> list[str]:
    """The directories ``GITHUB_PATH`` adds, in the order written (``AddPathFileCommand``)."""
    return [line.removesuffix("\r") for line in text.split("\n") if line.removesuffix("\r")]


def prepend(current: tuple[str, ...], added: list[str] | tuple[str, ...]) -> tuple[str, ...]:
    """``current`` (first first) after ``added`` is prepended one directory at a time.

    actions/runner keeps a list where the last added comes first on ``PATH`` and a
    directory added again moves to the front.
    """
    result = list(current)
    for directory in added:
        if directory in result:
            result.remove(directory)
        result.insert(0, directory)
    return tuple(result)


def _read_pairs(
    name: str, text: str, errors: list[str]
) -> tuple[list[tuple[str, str]], bool]:
    try:
        return parse_pairs(text), False
    except EnvFileError as error:
        errors.append(f"Unable to process file command '{CONTEXT_NAMES[name]}' successfully.")
        errors.append(error.message)
        return error.pairs, True


def read_files(files: Mapping[str, bytes]) -> FileEffects:
    """Everything a step's environment files change, from ``StepEnd.files``."""
    errors: list[str] = []
    failed = False

    def text(name: str) -> str:
        return files.get(name, b"").decode("utf-8", errors="replace")

    env, bad = _read_pairs("GITHUB_ENV", text("GITHUB_ENV"), errors)
    failed |= bad
    kept_env = []
    for key, value in env:
        if key.upper() in BLOCKED_ENV:
            errors.append(
                f"Can't store {key.upper()} output parameter using '$GITHUB_ENV' command."
            )
            continue
        kept_env.append((key, value))
    outputs, bad = _read_pairs("GITHUB_OUTPUT", text("GITHUB_OUTPUT"), errors)
    failed |= bad
    state, bad = _read_pairs("GITHUB_STATE", text("GITHUB_STATE"), errors)
    failed |= bad
    summary = text("GITHUB_STEP_SUMMARY")
    size = len(files.get("GITHUB_STEP_SUMMARY", b""))
    if size > SUMMARY_LIMIT:
        errors.append(
            f"$GITHUB_STEP_SUMMARY upload aborted, supports content up to a size of "
            f"{SUMMARY_LIMIT // 1024}k, got {size // 1024}k."
        )
        summary = ""
    return FileEffects(
        env=tuple(kept_env),
        outputs=tuple(outputs),
        state=tuple(state),
        path=tuple(parse_path(text("GITHUB_PATH"))),
        summary=summary,
        errors=tuple(errors),
        failed=failed,
    )
