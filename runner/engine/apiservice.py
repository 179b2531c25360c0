"""The podman API service behind one job's Docker API: started, waited for, stopped.

``podman system service`` runs as the runner user on a unix socket in the
job's private scratch dir, never reachable by the job itself: only the
filtering proxy (``runner.dockerapi.proxy``) talks to it. It uses the job's
image store, so what the job builds lands where its tenant's images live.
"""

from __future__ import annotations

import asyncio
import os
import time
from pathlib import Path

from runner.engine.argv import StoreSpec, global_options
from runner.engine.procgroup import stop_group
from runner.errors import EngineError

START_TIMEOUT_S = 30.0
POLL_S = 0.05
STOP_GRACE_S = 5.0
IDLE_EXIT_S = 30
"""The service exits after this long without a request. The proxy pings it more often
than that while the job lives, so only a runner that died leaves it idle: then it goes
by itself (its containers go with the job's pod, which the next run sweeps)."""
KEEPALIVE_S = 10.0


def service_argv(socket: Path, runtime: str | None, store: StoreSpec | None) -> list[str]:
    """``podman system service`` on ``socket``, exiting once idle for ``IDLE_EXIT_S``."""
    return ["podman", *global_options(runtime, store), "system", "service",
            "--time", str(IDLE_EXIT_S), f"unix://{socket}"]


class ApiService:
    """One running ``podman system service``."""

    def __init__(self, socket: Path, log: Path, runtime: str | None,
                 store: StoreSpec | None) -> None:
        self.socket = socket
        self.log = log
        self.argv = service_argv(socket, runtime, store)
        self._proc: asyncio.subprocess.Process | None = None

    async def start(self) -> None:
        """Start the service and wait until its socket answers ``/_ping``."""
        fd = os.open(self.log, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
        try:
            self._proc = await asyncio.create_subprocess_exec(
                *self.argv, stdin=asyncio.subprocess.DEVNULL, stdout=fd, stderr=fd,
                start_new_session=True)
        finally:
            os.close(fd)
        began = time.monotonic()
        while time.monotonic() - began < START_TIMEOUT_S:
            if self._proc.returncode is not None:
                break
            if await self._pings():
                return
            await asyncio.sleep(POLL_S)
        said = self.log.read_text(errors="replace").strip()[-500:]
        await self.stop()
        raise EngineError(f"podman system service did not start: {said or 'no output'}")

    async def _pings(self) -> bool:
        try:
            reader, writer = await asyncio.open_unix_connection(str(self.socket))
        except OSError:
            return False
        try:
            writer.write(b"GET /_ping HTTP/1.1\r\nHost: d\r\nConnection: close\r\n\r\n")
            await writer.drain()
            return (await reader.read(12)).startswith(b"HTTP/1.1 200")
        except OSError:
            return False
        finally:
            writer.close()

    async def keepalive(self) -> None:
        """Ping the service until cancelled, so that it never idles out while the job runs."""
        while True:
            await asyncio.sleep(KEEPALIVE_S)
            await self._pings()

    async def stop(self) -> None:
        """Stop the service (its containers are the pod's: the pod's removal takes them)."""
        proc, self._proc = self._proc, None
        if proc is not None:
            await stop_group(proc, STOP_GRACE_S)
