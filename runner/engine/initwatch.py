"""Learn from the kernel, not from podman, that a job container has no process left.

When a PID namespace's init (our supervisor, PID 1) exits, the kernel kills
every other process in the namespace and waits for them before the init's
own exit is reported. A pidfd on the init therefore becomes readable only
once nothing of the job can touch its workspace any more. That comes
100-300 ms before ``podman run --rm`` exits (it still unmounts and deletes
the container), and dependent jobs need not wait for that bookkeeping.

The pid comes from podman's ``--pidfile``, a host path the container never
sees, so a job cannot point us at another process.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import time
from pathlib import Path


def read_pid(pidfile: Path) -> int | None:
    """The host pid podman or runc wrote for a container's PID 1 (a host path no job can
    reach); None if it is not there yet, or not a process that can be a container's."""
    try:
        pid = int(pidfile.read_text(encoding="ascii").strip())
    except (OSError, ValueError):
        return None
    return pid if pid > 1 else None


async def wait_pid(pidfile: Path, timeout_s: float = 10.0) -> int | None:
    """``read_pid`` once the file is there: conmon may write it a moment after the
    container's first output (seen under load)."""
    deadline = time.monotonic() + timeout_s
    while (pid := read_pid(pidfile)) is None and time.monotonic() < deadline:
        await asyncio.sleep(0.02)
    return pid


class InitWatch:
    """A pidfd on a container's PID 1."""

    def __init__(self, fd: int) -> None:
        self._fd = fd
        self._ended: asyncio.Event | None = None

    @classmethod
    def open(cls, pidfile: Path) -> InitWatch | None:
        """Watch the pid podman wrote; None if that is impossible (then wait for podman)."""
        pid = read_pid(pidfile)
        if pid is None:
            return None
        try:
            return cls(os.pidfd_open(pid))
        except OSError:
            return None

    async def ended(self) -> None:
        """Return once the process has exited (at once if it already has)."""
        if self._ended is None:
            event = self._ended = asyncio.Event()
            loop = asyncio.get_running_loop()

            def readable() -> None:
                loop.remove_reader(self._fd)
                event.set()

            loop.add_reader(self._fd, readable)
        await self._ended.wait()

    def kill(self) -> bool:
        """SIGKILL the process; False if the kernel refused (then podman or runc must).

        A SIGKILL reaches a stopped or traced process too, and the death of a
        PID namespace's init takes every other process of the namespace with it:
        nothing the job does to PID 1 can delay it.
        """
        if self._fd < 0:
            return False
        try:
            signal.pidfd_send_signal(self._fd, signal.SIGKILL)
        except ProcessLookupError:
            return True  # it has ended already
        except OSError:
            return False
        return True

    def close(self) -> None:
        """Release the pidfd; safe to call twice."""
        if self._fd < 0:
            return
        if self._ended is not None and not self._ended.is_set():
            with contextlib.suppress(RuntimeError):  # the loop may already be closed
                asyncio.get_running_loop().remove_reader(self._fd)
        os.close(self._fd)
        self._fd = -1
