"""TLS for the job's ``tcp://docker:2376``, with half-close kept (``ssl.MemoryBIO``).

The docker CLI ends its half of an attach stream with a TLS ``close_notify``
and goes on reading the container's output. asyncio's own TLS transport
shuts the whole connection on ``close_notify``, so the output would be lost.
Here TLS is done on memory buffers: a ``close_notify`` becomes an EOF toward
the proxy, and the other direction stays open until the proxy ends it. The
proxy sees a plain stream (one end of a socket pair).
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
import ssl
from collections.abc import Callable, Coroutine
from typing import Any

Handler = Callable[[asyncio.StreamReader, asyncio.StreamWriter], Coroutine[Any, Any, None]]
CHUNK = 64 * 1024


def tls_handler(context: ssl.SSLContext, handle: Handler) -> Handler:
    """A connection handler that terminates TLS, then passes the plain stream to ``handle``."""

    async def serve(raw_reader: asyncio.StreamReader, raw_writer: asyncio.StreamWriter) -> None:
        incoming, outgoing = ssl.MemoryBIO(), ssl.MemoryBIO()
        tls = context.wrap_bio(incoming, outgoing, server_side=True)
        inner: asyncio.Task[None] | None = None
        ours: asyncio.StreamWriter | None = None
        try:
            await _handshake(tls, incoming, outgoing, raw_reader, raw_writer)
            mine, theirs = socket.socketpair()
            proxy_reader, proxy_writer = await asyncio.open_connection(sock=theirs)
            inner = asyncio.create_task(handle(proxy_reader, proxy_writer))
            plain_reader, ours = await asyncio.open_connection(sock=mine)
            up = asyncio.create_task(_upward(tls, incoming, raw_reader, ours))
            try:
                while data := await plain_reader.read(CHUNK):
                    tls.write(data)
                    raw_writer.write(outgoing.read())
                    await raw_writer.drain()
                with contextlib.suppress(ssl.SSLError):
                    tls.unwrap()
                raw_writer.write(outgoing.read())
                await raw_writer.drain()
            finally:
                up.cancel()
                with contextlib.suppress(BaseException):
                    await up
        except (ssl.SSLError, ConnectionError, OSError, asyncio.IncompleteReadError):
            pass
        finally:
            if ours is not None:
                ours.close()
            if inner is not None:
                with contextlib.suppress(BaseException):
                    await inner
            raw_writer.close()

    return serve


async def _handshake(tls: ssl.SSLObject, incoming: ssl.MemoryBIO, outgoing: ssl.MemoryBIO,
                     reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    while True:
        try:
            tls.do_handshake()
            break
        except ssl.SSLWantReadError:
            writer.write(outgoing.read())
            await writer.drain()
            data = await reader.read(CHUNK)
            if not data:
                raise ConnectionError("the client left during the TLS handshake") from None
            incoming.write(data)
    writer.write(outgoing.read())
    await writer.drain()


async def _upward(tls: ssl.SSLObject, incoming: ssl.MemoryBIO, reader: asyncio.StreamReader,
                  writer: asyncio.StreamWriter) -> None:
    """Decrypt what the client sends; its ``close_notify`` (or EOF) ends only this half."""
    with contextlib.suppress(ConnectionError, OSError):
        while True:  # the handshake's last read may hold the first request already
            try:
                while plain := tls.read(CHUNK):
                    writer.write(plain)
            except ssl.SSLWantReadError:
                pass
            except (ssl.SSLZeroReturnError, ssl.SSLError):
                break
            await writer.drain()
            data = await reader.read(CHUNK)
            if not data:
                break
            incoming.write(data)
        if writer.can_write_eof():
            writer.write_eof()
