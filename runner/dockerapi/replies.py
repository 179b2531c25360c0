"""Plain pieces of the proxy: canned answers, response parsing, stream splicing."""

from __future__ import annotations

import asyncio
import contextlib
import json
from typing import Any

from runner.dockerapi import wire
from runner.dockerapi.policy import Refused


async def splice(reader: asyncio.StreamReader, writer: asyncio.StreamWriter,
                  up_reader: asyncio.StreamReader, up_writer: asyncio.StreamWriter) -> None:
    """Copy both ways until podman ends the stream; the client's EOF is passed on."""

    async def upward() -> None:
        while piece := await reader.read(wire.COPY_CHUNK):
            up_writer.write(piece)
            await up_writer.drain()
        if up_writer.can_write_eof():
            up_writer.write_eof()

    task = asyncio.create_task(upward())
    try:
        while piece := await up_reader.read(wire.COPY_CHUNK):
            writer.write(piece)
            await writer.drain()
    finally:
        task.cancel()
        with contextlib.suppress(BaseException):
            await task


def closing(raw: bytes) -> bytes:
    """A response with ``Connection: close`` in its head (the client must not reuse it)."""
    head, sep, rest = raw.partition(b"\r\n\r\n")
    lines = [line for line in head.split(b"\r\n") if not line.lower().startswith(b"connection:")]
    return b"\r\n".join([*lines, b"Connection: close"]) + sep + rest


def parse_response(raw: bytes) -> tuple[int, Any]:
    """(status, JSON body or None) of a whole response, chunked or not."""
    head, _, rest = raw.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    try:
        status = int(lines[0].split(" ")[1])
    except (IndexError, ValueError):
        return 0, None
    if any(line.lower().replace(" ", "") == "transfer-encoding:chunked" for line in lines):
        rest = dechunk(rest)
    try:
        return status, json.loads(rest or b"null")
    except ValueError:
        return status, None


def dechunk(data: bytes) -> bytes:
    out = bytearray()
    while data:
        size_line, _, data = data.partition(b"\r\n")
        size = int(size_line.split(b";")[0] or b"0", 16)
        if size == 0:
            break
        out += data[:size]
        data = data[size + 2:]
    return bytes(out)


def json_object(body: bytes) -> dict[str, Any]:
    try:
        value = json.loads(body or b"{}")
    except ValueError:
        raise Refused("runner: the request body is not JSON") from None
    if not isinstance(value, dict):
        raise Refused("runner: the request body is not a JSON object")
    return value


def with_label(filters: str | None, label: str) -> str:
    """``filters`` (Docker's JSON) with one more required label."""
    try:
        loaded = json.loads(filters) if filters else {}
    except ValueError:
        loaded = {}
    value: dict[str, Any] = loaded if isinstance(loaded, dict) else {}
    labels = value.get("label", [])
    if isinstance(labels, dict):  # the old map form: {"label": {"a=b": true}}
        labels = [key for key, on in labels.items() if on]
    value["label"] = [*labels, label]
    return json.dumps(value)


async def drain(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    """After a refusal: read what the client still sends (a build's context, say), so
    closing does not reset the connection before the client has read why."""
    with contextlib.suppress(Exception):
        if writer.can_write_eof():
            writer.write_eof()
        async with asyncio.timeout(DRAIN_S):
            while await reader.read(wire.COPY_CHUNK):
                pass


DRAIN_S = 10.0


async def send_error(writer: asyncio.StreamWriter, status: int, reason: str, message: str) -> None:
    with contextlib.suppress(OSError):
        writer.write(wire.json_response(status, reason, json.dumps({"message": message}).encode()))
        await writer.drain()


async def send_json(writer: asyncio.StreamWriter, status: int, value: object) -> None:
    reason = {200: "OK", 201: "Created", 204: "No Content", 404: "Not Found"}.get(status, "OK")
    writer.write(wire.json_response(status, reason, json.dumps(value).encode()))
    await writer.drain()
