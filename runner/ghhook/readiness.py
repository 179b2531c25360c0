"""Waiting for a hook job's services, as ``runner exec`` and the docker hook do.

A service with a health command (``options: --health-cmd ...``, the usual
GitHub way) must pass it: one that never does fails ``prepare_job``, as the
reference docker hook fails it. Any other service is waited for until its
ports accept connections inside the pod (``ports:``' container ports, else
the image's exposed ones), at most ``READY_TIMEOUT_S``; one that does not
listen by then gets a warning and the job runs anyway (gitlab-runner's rule).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Sequence

from runner.engine import hookrun, pods
from runner.engine.hookargv import Publish
from runner.engine.namespace import NamespaceHelper
from runner.errors import EngineError
from runner.execute.services import MAX_EXPOSED_CHECKED, READY_TIMEOUT_S
from runner.ghhook.context import HookContext
from runner.ghhook.hookinput import HookContainer
from runner.ghhook.options import CreateOptions

POLL_S = 0.1
HEALTH_POLL_S = 1.0


async def wait_ready(services: Sequence[HookContainer], *, options: Sequence[CreateOptions],
                     ports: Sequence[tuple[Publish, ...]], names: Sequence[str], pid: int,
                     ctx: HookContext) -> None:
    """Return once every service is ready (or, without a health command, has had its time)."""
    checked = [(name, o) for name, o in zip(names, options, strict=True) if o.health]
    await asyncio.gather(*(_healthy(name, o, ctx) for name, o in checked))
    rest = [(n, s, p) for n, s, o, p in zip(names, services, options, ports, strict=True)
            if not o.health]
    if not rest or pid <= 0:
        return
    unlisted = [s.image for _, s, p in rest if not p and s.image is not None]
    exposed = await pods.exposed_ports(unlisted) if unlisted else {}
    wanted = {name: tuple(x.container_port for x in p if x.proto == "tcp")
              or exposed.get(str(s.image), ())[:MAX_EXPOSED_CHECKED] for name, s, p in rest}
    every = sorted({port for listed in wanted.values() for port in listed})
    if not every:
        return
    helper = NamespaceHelper.started()
    began = time.monotonic()
    open_ports: set[int] = set()
    try:
        while time.monotonic() - began < READY_TIMEOUT_S:
            open_ports = set(await helper.open_ports(pid, every))
            if set(every) <= open_ports:
                break
            await asyncio.sleep(POLL_S)
    finally:
        await helper.close()
    for name, service, _ in rest:
        missing = [port for port in wanted[name] if port not in open_ports]
        if missing:
            ctx.notice(f"runner: warning: service {service.image} was not listening on port "
                       f"{', '.join(map(str, missing))} after {READY_TIMEOUT_S:g}s; the job "
                       "runs anyway. Its last output:")
            ctx.notice(await pods.logs(name))
        elif wanted[name]:
            ctx.notice(f"runner: service {service.image} ready on port "
                       f"{', '.join(map(str, wanted[name]))} after "
                       f"{time.monotonic() - began:.2f}s")


async def _healthy(name: str, options: CreateOptions, ctx: HookContext) -> None:
    """Run the health command until it passes; raise once docker would call it unhealthy.

    docker runs it every ``interval`` and calls a container unhealthy after
    ``retries`` failures in a row past ``start_period``. Here it runs at
    least every second (a fast service is ready sooner), and the service
    fails no sooner than docker's verdict would come.
    """
    health = options.health
    assert health is not None
    began = time.monotonic()
    failures = 0
    while True:
        if await hookrun.healthy(name):
            ctx.notice(f"runner: service {name} healthy after {time.monotonic() - began:.2f}s")
            return
        took = time.monotonic() - began
        if took >= health.start_period_s:
            failures += 1
        verdict = health.start_period_s + health.interval_s * health.retries
        if (failures >= health.retries and took >= verdict) or \
                not (await pods.state(name)).startswith("running"):
            break
        await asyncio.sleep(min(health.interval_s, HEALTH_POLL_S))
    said = await pods.logs(name)
    raise EngineError(f"service {name} did not pass its health check "
                      f"({health.command!r}); its last output:\n{said}")
