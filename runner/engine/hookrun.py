"""The podman processes of ``runner github-hook`` (only the engine spawns container tools)."""

from __future__ import annotations

import asyncio
import json
import os
import signal
from collections.abc import Callable

from runner.engine import hookargv, pods
from runner.engine.argv import force_remove_argv
from runner.engine.hookargv import HookPod, HookRun
from runner.engine.podman import run_captured, spawn_unshared_python
from runner.errors import EngineError

Sink = Callable[[bytes], None]
_CHUNK = 65536


async def create_pod(spec: HookPod) -> None:
    """Create the job's pod; raises with podman's words (a host port taken, say)."""
    code, out = await run_captured(hookargv.pod_argv(spec))
    if code:
        raise EngineError(f"podman could not create the job's pod: {out.strip()}")


async def _spawn(spec: HookRun, lease_fd: int | None) -> asyncio.subprocess.Process:
    """``podman run`` of ``spec``; ``lease_fd`` becomes its descriptor 3 (``--preserve-fds``),
    so the container holds the uid slice's lock for as long as it lives."""

    def _as_fd3() -> None:
        if lease_fd is not None:
            os.dup2(lease_fd, 3)

    return await asyncio.create_subprocess_exec(
        *hookargv.run_argv(spec), stdin=asyncio.subprocess.DEVNULL,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT,
        start_new_session=True, pass_fds=() if lease_fd is None else (lease_fd, 3),
        preexec_fn=None if lease_fd is None else _as_fd3)


async def start_detached(spec: HookRun, lease_fd: int | None = None) -> None:
    """``podman run --detach`` (the hook that leased the slice exits right away)."""
    proc = await _spawn(spec, lease_fd)
    out, _ = await proc.communicate()
    if proc.returncode:
        what = "service" if spec.service else "container"
        raise EngineError(f"{what} {spec.image} did not start: "
                          f"{out.decode('utf-8', 'replace').strip()}")


STOP_GRACE_S = 5
"""What a cancelled action container gets between TERM and KILL: within the 7.5 s
actions/runner waits after its SIGINT before it sends SIGTERM, then kills the hook."""


async def run_attached(spec: HookRun, sink: Sink, lease_fd: int | None = None) -> int:
    """``podman run --rm`` with its output streamed to ``sink``; the container's exit code.

    SIGINT/SIGTERM to us (actions/runner cancelling the step) stop the
    container: TERM, then KILL after ``STOP_GRACE_S`` (a PID 1 without a
    handler ignores TERM, and a signal proxied by podman would be all it got).
    """
    proc = await _spawn(spec, lease_fd)
    loop = asyncio.get_running_loop()
    stopping: list[asyncio.Task[tuple[int, str]]] = []

    def _stop() -> None:
        if not stopping:
            stopping.append(loop.create_task(run_captured(
                hookargv.stop_argv(spec.name, STOP_GRACE_S))))

    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, _stop)
    try:
        assert proc.stdout is not None
        while chunk := await proc.stdout.read(_CHUNK):
            sink(chunk)
        code = await proc.wait()
        for task in stopping:
            await task
        return code
    finally:
        for signum in (signal.SIGINT, signal.SIGTERM):
            loop.remove_signal_handler(signum)


async def pod_ports(pod: str) -> dict[str, str]:
    """``{"80/tcp": "40123"}``: each published container port and its host port."""
    code, out = await run_captured(hookargv.pod_ports_argv(pod))
    if code:
        raise EngineError(f"podman could not say the ports of pod {pod}: {out.strip()}")
    try:
        doc = json.loads(out.strip() or "null") or {}
        return {key: str(bindings[0]["HostPort"]) for key, bindings in doc.items() if bindings}
    except (ValueError, KeyError, IndexError, TypeError, AttributeError):
        raise EngineError(f"podman said nothing usable about the ports of pod {pod}") from None


async def healthy(name: str) -> bool:
    """Whether a service's health command succeeds now."""
    code, _ = await run_captured(hookargv.healthcheck_argv(name))
    return code == 0


async def container_pid(name: str) -> int:
    """A running container's PID 1 as the host numbers it (0 if podman does not say)."""
    code, out = await run_captured(hookargv.pid_argv(name))
    return int(out.strip()) if code == 0 and out.strip().isdigit() else 0


async def remove_pod(name: str) -> bool:
    """Remove a pod with all its containers (``pods.remove_pod``); whether there was one."""
    return await pods.remove_pod(name)


async def leftovers(runner_label: str) -> tuple[list[str], list[str]]:
    """(pods, containers) that earlier jobs of a runner left (both asked at once)."""
    found = []
    for code, out in await asyncio.gather(
            run_captured(hookargv.runner_pods_argv(runner_label)),
            run_captured(hookargv.runner_containers_argv(runner_label))):
        if code:
            raise EngineError(f"podman could not list what earlier jobs left: {out.strip()}")
        found.append([line.strip() for line in out.splitlines() if line.strip()])
    return found[0], found[1]


async def remove_containers(names: list[str]) -> None:
    if names:
        code, out = await run_captured(force_remove_argv(names))
        if code:
            raise EngineError(f"podman could not remove {', '.join(names)}: {out.strip()}")


async def remove_volumes(names: list[str]) -> None:
    if names:
        await run_captured(hookargv.volume_remove_argv(names))


async def kill(name: str, signame: str) -> None:
    await run_captured(hookargv.kill_argv(name, signame))


async def own_trees(trees: list[tuple[str, int, int]]) -> int:
    """Give each ``(dir, uid, gid)`` tree to that owner (ids as podman's namespace numbers
    them: 0 is the user), through ``hookown`` in ``podman unshare``; the entries walked."""
    if not trees:
        return 0
    proc = await spawn_unshared_python("runner.engine.hookown")
    out, err = await proc.communicate(json.dumps({"trees": trees}).encode() + b"\n")
    try:
        reply = json.loads(out.decode() or "null")
    except ValueError:
        reply = None
    if not isinstance(reply, dict) or not reply.get("ok"):
        said = reply.get("error") if isinstance(reply, dict) else err.decode("utf-8", "replace")
        raise EngineError(f"could not change the owner of the job's dirs "
                          f"{', '.join(t[0] for t in trees)}: {str(said).strip()}")
    return int(reply.get("entries") or 0)
