"""FIFO plumbing between a hook process and its job container's supervisor (``hookboot``).

Every FIFO is opened read-write by the hook (Linux allows it): the open
never blocks and the hook never reads a false end-of-file while the
supervisor has not opened its end yet. Whether the container still lives is
watched through a pidfd on its PID 1, so a container that died can never
leave a hook waiting for a line that will not come.
"""

from __future__ import annotations

import asyncio
import contextlib
import errno
import os
from collections.abc import Callable
from pathlib import Path

Sink = Callable[[bytes], None]
_CHUNK = 65536


FOR_READING = 0o606
"""A FIFO the job's supervisor reads (``in``): the job's root is "other" to the user."""
FOR_WRITING = 0o602
"""A FIFO the supervisor writes (``ready``, a step's ``out`` and ``rc``)."""


def make_fifo(path: Path, mode: int) -> int:
    """Create FIFO ``path`` with ``mode`` and open it read-write, non-blocking.

    Only the job's own container reaches it: its dir is bind-mounted there,
    and on the host it lies in the user's 0700 runtime dir.
    """
    os.mkfifo(path, 0o600)
    path.chmod(mode)
    return os.open(path, os.O_RDWR | os.O_NONBLOCK)


def send_line(path: Path, line: str) -> bool:
    """Write one line to the supervisor's FIFO; False if nobody reads it (it is gone)."""
    try:
        fd = os.open(path, os.O_WRONLY | os.O_NONBLOCK)
    except OSError as exc:
        if exc.errno in (errno.ENXIO, errno.ENOENT):
            return False
        raise
    try:
        os.write(fd, (line + "\n").encode())
    finally:
        os.close(fd)
    return True


def watch_pid(pid: int) -> int | None:
    """A pidfd of ``pid``, or None if it has ended."""
    try:
        return os.pidfd_open(pid)
    except (ProcessLookupError, OSError):
        return None


def drain(fd: int, sink: Sink) -> None:
    """Copy what is buffered in ``fd`` now (the step's last output) to ``sink``."""
    while True:
        try:
            chunk = os.read(fd, _CHUNK)
        except BlockingIOError:
            return
        if not chunk:
            return
        sink(chunk)


async def read_line(fd: int, pidfd: int | None, sink: Sink | None = None,
                    out_fd: int | None = None) -> str | None:
    """The first line on ``fd``, copying ``out_fd`` to ``sink`` meanwhile; None if PID 1 died.

    Output that is still buffered when the line arrives is copied too.
    """
    loop = asyncio.get_running_loop()
    done: asyncio.Future[str | None] = loop.create_future()
    buffered = bytearray()

    def on_line() -> None:
        try:
            buffered.extend(os.read(fd, 4096))
        except BlockingIOError:
            return
        if b"\n" in buffered and not done.done():
            done.set_result(buffered.split(b"\n", 1)[0].decode("utf-8", "replace"))

    def on_death() -> None:
        if not done.done():
            on_line()
        if not done.done():
            done.set_result(None)

    def on_output() -> None:
        assert out_fd is not None and sink is not None
        with contextlib.suppress(BlockingIOError):
            chunk = os.read(out_fd, _CHUNK)
            if chunk:
                sink(chunk)

    loop.add_reader(fd, on_line)
    if pidfd is not None:
        loop.add_reader(pidfd, on_death)
    if out_fd is not None:
        loop.add_reader(out_fd, on_output)
    try:
        return await done
    finally:
        loop.remove_reader(fd)
        if pidfd is not None:
            loop.remove_reader(pidfd)
        if out_fd is not None:
            loop.remove_reader(out_fd)
            if sink is not None:
                drain(out_fd, sink)
