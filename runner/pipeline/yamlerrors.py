"""Messages for YAML that pyyaml cannot read: one paragraph, at the problem's line and column."""

from __future__ import annotations

import yaml

from runner.errors import PipelineError, SourceSpot


def syntax_error(file: str, exc: yaml.MarkedYAMLError) -> PipelineError:
    """One paragraph from pyyaml's multi-line report, at the problem's position.

    A construct left open to the end of the file (an unterminated quoted string) is
    reported where it starts: the end of the file is only where the parser noticed.
    """
    mark = exc.problem_mark or exc.context_mark
    if "end of stream" in (exc.problem or "") and exc.context_mark is not None:
        mark = exc.context_mark
    problem = exc.problem or "invalid YAML"
    context = exc.context or ""
    if context and exc.context_mark is not None and exc.context_mark is not exc.problem_mark:
        cm = exc.context_mark
        context += f" at line {cm.line + 1}, column {cm.column + 1}"
    if problem.startswith("but "):  # pyyaml splits "expected X" / "but found Y"
        message = f"{context}, {problem}" if context else problem
    else:
        message = f"{problem} ({context})" if context else problem
    if "'\\t'" in problem:
        message += "; YAML indents with spaces, not tabs"
    message = "YAML syntax error: " + " ".join(message.split())
    if mark is None:
        return PipelineError(SourceSpot(file), message)
    return PipelineError(SourceSpot(file, mark.line + 1, mark.column + 1), message)


def reader_error(file: str, text: str, exc: yaml.reader.ReaderError) -> PipelineError:
    """A character YAML forbids (control characters): point at it by line and column."""
    pos = exc.position
    line = text.count("\n", 0, pos) + 1
    column = pos - (text.rfind("\n", 0, pos) + 1) + 1
    char = exc.character if isinstance(exc.character, str) else chr(exc.character)
    return PipelineError(
        SourceSpot(file, line, column),
        f"the file contains the character U+{ord(char):04X}, which YAML does not allow; remove it",
    )
