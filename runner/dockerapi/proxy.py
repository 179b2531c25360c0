"""The filtering proxy between a job's docker CLI and its podman API service.

One request per connection upstream (``Connection: close``), so nothing the
job sends after a request can reach podman unchecked. Each request is
matched against the endpoints a docker CLI uses; anything else (podman's own
``/libpod`` API above all, which could create a container with any option)
is refused. Container creates are checked (``policy``) and become libpod
creates in the job's pod; references to containers are resolved within the
job's own (``state``); networks are virtual (every container already shares
the job's network, as DinD's containers share the dind host). Once allowed,
hijacked streams (attach, exec start) and build output pass untouched.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import re
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import structlog

from runner.dockerapi import networks, replies, wire
from runner.dockerapi.policy import (
    LABEL_DIND,
    Bind,
    Refused,
    Scope,
    check_build,
    check_exec,
    check_volume,
    plan_create,
)
from runner.dockerapi.seed import Seeder, base_images, pulled_message
from runner.dockerapi.state import JobState
from runner.dockerapi.wire import BadRequest, Head, Target
from runner.engine.imageref import registry_of

log = structlog.get_logger(__name__)

LIBPOD_CREATE = "/v4.0.0/libpod/containers/create"
BUILDKIT_MESSAGE = (
    "runner: BuildKit is not available here ({what}): this job's Docker API builds with the "
    "classic builder (podman has no BuildKit API). Unset DOCKER_BUILDKIT or set "
    "DOCKER_BUILDKIT=0, and use 'docker build' rather than 'docker buildx' "
    "(see docs/docker-jobs.md)")
_PASS_EXACT = {("GET", "/_ping"), ("HEAD", "/_ping"), ("GET", "/version"), ("GET", "/info"),
               ("GET", "/events"), ("GET", "/system/df"), ("POST", "/auth")}
_CONTAINER = re.compile(r"/containers/([^/]+)(/[a-z]+)?")
_EXEC = re.compile(r"/exec/([0-9a-f]+)/(start|resize|json)")

Pin = Callable[[Bind], Awaitable[str]]
Hosts = Callable[[list[str]], Awaitable[None]]


class DockerProxy:
    """Serves one job's connections (plain, TLS or unix) to its podman service."""

    def __init__(self, upstream: Path, scope: Scope, *, pin: Pin, hosts: Hosts,
                 seeder: Seeder, scratch: Path) -> None:
        self.upstream = upstream
        self.seeder = seeder
        self.scratch = scratch
        """Private dir for build contexts on their way to podman."""
        self._builds = 0
        self.scope = scope
        self.state = JobState(prefix=scope.pod.removesuffix("-pod"))
        self._pin = pin
        self._hosts = hosts
        self.refused: list[str] = []
        """What was refused, in order (for tests and the job's record)."""

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        """One client connection: its requests, one at a time, until it closes."""
        try:
            while True:
                head = await wire.read_head(reader)
                if head is None:
                    break
                if not await self._request(head, reader, writer):
                    break
        except BadRequest as exc:
            await replies.send_error(writer, 400, "Bad Request", str(exc))
        except (ConnectionError, asyncio.IncompleteReadError, OSError):
            pass
        finally:
            with contextlib.suppress(Exception):
                writer.close()

    async def _request(self, head: Head, reader: asyncio.StreamReader,
                       writer: asyncio.StreamWriter) -> bool:
        """Answer one request; whether the connection may carry another (ours only)."""
        method, raw, _ = head.first
        target = wire.parse_target(raw)
        try:
            return await self._route(method, target, head, reader, writer)
        except Refused as exc:
            self.refused.append(str(exc))
            log.info("docker_api_refused", job=self.scope.job, reason=str(exc))
            await replies.send_error(writer, 403, "Forbidden", str(exc))
            await replies.drain(reader, writer)
            return False

    async def _route(self, method: str, target: Target, head: Head,
                     reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> bool:
        path = target.path
        if path == "/images/create" and method == "POST" and target.param("fromImage"):
            await self._pull(head, target, reader, writer)
        elif (method, path) in _PASS_EXACT or path.startswith("/images/"):
            await self._forward(head, target, reader, writer)
        elif path in ("/session", "/grpc") or path.startswith("/grpc/"):
            raise Refused(BUILDKIT_MESSAGE.format(what=f"{method} {path}"))
        elif path == "/build" and method == "POST":
            check_build(target.param("networkmode"))
            if target.param("version") == "2":
                raise Refused(BUILDKIT_MESSAGE.format(what="a BuildKit build"))
            await self._build(head, target, reader, writer)
        elif path == "/build/prune" and method == "POST":
            await wire.read_body(reader, head)
            await replies.send_json(writer, 200, {"CachesDeleted": [], "SpaceReclaimed": 0})
            return True
        elif path == "/networks" or path.startswith("/networks/"):
            body = await wire.read_body(reader, head)
            await replies.send_json(writer, *networks.answer(self.state, method, path, body))
            return True
        elif path == "/volumes/create" and method == "POST":
            body = await wire.read_body(reader, head)
            check_volume(replies.json_object(body))
            await self._forward(head, target, reader, writer, body=body)
        elif path == "/volumes" or path.startswith("/volumes/"):
            await self._forward(head, target, reader, writer)
        else:
            return await self._route_containers(method, target, head, reader, writer)
        return False

    async def _route_containers(self, method: str, target: Target, head: Head,
                                reader: asyncio.StreamReader,
                                writer: asyncio.StreamWriter) -> bool:
        path = target.path
        if path == "/commit" and method == "POST":
            target.replace("container", self._own(target.param("container") or ""))
            await self._forward(head, target, reader, writer)
        elif path == "/containers/create" and method == "POST":
            await self._create(head, target, reader, writer)
        elif path in ("/containers/json", "/containers/prune"):
            target.replace("filters", replies.with_label(target.param("filters"),
                                                  f"{LABEL_DIND}={self.scope.token}"))
            await self._forward(head, target, reader, writer)
        elif (match := _CONTAINER.fullmatch(path)) is not None:
            await self._container(method, match, head, target, (reader, writer))
        elif (match := _EXEC.fullmatch(path)) is not None:
            if match.group(1) not in self.state.execs:
                await wire.read_body(reader, head)
                await replies.send_error(writer, 404, "Not Found",
                                         f"No such exec instance: {match.group(1)}")
                return True
            await self._forward(head, target, reader, writer,
                                hijack=match.group(2) == "start")
        else:
            raise Refused(f"runner: this Docker API does not offer {method} {path}")
        return False

    async def _pull(self, head: Head, target: Target, reader: asyncio.StreamReader,
                    writer: asyncio.StreamWriter) -> None:
        """``docker pull``: from the user's store when it may (``seed``), else podman pulls.

        A ``localhost/`` image is never in a registry: once at hand, the pull is done.
        """
        image = target.param("fromImage") or ""
        tag = target.param("tag")
        if tag and "@" not in image and ":" not in image.rpartition("/")[2]:
            image = f"{image}:{tag}"
        await self.seeder.seed([image])
        if registry_of(image) == "localhost" and await self.seeder.present(image):
            await wire.read_body(reader, head)
            body = pulled_message(image)
            reply = Head(("HTTP/1.1", "200", "OK"), [
                ("Content-Type", "application/json"), ("Content-Length", str(len(body))),
                ("Connection", "close")])
            writer.write(reply.encode() + body)
            await writer.drain()
            return
        await self._forward(head, target, reader, writer)

    async def _build(self, head: Head, target: Target, reader: asyncio.StreamReader,
                     writer: asyncio.StreamWriter) -> None:
        """Spool the build context, seed its ``FROM`` images, then hand it to podman."""
        self._builds += 1
        context = self.scratch / f"context{self._builds}.tar"
        try:
            with context.open("wb") as out:
                await wire.copy_body_to(reader, out, head)
            await self.seeder.seed(base_images(context, target.param("dockerfile")
                                               or "Dockerfile"))
            await self._forward(head, target, reader, writer, body_file=context)
        finally:
            context.unlink(missing_ok=True)

    def _own(self, ref: str) -> str:
        real = self.state.container(ref)
        if real is None:
            raise Refused(f"runner: No such container: {ref}")
        return real

    async def _container(self, method: str, match: re.Match[str], head: Head, target: Target,
                         streams: tuple[asyncio.StreamReader, asyncio.StreamWriter]) -> None:
        reader, writer = streams
        ref, action = match.group(1), match.group(2) or ""
        real = self.state.container(ref)
        if real is None:
            await wire.read_body(reader, head)
            await replies.send_error(writer, 404, "Not Found", f"No such container: {ref}")
            return
        target.path = f"/containers/{real}{action}"
        if action == "/wait" and target.param("condition") == "removed":
            # podman 4.3 answers 0 for "removed" whatever the exit (containers/podman#18889)
            target.replace("condition", "next-exit")
        if action == "/exec" and method == "POST":
            body = await wire.read_body(reader, head)
            check_exec(replies.json_object(body))
            reply = await self._forward(head, target, reader, writer, body=body, keep=True)
            if isinstance(reply, dict) and isinstance(reply.get("Id"), str):
                self.state.execs.add(reply["Id"])
            return
        attach = action == "/attach"
        self.state.attached[real] = self.state.attached.get(real, 0) + attach
        try:
            await self._forward(head, target, reader, writer, hijack=attach)
        finally:
            self.state.attached[real] -= attach
        if method == "DELETE" and not action:
            self.state.forget(ref)
        elif real in self.state.autoremove and action in ("/wait", "/stop", "/attach"):
            if action != "/attach":
                self.state.ended.add(real)
            if real in self.state.ended and not self.state.attached[real]:
                # after the attached output is all out, as a daemon's --rm
                self.state.autoremove.discard(real)
                await self._ask("DELETE", f"/v1.41/containers/{real}?force=1")
                self.state.forget(ref)

    async def _create(self, head: Head, target: Target, reader: asyncio.StreamReader,
                      writer: asyncio.StreamWriter) -> None:
        body = replies.json_object(await wire.read_body(reader, head))
        name = target.param("name") or None
        if name is not None and name.startswith("/"):
            name = name[1:]
        plan = plan_create(body, name, self.scope)
        # --rm is done here, after the wait: podman 4.3 loses the output of a container it
        # removes itself, and answers exit 0 for "removed" (containers/podman#18889)
        remove = plan.spec.pop("remove")
        image = await self._image_id(plan.spec["image"])
        if image is None and await self.seeder.seed([plan.spec["image"]]):
            image = await self._image_id(plan.spec["image"])
        if image is None:
            await replies.send_error(writer, 404, "Not Found",
                                     f"No such image: {plan.spec['image']}")
            return
        plan.spec["image"] = image
        if name is not None:
            if name in self.state.names:
                await replies.send_error(writer, 409, "Conflict", f"Conflict. The container name "
                            f"\"/{name}\" is already in use by this job")
                return
            plan.spec["name"] = self.state.real_name(name)
        for bind in plan.binds:
            source = await self._pin(bind)
            plan.spec["mounts"].append({"destination": bind.dest, "type": "bind",
                                        "source": source, "options": ["rbind", *bind.options]})
        libpod = Head(("POST", LIBPOD_CREATE, "HTTP/1.1"), [
            ("Host", "d"), ("Content-Type", "application/json")])
        reply = await self._forward(libpod, wire.parse_target(LIBPOD_CREATE), reader, writer,
                                    body=json.dumps(plan.spec).encode(), keep=True)
        if isinstance(reply, dict) and isinstance(reply.get("Id"), str):
            self.state.ids.add(reply["Id"])
            if remove:
                self.state.autoremove.update({reply["Id"], str(plan.spec.get("name",
                                                                             reply["Id"]))})
            if name is not None:
                self.state.names[name] = plan.spec["name"]
            if plan.hosts:
                await self._hosts(plan.hosts)

    async def _image_id(self, image: str) -> str | None:
        """The id of ``image`` in the store (compat lookup rules), or None if absent."""
        status, reply = await self._ask("GET", f"/v1.41/images/{image}/json")
        if status == 200 and isinstance(reply, dict) and isinstance(reply.get("Id"), str):
            return str(reply["Id"]).removeprefix("sha256:")
        return None

    async def _ask(self, method: str, path: str) -> tuple[int, Any]:
        """A request of the proxy's own to podman; (status, JSON body)."""
        up_reader, up_writer = await asyncio.open_unix_connection(str(self.upstream))
        try:
            up_writer.write(f"{method} {path} HTTP/1.1\r\nHost: d\r\nConnection: close\r\n\r\n"
                            .encode())
            await up_writer.drain()
            raw = await up_reader.read()
        finally:
            up_writer.close()
        return replies.parse_response(raw)

    async def _forward(self, head: Head, target: Target, reader: asyncio.StreamReader,
                       writer: asyncio.StreamWriter, *, body: bytes | None = None,
                       hijack: bool = False, keep: bool = False,
                       body_file: Path | None = None) -> object:
        """Send the request to podman and its answer back; with ``keep``, the JSON answer too."""
        up_reader, up_writer = await asyncio.open_unix_connection(str(self.upstream))
        try:
            head.first = (head.first[0], target.encode(), "HTTP/1.1")
            if not hijack:
                head.drop("Upgrade")
                head.set("Connection", "close")
            if body is not None or body_file is not None:
                head.drop("Transfer-Encoding")
                head.set("Content-Length", str(
                    len(body) if body is not None else body_file.stat().st_size))  # type: ignore[union-attr]
            up_writer.write(head.encode())
            if body is not None:
                up_writer.write(body)
            elif body_file is not None:
                with body_file.open("rb") as source:
                    while piece := source.read(wire.COPY_CHUNK):
                        up_writer.write(piece)
                        await up_writer.drain()
            else:
                await wire.copy_body(reader, up_writer, head)
            await up_writer.drain()
            if hijack:
                await replies.splice(reader, writer, up_reader, up_writer)
                return None
            if keep:
                raw = await up_reader.read()
                writer.write(replies.closing(raw))
                await writer.drain()
                return replies.parse_response(raw)[1]
            first = await up_reader.readuntil(b"\r\n\r\n")
            writer.write(replies.closing(first))
            while piece := await up_reader.read(wire.COPY_CHUNK):
                writer.write(piece)
                await writer.drain()
            return None
        finally:
            up_writer.close()
