"""The proxy's HTTP parsing: what it checks is exactly what podman will route."""

from __future__ import annotations

import asyncio

import pytest

from runner.dockerapi import wire
from runner.dockerapi.wire import BadRequest


def test_targets_split_into_version_path_and_query() -> None:
    target = wire.parse_target("/v1.41/containers/abc/wait?condition=removed")
    assert (target.version, target.path, target.query) == (
        "1.41", "/containers/abc/wait", [("condition", "removed")])
    target.replace("condition", "next-exit")
    assert target.encode() == "/v1.41/containers/abc/wait?condition=next-exit"
    assert wire.parse_target("/_ping").version == ""


@pytest.mark.parametrize("raw", ["/v1.41/containers/../libpod/x", "//containers/create",
                                 "/v1.41/containers%2Fcreate", "http://h/containers/create",
                                 "containers/create", "/v1.41/./containers/create"])
def test_ambiguous_paths_are_refused(raw: str) -> None:
    with pytest.raises(BadRequest):
        wire.parse_target(raw)


def _reader(data: bytes) -> asyncio.StreamReader:
    reader = asyncio.StreamReader()
    reader.feed_data(data)
    reader.feed_eof()
    return reader


def test_a_chunked_body_is_read_and_nothing_after_it() -> None:
    async def go() -> tuple[bytes, bytes]:
        reader = _reader(b"POST /build HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n"
                         b"3\r\nabc\r\n2\r\nde\r\n0\r\n\r\nGET /smuggled HTTP/1.1\r\n\r\n")
        head = await wire.read_head(reader)
        assert head is not None
        body = await wire.read_body(reader, head)
        return body, await reader.read()
    body, rest = asyncio.run(go())
    assert body == b"abcde"
    assert rest.startswith(b"GET /smuggled")


@pytest.mark.parametrize("headers", [
    "Content-Length: 3\r\nTransfer-Encoding: chunked\r\n",
    "Content-Length: 3\r\nContent-Length: 4\r\n",
    "Content-Length: -1\r\n",
    "Transfer-Encoding: gzip\r\n",
])
def test_ambiguous_framing_is_refused(headers: str) -> None:
    async def go() -> None:
        reader = _reader(f"POST /x HTTP/1.1\r\n{headers}\r\nabcd".encode())
        head = await wire.read_head(reader)
        assert head is not None
        await wire.read_body(reader, head)
    with pytest.raises(BadRequest):
        asyncio.run(go())
