"""A GitLab CI file cut into its YAML documents as GitLab cuts it: header and body.

Checked against GitLab's lib/gitlab/config/loader/multi_doc_yaml.rb and
lib/gitlab/ci/config/yaml/{loader,result}.rb: the text is split at lines starting
with ``---`` and whitespace (``MULTI_DOC_DIVIDER = /^---\\s+/``) into at most three
pieces (two documents, one more for a leading divider), blank pieces are dropped, and
each piece is read as one YAML document (Psych keeps only the first document of a
piece that holds more). With two or more documents the first is the header and the
last the body; one document is the body alone. Documents GitLab skips this way are
named in a note rather than silently lost.

Each document is loaded from its own text padded with the lines before it, so every
position still names the line of the file.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from runner.pipeline.gitlab import source as gitlab_source

DIVIDER = re.compile(r"^---[ \t\r\n\f\v]+", re.MULTILINE)
MAX_DOCUMENTS = 2


@dataclass(frozen=True)
class Document:
    """One document's text, padded with newlines so that its lines are the file's."""

    text: str
    line: int
    """The file line it starts on (1-based)."""


@dataclass(frozen=True)
class Documents:
    """The header (None when the file has one document) and the body of a file."""

    header: Document | None
    body: Document | None
    skipped: tuple[int, ...]
    """File lines of documents GitLab reads past without using."""


def _piece(text: str, start: int, end: int) -> Document:
    before = text.count("\n", 0, start)
    return Document("\n" * before + text[start:end], before + 1)


def _first_document(text: str, doc: Document) -> tuple[Document, list[int]]:
    """The first non-blank document of a piece holding several, and the others' lines."""
    offset = len(doc.text) - len(doc.text.lstrip("\n")) if doc.text else 0
    starts = [offset]
    ends = []
    for match in DIVIDER.finditer(doc.text, offset):
        ends.append(match.start())
        starts.append(match.end())
    ends.append(len(doc.text))
    parts = [_piece(doc.text, s, e) for s, e in zip(starts, ends, strict=True)]
    kept = [part for part in parts if not gitlab_source.is_blank(part.text)]
    if not kept:
        return doc, []
    return kept[0], [part.line for part in kept[1:]]


def split_documents(text: str) -> Documents:
    """``text`` cut as GitLab's loader cuts it (see the module docstring)."""
    bounds: list[tuple[int, int]] = []
    start = 0
    for match in DIVIDER.finditer(text):
        if len(bounds) == MAX_DOCUMENTS:
            break
        bounds.append((start, match.start()))
        start = match.end()
    bounds.append((start, len(text)))
    pieces = [_piece(text, s, e) for s, e in bounds]
    docs = [piece for piece in pieces if not gitlab_source.is_blank(piece.text)]
    if not docs:
        return Documents(None, None, ())
    last, skipped = _first_document(text, docs[-1])
    if len(docs) == 1:
        return Documents(None, last, tuple(skipped))
    middle = [doc.line for doc in docs[1:-1]]
    return Documents(docs[0], last, tuple(middle + skipped))
