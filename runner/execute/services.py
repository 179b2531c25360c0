"""A job's services: its own pod, the service containers in it, readiness, removal.

Each job with services gets a pod of its own, so two jobs may both have a
``postgres`` on localhost:5432 without meeting. The pod carries the job's
UID slice; services get the job's plain variables plus their own (never its
secrets, which only the job's own container may see). Readiness is judged
from inside the pod's network: a service is ready when every port it should
listen on (``ports``, else its image's exposed ports) accepts a connection.
A service that is not ready in time gets a clear line and its own log in
the job log, and the job runs anyway, as with gitlab-runner.
"""

from __future__ import annotations

import asyncio
import json
import os
import shlex
import time
from collections.abc import Callable, Sequence
from pathlib import Path

import structlog

from runner.engine import pods
from runner.engine.argv import Resources, StoreSpec, Written
from runner.engine.imageref import ImageRef
from runner.engine.namespace import NamespaceHelper
from runner.engine.podargv import PodSpec, ServiceSpec, pod_remove_argv
from runner.engine.podman import container_written
from runner.engine.slices import Lease, SliceAllocator
from runner.errors import EngineError
from runner.execute.health import check_service, service_label
from runner.pipeline.model import Service

log = structlog.get_logger(__name__)

READY_TIMEOUT_S = 30.0
"""gitlab-runner's default ``wait_for_services_timeout``."""
MAX_EXPOSED_CHECKED = 20
"""gitlab-runner checks at most 20 of an image's exposed ports (the lowest)."""
POLL_S = 0.05
STATE_EVERY = 10
"""Every tenth poll (half a second), ask podman whether waited-for services still run."""


class JobPod:
    """The pod of one job attempt and its service containers."""

    def __init__(self, spec: PodSpec, services: Sequence[Service], images: Sequence[ImageRef],
                 scratch: Path, resources: Resources | None = None) -> None:
        """``images`` are the services' images, parsed and qualified (``service_images``)."""
        self.spec = spec
        self.resources = resources or Resources()
        self.services = tuple(services)
        self.images = tuple(images)
        self.scratch = scratch
        self.names = [f"{spec.name}-svc{index}" for index in range(len(services))]
        self.created = False
        self.marker: Path | None = None

    async def create(self, marker: Path | None = None) -> None:
        """Create the (empty) pod; the job container and the services join it.

        ``marker`` is the slice's pod marker (see ``remove_stale_pod``): it
        names ours until ``remove``.
        """
        if marker is not None:  # whole or not at all: a torn marker would hide the pod
            partial = marker.with_name(marker.name + ".new")
            partial.write_text(_marker_text(self.spec.name, self.spec.store))
            partial.replace(marker)
            self.marker = marker
        await pods.create_pod(self.spec)
        self.created = True

    async def start_services(self, env: Sequence[tuple[str, str]]) -> None:
        """Start every service at once (their images pull in parallel)."""
        starts = []
        for index, (name, service, image) in enumerate(
                zip(self.names, self.services, self.images, strict=True)):
            env_file = self.scratch / f"service{index}.env"
            _write_env(env_file, [*env, *service.variables])
            starts.append(pods.start_service(self.spec, ServiceSpec(
                name=name, image=image, env_file=env_file,
                entrypoint=service.entrypoint, command=service.command,
                resources=self.resources)))
        results = await asyncio.gather(*starts, return_exceptions=True)
        for result in results:
            if isinstance(result, BaseException):
                raise result

    async def wait_ready(self, helper: NamespaceHelper, pid: int, notice: Callable[[str], None],
                         canceled: asyncio.Event, *, timeout_s: float = READY_TIMEOUT_S,
                         job_timeout_s: float | None = None) -> list[str]:
        """Wait until every service is ready; say which was not, with its log.

        A service with ``health`` is ready when its command succeeds (it may take
        the job's whole time, ``job_timeout_s``); the names of those that never did
        are returned, and the job fails. The others are waited for on their ports
        for ``timeout_s`` at most; one not listening gets a warning and the job runs.
        Stops early on Ctrl-C (``canceled``) and for services that have exited.
        """
        checked = [(name, service) for name, service in zip(self.names, self.services,
                                                            strict=True) if service.health]
        ports = ([self._wait_ports(helper, pid, notice, canceled, timeout_s)]
                 if len(checked) < len(self.services) else [])
        verdicts = await asyncio.gather(
            *ports,
            *(check_service(name, service, runtime=self.spec.runtime, store=self.spec.store,
                            notice=notice, canceled=canceled, limit_s=job_timeout_s or timeout_s)
              for name, service in checked))
        return [service_label(service) for (_, service), healthy in zip(
            checked, verdicts[len(ports):], strict=True) if not healthy and not canceled.is_set()]

    async def _wait_ports(self, helper: NamespaceHelper, pid: int,
                          notice: Callable[[str], None], canceled: asyncio.Event,
                          timeout_s: float) -> bool:
        """Wait until every service without a health command listens (always True)."""
        listed = [(name, service, image) for name, service, image in zip(
            self.names, self.services, self.images, strict=True) if service.health is None]
        exposed = await pods.exposed_ports(
            [image for _, service, image in listed if not service.ports], self.spec.store)
        wanted = {name: service.ports or exposed.get(image, ())[
                      :MAX_EXPOSED_CHECKED if service.ready_on_any else None]
                  for name, service, image in listed}
        ports = sorted({port for each in wanted.values() for port in each})
        for name, service, _ in listed:
            if not wanted[name]:
                notice(f"runner: service {service.image} exposes no port; not waiting for it "
                       "(give it 'ports' to wait)")
        began = time.monotonic()
        open_ports: set[int] = set()
        exited: set[str] = set()
        polls = 0
        while ports and not canceled.is_set():
            open_ports = set(await helper.open_ports(pid, ports))
            waiting = [n for n, s, _ in listed
                       if n not in exited and not _ready(s, wanted[n], open_ports)]
            if not waiting or time.monotonic() - began > timeout_s:
                break
            polls += 1
            if polls % STATE_EVERY == 0:  # a service that has exited will never listen
                for name in waiting:
                    if not (await pods.state(name, self.spec.store)).startswith("running"):
                        exited.add(name)
            await asyncio.sleep(POLL_S)
        if canceled.is_set():
            return True
        took = time.monotonic() - began
        for name, service, _ in listed:
            if not wanted[name]:
                continue
            if _ready(service, wanted[name], open_ports):
                listening = [port for port in wanted[name] if port in open_ports]
                notice(f"runner: service {service.image} ready on port "
                       f"{', '.join(map(str, listening))} after {took:.2f}s")
            else:
                missing = [port for port in wanted[name] if port not in open_ports]
                await self._explain(name, service, missing, timeout_s, notice)
        return True

    async def _explain(self, name: str, service: Service, missing: list[int], timeout_s: float,
                       notice: Callable[[str], None]) -> None:
        state = await pods.state(name, self.spec.store)
        waited = "it exited" if not state.startswith("running") else f"after {timeout_s:g}s"
        notice(f"runner: warning: service {service.image} was not listening on port "
               f"{', '.join(map(str, missing))} ({waited}; container {state}); "
               "the job runs anyway. The service's last output:")
        for line in (await pods.logs(name, store=self.spec.store)).splitlines() or ["(none)"]:
            notice(f"  {line}")

    async def end(self) -> None:
        """Remove the pod now, before the job's files are collected; raises if podman could not.

        A service outlives the job container and shares its network: handed a
        descriptor of the workspace (over an abstract unix socket), it could
        change the files while runner copies them out. So no process of the
        job may be left when collection starts, or collection does not start.
        """
        await self.remove()
        if self.created:
            raise EngineError(f"the job's services (pod {self.spec.name}) could not be stopped;"
                              " its artifacts and caches are not collected")

    async def written(self) -> list[Written]:
        """Where each running service writes on the host (its layer, volumes, PID 1)."""
        return [await container_written(name, self.spec.runtime, self.spec.store)
                for name in self.names]

    async def remove(self) -> None:
        """Remove the pod with every container in it; safe to call twice.

        If podman fails, the slice's marker stays, so the next holder of the
        slice removes the pod before its own services could meet these.
        """
        if not self.created:
            return
        try:
            await pods.remove_pod(self.spec.name, self.spec.runtime, self.spec.store)
        except EngineError as exc:
            log.warning("pod_not_removed", pod=self.spec.name, error=str(exc))
            return
        self.created = False
        if self.marker is not None:
            self.marker.unlink(missing_ok=True)
            self.marker = None


async def clean_slot(slices: SliceAllocator, runtime: str | None,
                     notice: Callable[[str], None]) -> Lease:
    """A uid slot with no pod left on it: stale pods are removed, or their slot set aside.

    A slot whose pod podman cannot remove is not used again in this run, and
    the job log says once what to run; the job takes the next slot.
    """
    while True:
        lease = await slices.lease()
        try:
            stale = await remove_stale_pod(lease.pod_marker, runtime)
        except StalePod as exc:
            slices.put_aside(lease)
            notice(f"runner: warning: {exc}; this job uses another uid slot (the pod's will"
                   f" not be used again in this run). Remove it with: {exc.command}")
            continue
        if stale:
            notice(f"runner: removed pod {stale}, left on this job's uid slice by a run that"
                   " ended without cleaning up")
        return lease


class StalePod(EngineError):
    """A pod left on a uid slot that podman could not remove; ``command`` removes it by hand."""

    def __init__(self, text: str, command: str) -> None:
        super().__init__(text)
        self.command = command


async def remove_stale_pod(marker: Path | None, runtime: str | None) -> str | None:
    """Remove the pod a slice's marker names, if any; its name, if there was one to remove
    (a crashed run's sweep may have removed it already).

    Called right after the slice is leased: a pod still named then was left
    by a holder that died (services run detached and hold no lock), and its
    services would share the new job's ids.
    """
    if marker is None:
        return None
    try:
        text = marker.read_text().strip()
    except FileNotFoundError:
        return None
    stale, store = _read_marker(text)
    removed = False
    if stale:
        try:
            removed = await pods.remove_pod(stale, runtime, store)
        except EngineError as exc:
            said = str(exc).splitlines()[0] if str(exc) else ""
            command = shlex.join(pod_remove_argv(stale, runtime, store))
            raise StalePod(f"pod {stale} was left on uid slot marker {marker.name} and podman"
                           f" could not remove it ({said[:300]})", command) from exc
    marker.unlink(missing_ok=True)
    return stale if removed else None


def _ready(service: Service, wanted: Sequence[int], open_ports: set[int]) -> bool:
    """Whether ``service`` listens: on any of ``wanted`` (``ready_on_any``), else on all."""
    if service.ready_on_any:
        return any(port in open_ports for port in wanted)
    return set(wanted) <= open_ports


def _marker_text(pod: str, store: StoreSpec | None) -> str:
    """A slice's pod marker: the pod's name and, if not the user's, its store."""
    return json.dumps({"pod": pod, **(store.to_json() if store is not None else {})}) + "\n"


def _read_marker(text: str) -> tuple[str, StoreSpec | None]:
    """(pod, store) from a marker; a bare name (older runners) is a pod in the user's store."""
    if not text.startswith("{"):
        return text, None
    try:
        doc = json.loads(text)
        return str(doc["pod"]), StoreSpec.from_json(doc) if "root" in doc else None
    except (ValueError, KeyError, TypeError):
        return "", None


def _write_env(path: Path, env: Sequence[tuple[str, str]]) -> None:
    """An env file podman reads (``--env-file``): one ``NAME=value`` per line, 0600.

    Values with a newline cannot be written in that format and are left out.
    """
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as out:
        for name, value in env:
            if "\n" not in value:
                out.write(f"{name}={value}\n")
