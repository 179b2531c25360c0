"""Just enough HTTP/1.1 for the Docker API proxy: request and response heads, body framing.

The proxy must see every request whole before podman does (to refuse or
rewrite it) and must pass nothing else: a second request smuggled after a
body would escape the filter. So bodies are copied by their own framing
(``Content-Length`` or chunked) and never past it; only a hijacked stream
(attach, exec start), once allowed, is copied raw both ways.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import BinaryIO
from urllib.parse import parse_qsl, urlencode, urlsplit

MAX_HEAD = 64 * 1024
MAX_JSON_BODY = 4 * 1024 * 1024
"""A container-create or exec-create body larger than this is refused, not buffered."""
COPY_CHUNK = 64 * 1024


class BadRequest(Exception):
    """The client sent something that is not a request we can pass on safely."""


@dataclass
class Head:
    """A request or response head: first line split in three, headers in order."""

    first: tuple[str, str, str]
    headers: list[tuple[str, str]] = field(default_factory=list)

    def get(self, name: str) -> str | None:
        """The last value of header ``name`` (case-insensitive), if any."""
        found = None
        for key, value in self.headers:
            if key.lower() == name.lower():
                found = value
        return found

    def drop(self, *names: str) -> None:
        """Remove every header named in ``names``."""
        lowered = {name.lower() for name in names}
        self.headers = [(k, v) for k, v in self.headers if k.lower() not in lowered]

    def set(self, name: str, value: str) -> None:
        """Replace header ``name`` with one value."""
        self.drop(name)
        self.headers.append((name, value))

    def encode(self) -> bytes:
        """The head as it goes on the wire, blank line included."""
        lines = [" ".join(self.first), *(f"{k}: {v}" for k, v in self.headers), "", ""]
        return "\r\n".join(lines).encode("latin-1")


@dataclass
class Target:
    """A request target split into API version, path and query pairs."""

    version: str
    path: str
    query: list[tuple[str, str]]

    def param(self, name: str) -> str | None:
        """The last value of query parameter ``name``."""
        found = None
        for key, value in self.query:
            if key == name:
                found = value
        return found

    def replace(self, name: str, value: str | None) -> None:
        """Set (or with None remove) query parameter ``name``."""
        self.query = [(k, v) for k, v in self.query if k != name]
        if value is not None:
            self.query.append((name, value))

    def encode(self) -> str:
        """The target again, as podman will read it."""
        prefix = f"/v{self.version}" if self.version else ""
        query = f"?{urlencode(self.query)}" if self.query else ""
        return f"{prefix}{self.path}{query}"


def parse_target(raw: str) -> Target:
    """Split ``/v1.41/containers/x/json?a=b``; refuses any path a router could read two ways.

    No ``..``, ``.``, empty segments or percent escapes in the path: what we
    check must be exactly what podman's router dispatches on.
    """
    parts = urlsplit(raw)
    path = parts.path
    if (not path.startswith("/") or "%" in path or "//" in path or parts.scheme
            or parts.netloc or any(seg in (".", "..") for seg in path.split("/"))):
        raise BadRequest(f"request path not accepted: {raw[:200]!r}")
    version = ""
    segments = path.split("/")
    if len(segments) > 2 and segments[1].startswith("v") and _is_version(segments[1][1:]):
        version = segments[1][1:]
        path = "/" + "/".join(segments[2:])
    query = parse_qsl(parts.query, keep_blank_values=True)
    return Target(version, path, query)


def _is_version(text: str) -> bool:
    pieces = text.split(".")
    return len(pieces) == 2 and all(piece.isdigit() for piece in pieces)


async def read_head(reader: asyncio.StreamReader) -> Head | None:
    """The next head on ``reader``; None at a clean end of stream."""
    try:
        raw = await reader.readuntil(b"\r\n\r\n")
    except asyncio.IncompleteReadError as exc:
        if not exc.partial.strip():
            return None
        raise BadRequest("the connection ended inside a request head") from None
    except asyncio.LimitOverrunError:
        raise BadRequest("request head too large") from None
    if len(raw) > MAX_HEAD:
        raise BadRequest("request head too large")
    lines = raw.decode("latin-1").split("\r\n")
    first = lines[0].split(" ", 2)
    if len(first) != 3:
        raise BadRequest(f"malformed first line: {lines[0][:200]!r}")
    headers = []
    for line in lines[1:]:
        if not line:
            continue
        name, sep, value = line.partition(":")
        if not sep or not name or name != name.strip() or any(c in name for c in " \t"):
            raise BadRequest(f"malformed header line: {line[:200]!r}")
        headers.append((name, value.strip()))
    return Head((first[0], first[1], first[2]), headers)


def framing(head: Head) -> int | None:
    """The body length a request announces: bytes, 0 for none, None for chunked.

    Both headers at once, or a length that is not a plain number, is refused
    (the classic way to make two parsers disagree on where a body ends).
    """
    length = [v for k, v in head.headers if k.lower() == "content-length"]
    coding = head.get("Transfer-Encoding")
    if coding is not None:
        if length or coding.lower() != "chunked":
            raise BadRequest("unsupported body framing")
        return None
    if not length:
        return 0
    if len(set(length)) != 1 or not length[0].isdigit():
        raise BadRequest("malformed Content-Length")
    return int(length[0])


async def read_body(reader: asyncio.StreamReader, head: Head, limit: int = MAX_JSON_BODY) -> bytes:
    """A whole (small) request body, de-chunked."""
    parts: list[bytes] = []
    size = 0
    async for piece in _pieces(reader, framing(head)):
        size += len(piece)
        if size > limit:
            raise BadRequest("request body too large")
        parts.append(piece)
    return b"".join(parts)


async def copy_body(reader: asyncio.StreamReader, writer: asyncio.StreamWriter,
                    head: Head) -> None:
    """Copy a request body in its own framing, and not one byte past it."""
    length = framing(head)
    async for piece in _pieces(reader, length):
        if length is None:
            writer.write(f"{len(piece):x}\r\n".encode() + piece + b"\r\n")
        else:
            writer.write(piece)
        await writer.drain()
    if length is None:
        writer.write(b"0\r\n\r\n")
        await writer.drain()


async def copy_body_to(reader: asyncio.StreamReader, out: BinaryIO, head: Head) -> None:
    """Write a request body (de-chunked) to a file."""
    async for piece in _pieces(reader, framing(head)):
        out.write(piece)


async def _pieces(reader: asyncio.StreamReader, length: int | None) -> AsyncIterator[bytes]:
    try:
        if length is not None:
            left = length
            while left:
                piece = await reader.read(min(left, COPY_CHUNK))
                if not piece:
                    raise BadRequest("the connection ended inside a request body")
                left -= len(piece)
                yield piece
            return
        while True:
            line = await reader.readuntil(b"\r\n")
            size_text = line.split(b";", 1)[0].strip()
            if not size_text or any(c not in b"0123456789abcdefABCDEF" for c in size_text):
                raise BadRequest("malformed chunk size")
            size = int(size_text, 16)
            if size == 0:
                while (await reader.readuntil(b"\r\n")) != b"\r\n":  # trailers
                    pass
                return
            left = size
            while left:
                piece = await reader.read(min(left, COPY_CHUNK))
                if not piece:
                    raise BadRequest("the connection ended inside a chunk")
                left -= len(piece)
                yield piece
            if await reader.readexactly(2) != b"\r\n":
                raise BadRequest("malformed chunk end")
    except (asyncio.IncompleteReadError, asyncio.LimitOverrunError):
        raise BadRequest("malformed chunked body") from None


def json_response(status: int, reason: str, body: bytes) -> bytes:
    """A complete response with a JSON body, closing the connection."""
    head = Head(("HTTP/1.1", str(status), reason), [
        ("Content-Type", "application/json"), ("Content-Length", str(len(body))),
        ("Connection", "close"), ("Api-Version", "1.41")])
    return head.encode() + body
