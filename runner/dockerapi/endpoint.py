"""One job's Docker API, for the job's lifetime: service, proxy, listeners, certificates.

Where the job finds it, as with a ``docker:dind`` service: ``tcp://docker:2375``,
``tcp://docker:2376`` with TLS (certificates in ``$DOCKER_TLS_CERTDIR/client``)
and ``unix:///var/run/docker.sock``. The TCP listeners are sockets opened
inside the job's network namespace by the namespace helper and handed to
this process, so they exist only on the job's own loopback: no other job,
and nothing on the host, can connect to them. The unix socket lives in the
job's private scratch dir and is mounted into the job container alone.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import secrets
import socket
from dataclasses import dataclass
from pathlib import Path

from runner.dockerapi.certs import CertSet, make_certs
from runner.dockerapi.policy import Bind, Refused, Scope
from runner.dockerapi.proxy import DockerProxy
from runner.dockerapi.seed import Seeder
from runner.dockerapi.tlsrelay import Handler, tls_handler
from runner.engine.apiservice import ApiService
from runner.engine.argv import StoreSpec
from runner.engine.namespace import NamespaceHelper
from runner.errors import EngineError

PLAIN_PORT = 2375
TLS_PORT = 2376
SOCKET_IN_JOB = "/var/run/docker.sock"


@dataclass(frozen=True)
class DockerWish:
    """What the job asked for: host names for its endpoint, and where its certificates go."""

    aliases: tuple[str, ...]
    certdir: str | None
    """``DOCKER_TLS_CERTDIR`` in the job (absolute), or None: no TLS port."""


def runtime_dir() -> Path:
    """Short paths for the unix sockets (a socket path may have at most 107 bytes)."""
    base = os.environ.get("XDG_RUNTIME_DIR") or f"/tmp/runner-{os.getuid()}"  # noqa: S108
    return Path(base) / "runner" / "dind"


class JobDocker:
    """Start with ``prepare`` (before the job container: it needs ``mounts``), then
    ``attach`` once the job's network namespace exists, ``close`` at the end."""

    def __init__(self, wish: DockerWish, scope: Scope, *, scratch: Path, workspace: Path,
                 helper: NamespaceHelper, runtime: str | None, store: StoreSpec | None,
                 private_hosts: frozenset[str] = frozenset()) -> None:
        self.wish = wish
        self.scope = scope
        self.scratch = scratch
        self.workspace = workspace
        self.helper = helper
        self.sockets = runtime_dir() / scope.token[:16]
        self.service = ApiService(self.sockets / "podman.sock", scratch / "podman.log",
                                  runtime, store)
        self.proxy = DockerProxy(self.service.socket, scope, pin=self._pin, hosts=self._hosts,
                                 seeder=Seeder(store, private_hosts), scratch=scratch)
        self.certs: CertSet | None = None
        self._servers: list[asyncio.Server] = []
        self._keepalive: asyncio.Task[None] | None = None
        self._pid = 0
        self._pins = 0

    @classmethod
    def token(cls) -> str:
        """A fresh per-job token (labels, socket dir)."""
        return secrets.token_hex(16)

    def mounts(self) -> list[tuple[Path, str]]:
        """(host path, path in the job container) to mount: the socket, the client certs."""
        found = [(self.sockets / "docker.sock", SOCKET_IN_JOB)]
        if self.certs is not None and self.wish.certdir is not None:
            found.append((self.certs.client, f"{self.wish.certdir.rstrip('/')}/client"))
        return found

    async def prepare(self) -> None:
        """Certificates, the podman service and the unix-socket proxy."""
        self.scratch.mkdir(mode=0o700)
        self.sockets.mkdir(mode=0o700, parents=True)
        if self.wish.certdir is not None:
            self.certs = await make_certs(self.scratch / "certs", [*self.wish.aliases, "docker"])
        await self.service.start()
        self._keepalive = asyncio.create_task(self.service.keepalive())
        path = self.sockets / "docker.sock"
        server = await asyncio.start_unix_server(self.proxy.handle, path=str(path))
        path.chmod(0o666)  # the job's uid slice is not the runner user
        self._servers.append(server)

    async def attach(self, pid: int) -> None:
        """Listen on the job's loopback (2375, and 2376 with TLS) in the netns of ``pid``."""
        self._pid = pid
        ports = [PLAIN_PORT] + ([TLS_PORT] if self.certs is not None else [])
        handoff = self.sockets / "handoff.sock"
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as server:
            server.bind(str(handoff))
            server.listen(1)
            server.setblocking(False)
            loop = asyncio.get_running_loop()
            sent = asyncio.ensure_future(self.helper.docker_listen(pid, ports, handoff))
            conn, _ = await loop.sock_accept(server)
            with conn:
                conn.setblocking(True)
                _, fds, _, _ = await asyncio.to_thread(socket.recv_fds, conn, 16, len(ports))
            await sent
        handoff.unlink(missing_ok=True)
        for port, fd in zip(ports, fds, strict=True):
            sock = socket.socket(fileno=fd)
            handle: Handler = self.proxy.handle
            if port == TLS_PORT and self.certs is not None:
                handle = tls_handler(self.certs.server_context(), handle)
            self._servers.append(await asyncio.start_server(handle, sock=sock))

    async def _pin(self, bind: Bind) -> str:
        self._pins += 1
        target = self.scratch / f"pin{self._pins}"
        try:
            await self.helper.docker_pin(self.workspace, bind.rel, target)
        except EngineError as exc:
            said = str(exc).rpartition(": ")[2]
            raise Refused(f"runner: bind mount of {bind.rel or '.'} refused: {said} (only real"
                          " directories and files in the job's workspace, reached without"
                          " symbolic links, can be mounted)") from None
        return str(target)

    async def _hosts(self, names: list[str]) -> None:
        if self._pid:
            await self.helper.docker_hosts(self._pid, names)

    async def close(self) -> None:
        """Stop listening and stop the service (the job's pod takes its containers)."""
        for server in self._servers:
            server.close()
        self._servers = []
        if self._keepalive is not None:
            self._keepalive.cancel()
            self._keepalive = None
        await self.service.stop()
        with contextlib.suppress(OSError):
            for path in self.sockets.iterdir():
                path.unlink()
            self.sockets.rmdir()
