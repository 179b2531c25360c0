"""The only place pods and service containers are made, inspected and removed."""

from __future__ import annotations

import asyncio
import json
import os
import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from runner.engine import podargv
from runner.engine.argv import StoreSpec, force_remove_argv
from runner.engine.imageref import ImageRef
from runner.engine.podargv import PodSpec, ServiceSpec
from runner.engine.podman import PULL_FAILED, ImageUnavailable, run_captured
from runner.errors import EngineError

_INFRA_RACE = "paused or unknown state"


async def create_pod(spec: PodSpec) -> None:
    """Create the job's pod; raises with podman's words if it cannot."""
    code, out = await run_captured(podargv.pod_create_argv(spec))
    if code:
        raise EngineError(f"podman could not create pod {spec.name}: {out.strip()}")


async def start_service(pod: PodSpec, spec: ServiceSpec) -> None:
    """Start one service container (pulling its image if missing).

    podman 4.3 can trip over its own pod when two containers start the pod's
    infra container at once ("unable to restart a container in a paused or
    unknown state"); that one error gets a second try.
    """
    for attempt in range(2):
        code, out = await run_captured(podargv.service_argv(pod, spec))
        if not code:
            return
        if attempt or _INFRA_RACE not in out:
            break
        await run_captured(force_remove_argv([spec.name], pod.runtime, pod.store))
        await asyncio.sleep(0.2)
    text = f"service {spec.image} did not start: {out.strip()}"
    if any(sign in out for sign in PULL_FAILED):
        raise ImageUnavailable(text)
    raise EngineError(text)


async def remove_pod(name: str, runtime: str | None = None,
                     store: StoreSpec | None = None) -> bool:
    """Remove the pod and all its containers at once, mending lost netns mounts on the way.

    podman names each netns file it could not use in its error; those under
    the user's own ``$XDG_RUNTIME_DIR/netns`` get an empty namespace
    (``rebind_netns_argv``) and the removal is tried again. Whether there was
    a pod to remove: ``pod rm`` prints its id only then (``--ignore``).
    """
    for _ in range(NETNS_REPAIRS + 1):
        code, out = await run_captured(podargv.pod_remove_argv(name, runtime, store))
        if not code:
            return bool(out.strip())
        lost = lost_netns(out, os.environ.get("XDG_RUNTIME_DIR"))
        if not lost:
            break
        await run_captured(podargv.rebind_netns_argv(lost))
    raise EngineError(f"podman could not remove pod {name}: {out.strip()}")


NETNS_REPAIRS = 3
_LOST_NETNS = re.compile(r"retrieving network namespace at (/\S+): unknown FS magic")


def lost_netns(podman_said: str, runtime_dir: str | None) -> list[Path]:
    """The netns files podman said it lost, if they are podman's under ``runtime_dir``."""
    if not runtime_dir:
        return []
    home = Path(runtime_dir) / "netns"
    found = {Path(path) for path in _LOST_NETNS.findall(podman_said)}
    return sorted(path for path in found
                  if path.parent == home and re.fullmatch(r"netns-[0-9a-f-]+", path.name))


async def remove_run_pods(run_id: str, runtime: str | None = None,
                          stores: Sequence[StoreSpec | None] = (None,)) -> list[str]:
    """Remove the pods a crashed run ``run_id`` left in ``stores`` (and their containers)."""
    names: list[str] = []
    for store in stores:
        code, out = await run_captured(podargv.run_pods_argv(run_id, store))
        found = [line.strip() for line in out.splitlines() if line.strip()] if code == 0 else []
        for name in found:
            await remove_pod(name, runtime, store)
        names += found
    return names


async def exposed_ports(images: list[ImageRef], store: StoreSpec | None = None
                        ) -> dict[str, tuple[int, ...]]:
    """The TCP ports each image's config exposes (what readiness waits for by default)."""
    unique = list(dict.fromkeys(images))
    code, out = await run_captured(podargv.exposed_ports_argv(unique, store))
    lines = [line for line in out.splitlines() if line.strip()]
    if code or len(lines) != len(unique):
        return dict.fromkeys(unique, ())
    found: dict[str, tuple[int, ...]] = {}
    for image, line in zip(unique, lines, strict=True):
        try:
            ports = json.loads(line) or {}
        except ValueError:
            ports = {}
        found[image] = tuple(sorted(int(key.split("/")[0]) for key in ports
                                    if key.endswith("/tcp") and key.split("/")[0].isdigit()))
    return found


async def logs(name: str, tail: int = 40, store: StoreSpec | None = None) -> str:
    """The last lines a container wrote (stdout and stderr)."""
    _, out = await run_captured(podargv.logs_argv(name, tail, store))
    return out


async def state(name: str, store: StoreSpec | None = None) -> str:
    """``running 0``, ``exited 1`` ... or what podman said when it could not tell."""
    code, out = await run_captured(podargv.state_argv(name, store))
    return out.strip() if code == 0 else f"unknown ({out.strip()})"


@dataclass(frozen=True)
class Probe:
    """How one run of a service's health command ended."""

    ok: bool
    output: str
    """What it wrote (stdout and stderr), at most ``PROBE_OUTPUT`` characters, as docker keeps."""
    exited: bool = False
    """The service was not running, so the command could not run at all."""


PROBE_OUTPUT = 4096
"""docker keeps the first 4 KiB of a health check's output."""
_NOT_RUNNING = "can only create exec sessions on running containers"


async def probe_health(name: str, command: str, timeout_s: float, runtime: str | None = None,
                       store: StoreSpec | None = None) -> Probe:
    """Run ``command`` in service ``name`` once; a probe that outlasts ``timeout_s`` failed.

    On a timeout the ``podman exec`` is killed; the command itself may go on in the
    service until the pod is removed (podman does not end an exec session whose
    client went away).
    """
    proc = await asyncio.create_subprocess_exec(
        *podargv.health_exec_argv(name, runtime, store),
        stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT, start_new_session=True)
    try:
        async with asyncio.timeout(timeout_s):
            out, _ = await proc.communicate(command.encode() + b"\n")
    except TimeoutError:
        proc.kill()
        await proc.wait()
        return Probe(False, f"the health command did not finish within {timeout_s:g}s")
    text = out.decode("utf-8", "replace")[:PROBE_OUTPUT]
    if proc.returncode and _NOT_RUNNING in text:
        return Probe(False, text, exited=True)
    return Probe(proc.returncode == 0, text)
