"""Client of ``nshelper``: file work inside podman's user namespace, one request at a time."""

from __future__ import annotations

import asyncio
import base64
import contextlib
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from runner.engine import podman
from runner.errors import EngineError


@dataclass(frozen=True)
class Collected:
    """What a collect request copied, and the patterns that matched nothing."""

    matched: tuple[str, ...]
    unmatched: tuple[str, ...]


class NamespaceHelper:
    """A long-lived ``podman unshare`` helper process; start it once per run."""

    def __init__(self) -> None:
        self._proc: asyncio.subprocess.Process | None = None
        self._lock = asyncio.Lock()
        self._starting: asyncio.Task[None] | None = None
        self._pid = 0

    @classmethod
    def started(cls) -> NamespaceHelper:
        """A new helper, already launching."""
        helper = cls()
        helper.launch()
        return helper

    def alive(self) -> bool:
        """False once the helper process has ended (a long-lived owner then starts another)."""
        return self._proc is None or self._proc.returncode is None

    def launch(self) -> None:
        """Start spawning the helper in the background; the first request waits for it.

        Spawning overlaps with the first container starts, so it costs no wall time.
        """
        self._starting = asyncio.create_task(self._start())

    async def _start(self) -> None:
        self._proc = await podman.spawn_unshared_python("runner.engine.nshelper")
        reply = await self._request({"op": "ping"})
        if reply.get("uid") != 0:
            raise EngineError("podman unshare did not make the helper root in its namespace")
        self._pid = int(reply.get("pid") or 0)

    async def pid(self) -> int:
        """The helper's pid: ``nsenter --target`` it to join podman's user and mount namespace."""
        if self._starting is not None:
            await self._starting
        if self._pid <= 0:
            raise EngineError("the namespace helper did not say its pid")
        return self._pid

    async def close(self) -> None:
        """Let the helper exit (it stops when its stdin closes)."""
        if self._starting is not None:
            with contextlib.suppress(Exception):
                await self._starting
        proc = self._proc
        if proc is None:
            return
        if proc.stdin is not None:
            proc.stdin.close()
        await proc.wait()
        self._proc = None

    async def prepare(
        self,
        *,
        workspace: Path,
        control: Path,
        uid: int,
        gid: int,
        source: Path,
        files: Sequence[str],
        layers: Sequence[Path],
        caches: Sequence[Path],
        scripts: Mapping[str, str],
    ) -> None:
        """Fill ``workspace`` (source, then layers), write ``scripts``; give both to the slice."""
        await self._call({
            "op": "prepare",
            "workspace": str(workspace),
            "control": str(control),
            "uid": uid,
            "gid": gid,
            "source": str(source),
            "files": list(files),
            "layers": [str(layer) for layer in layers],
            "caches": [str(cache) for cache in caches],
            "scripts": dict(scripts),
        })

    async def collect(
        self, workspace: Path, patterns: Sequence[str], dest: Path, *, max_bytes: int | None,
        replace: bool = False, exclude: Sequence[str] = (),
        untracked: Sequence[str] | None = None,
    ) -> Collected:
        """Copy matching paths out of ``workspace`` into ``dest`` (owned by us).

        ``exclude`` globs leave matching paths out; with ``untracked`` (the
        source snapshot's files) every other file of the workspace is copied too.
        """
        request: dict[str, Any] = {
            "op": "collect",
            "workspace": str(workspace),
            "patterns": list(patterns),
            "dest": str(dest),
            "replace": replace,
            "max_bytes": max_bytes,
            "exclude": list(exclude),
        }
        if untracked is not None:
            request["untracked"] = list(untracked)
        reply = await self._call(request)
        return Collected(tuple(reply["matched"]), tuple(reply["unmatched"]))

    async def open_ports(self, pid: int, ports: Sequence[int]) -> list[int]:
        """Which loopback ``ports`` accept connections in the network namespace of ``pid``."""
        reply = await self._call({"op": "probe", "pid": pid, "ports": list(ports)})
        return [int(port) for port in reply["open"]]

    async def docker_listen(self, pid: int, ports: Sequence[int], to: Path) -> None:
        """Listening sockets on loopback ``ports`` of ``pid``'s network, sent to socket ``to``."""
        await self._call({"op": "docker_listen", "pid": pid, "ports": list(ports), "to": str(to)})

    async def docker_pin(self, workspace: Path, rel: str, target: Path) -> None:
        """Bind-mount ``rel`` of ``workspace`` (no symlink followed) onto new ``target``."""
        await self._call({"op": "docker_pin", "workspace": str(workspace), "rel": rel,
                          "target": str(target)})

    async def docker_hosts(self, pid: int, names: Sequence[str]) -> None:
        """Make ``names`` resolve to 127.0.0.1 in the /etc/hosts of ``pid``."""
        await self._call({"op": "docker_hosts", "pid": pid, "names": list(names)})

    async def disk_usage(self, *paths: Path, pids: Sequence[tuple[int, int]] = ()) -> int:
        """Bytes of disk the trees under ``paths`` take, whichever slice owns them, plus the
        deleted files held in the PID namespaces of ``pids`` (containers' PID 1s, each with
        its start time: ``diskusage.start_time``)."""
        reply = await self._call({"op": "usage", "paths": [str(path) for path in paths],
                                  "pids": [list(pid) for pid in pids]})
        return int(reply["bytes"])

    async def remove(self, *paths: Path) -> None:
        """Remove paths whichever slice owns their contents."""
        await self._call({"op": "remove", "paths": [str(path) for path in paths]})

    async def write_dir(self, control: Path, name: str, files: Mapping[str, str],
                        uid: int, gid: int) -> None:
        """Make ``control/name`` (new) holding ``files``, owned by the job's slice."""
        await self._call({"op": "write", "dir": str(control), "name": name,
                          "files": dict(files), "uid": uid, "gid": gid})

    async def read_dir(self, control: Path, name: str, names: Sequence[str],
                       max_bytes: int) -> tuple[dict[str, bytes], list[str]]:
        """What the job left in ``control/name``'s files ``names`` (each cut at ``max_bytes``;
        links and other non-files read as empty), and which were cut; the dir is removed."""
        reply = await self._call({"op": "read", "dir": str(control), "name": name,
                                  "names": list(names), "max_bytes": max_bytes})
        files = {key: base64.b64decode(value) for key, value in reply["files"].items()}
        return files, list(reply["over"])

    async def gather(self, pid: int, base: str, include: Sequence[str], dest: Path, *,
                     exclude: Sequence[str] = (), max_bytes: int | None = None,
                     hidden: bool = True) -> tuple[str, list[str]]:
        """Copy files under the running container's dir ``base`` into ``dest`` (ours): the
        base used (a file's directory when ``base`` is a file) and the paths copied."""
        reply = await self._call({"op": "gather", "pid": pid, "base": base,
                                  "include": list(include), "exclude": list(exclude),
                                  "dest": str(dest), "max_bytes": max_bytes, "hidden": hidden})
        return str(reply["base"]), list(reply["files"])

    async def put(self, src: Path, pid: int, base: str, uid: int, gid: int) -> None:
        """Copy the tree ``src`` (ours) into the running container's dir ``base``."""
        await self._call({"op": "put", "src": str(src), "pid": pid, "base": base,
                          "uid": uid, "gid": gid})

    async def hash_files(self, pid: int, base: str, include: Sequence[str],
                         exclude: Sequence[str] = ()) -> str:
        """GitHub's ``hashFiles`` over the running container's dir ``base``."""
        reply = await self._call({"op": "hash", "pid": pid, "base": base,
                                  "include": list(include), "exclude": list(exclude)})
        return str(reply["hash"])

    async def _call(self, request: dict[str, Any]) -> dict[str, Any]:
        if self._starting is None:
            raise EngineError("namespace helper was never launched")
        await self._starting
        return await self._request(request)

    async def _request(self, request: dict[str, Any]) -> dict[str, Any]:
        proc = self._proc
        if proc is None or proc.stdin is None or proc.stdout is None:
            raise EngineError("namespace helper is not running")
        async with self._lock:
            try:
                proc.stdin.write(json.dumps(request).encode() + b"\n")
                await proc.stdin.drain()
                line = await proc.stdout.readline()
            except (BrokenPipeError, ConnectionResetError):
                line = b""
            if not line:
                err = b""
                if proc.stderr is not None:
                    err = await proc.stderr.read()
                raise EngineError(
                    "podman unshare helper ended unexpectedly: "
                    + err.decode("utf-8", "replace").strip()
                )
        reply: dict[str, Any] = json.loads(line)
        if not reply.get("ok"):
            raise EngineError(f"{request['op']} in the user namespace failed: {reply.get('error')}")
        return reply
