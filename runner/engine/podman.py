"""The only module that starts podman processes.

``JobContainer`` drives one job container through its supervisor (see
``boot``): start, wait for "ready", run scripts, signal, stop. Everything
else here is a thin, awaited wrapper around one podman command.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import secrets
import sys
from collections.abc import Callable
from pathlib import Path

import structlog

from runner.engine import argv as podman_argv
from runner.engine import childenv
from runner.engine.boot import supervisor_script
from runner.engine.frames import Exited, FrameSplitter, Output, Ready
from runner.engine.initwatch import InitWatch
from runner.errors import EngineError

log = structlog.get_logger(__name__)

OutputSink = Callable[[bytes], None]
_READ_CHUNK = 65536
KILL_WAIT_S = 10.0
"""How long PID 1 may take to die of a SIGKILL (every process of its namespace dies first)."""


class ContainerGone(EngineError):
    """The job container ended while we still needed it."""


class ImageUnavailable(ContainerGone):
    """A job's image could not be pulled or copied: the job cannot start."""


PULL_FAILED = ("Error: initializing source docker://", "Error: unable to copy from source "
               "docker://", "Error: copying system image from manifest list")
"""What podman 4.x says when ``run --pull`` could not fetch the image."""


class JobContainer:
    """One running job container and the stream of its supervisor.

    Output of the running script goes to ``sink`` as raw bytes, as it arrives.
    """

    def __init__(self, spec: podman_argv.ContainerSpec, hold_fds: tuple[int, ...] = ()) -> None:
        self.spec = spec
        self._hold_fds = hold_fds
        self._nonce = secrets.token_hex(8)
        self._proc: asyncio.subprocess.Process | None = None
        self._reader: asyncio.Task[None] | None = None
        self._events: asyncio.Queue[Ready | Exited | None] = asyncio.Queue()
        self._sink: OutputSink = lambda _data: None
        self.last_step: int | None = None
        """The line the last script recorded before it ended (``frames.Exited.step``)."""
        self._stderr = bytearray()
        self._init: InitWatch | None = None
        self._emptied = False
        """PID 1 has ended, so no process is left; podman may still be removing the container."""
        self.uid = -1
        self.gid = -1

    async def start(self, timeout_s: float) -> None:
        """Start the container and wait until its supervisor reports ready.

        A start that takes longer than ``timeout_s`` (a hung pull, a stuck
        storage lock) removes the container and raises instead of hanging the run.
        """
        self._proc = await asyncio.create_subprocess_exec(
            *self._launch_argv(supervisor_script(self._nonce)),
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
            start_new_session=True,  # Ctrl-C reaches us, not podman; we decide what to stop
            # podman inherits the slice lease's fd: the flock then lasts as long as the
            # container, even if runner itself dies, so no new job gets a live slice.
            pass_fds=self._hold_fds,
            env=self._child_env(),
        )
        self._reader = asyncio.create_task(self._pump())
        try:
            event = await asyncio.wait_for(self._next_event(), timeout_s)
        except TimeoutError:
            await self.kill()
            message = self._failure_text(f"did not start within {timeout_s:g}s")
            raise ContainerGone(message) from None
        if not isinstance(event, Ready):
            await self._proc.wait()
            text = self._failure_text("could not start")
            if any(sign in text for sign in PULL_FAILED):
                raise ImageUnavailable(text)
            raise ContainerGone(text)
        self.uid, self.gid = event.uid, event.gid
        # No job code has run yet, so PID 1 is still our supervisor and its pid is not reused.
        self._init = InitWatch.open(self.spec.pidfile)
        if self._init is None:
            log.info("init_not_watchable", container=self.spec.name)
        log.debug("container_ready", container=self.spec.name)

    async def run(self, script: str, sink: OutputSink) -> int:
        """Run a script file (path inside the container); its exit status."""
        proc = self._require()
        self._sink = sink
        self.last_step = None
        assert proc.stdin is not None
        try:
            proc.stdin.write(f"{script}\n".encode())
            await proc.stdin.drain()
        except (BrokenPipeError, ConnectionResetError) as exc:
            raise ContainerGone(self._failure_text("ended before the script started")) from exc
        event = await self._next_event()
        if not isinstance(event, Exited):
            raise ContainerGone(self._failure_text("ended while a script was running"))
        self.last_step = event.step
        return event.status

    async def interrupt(self, *, hard: bool = False) -> None:
        """Stop the running script: TERM gracefully, or KILL with ``hard``.

        The supervisor (PID 1) passes the signal on to everything else in the
        container and stays alive, so after_script can still run afterwards.
        """
        proc = self._proc
        if proc is None or proc.returncode is not None:
            return
        signal_name = "USR2" if hard else "TERM"
        code, out = await run_captured(self._signal_argv(signal_name), env=self._child_env())
        if code:
            log.warning("signal_failed", container=self.spec.name, signal=signal_name,
                        output=out.strip())

    async def stop(self, grace_s: float) -> None:
        """End the container; returns once no process of it is left.

        Frames from inside the container prove nothing (its root can read the
        nonce and forge them), so only the kernel's word counts: PID 1's pidfd
        (see ``initwatch``), or else podman's own exit. A supervisor that does
        not end within ``grace_s`` (a job that forged its way past it) is killed.
        Podman's removal of the container may still be under way: ``reap``.
        """
        proc = self._proc
        if proc is None:
            return
        if proc.stdin is not None and not proc.stdin.is_closing():
            with contextlib.suppress(BrokenPipeError, ConnectionResetError):
                proc.stdin.write(b"exit\n")
                await proc.stdin.drain()
            proc.stdin.close()
        ending: list[asyncio.Task[object]] = [asyncio.create_task(proc.wait())]
        if self._init is not None:
            ending.append(asyncio.create_task(self._init.ended()))
        try:
            done, _ = await asyncio.wait(ending, timeout=grace_s,
                                         return_when=asyncio.FIRST_COMPLETED)
        finally:
            for task in ending:
                task.cancel()
        if done:
            self._emptied = True
            log.debug("container_emptied", container=self.spec.name)
            return
        log.warning("container_did_not_exit", container=self.spec.name, grace_s=grace_s)
        await self.kill()

    async def reap(self) -> None:
        """Wait until podman has exited (and so removed the container)."""
        proc = self._proc
        if proc is not None:
            await proc.wait()
        if self._reader is not None:
            await self._reader
        if self._init is not None:
            self._init.close()
        log.debug("container_removed", container=self.spec.name)

    async def written_dirs(self) -> list[Path]:
        """Host dirs the container writes to besides runner's mounts (``argv.written_dirs``).

        Empty if podman does not say (the caller then counts what it knows).
        """
        written = await container_written(self.spec.name, self.spec.runtime, self.spec.store)
        return list(written.dirs)

    @property
    def ended(self) -> bool:
        """No process of the container is left (or it never started): it runs nothing more."""
        proc = self._proc
        return proc is None or proc.returncode is not None or self._emptied

    async def kill(self) -> None:
        """End the container at once, whatever it is doing; returns once it is removed.

        First SIGKILL to PID 1 through its pidfd: the kernel's own doing, which
        a job cannot delay by stopping or tracing PID 1 and which needs no
        podman lock. Nothing to remove once podman exited, nor once PID 1 ended
        (podman is removing it already; a second removal would only race with
        it); else podman (or runc) removes it, SIGKILL included.
        """
        proc = self._proc
        if proc is not None and proc.returncode is None and not self._emptied:
            self._emptied = await self._kill_init()
        if proc is None or (proc.returncode is None and not self._emptied):
            await self._remove()
        if proc is not None and proc.stdin is not None:
            proc.stdin.close()
        await self.reap()

    async def _kill_init(self) -> bool:
        """SIGKILL PID 1 through its pidfd; whether it has ended (within ``KILL_WAIT_S``)."""
        init = self._init
        if init is None or not init.kill():
            return False
        try:
            await asyncio.wait_for(init.ended(), KILL_WAIT_S)
        except TimeoutError:
            log.warning("init_survived_sigkill", container=self.spec.name)
            return False
        log.debug("container_killed", container=self.spec.name)
        return True

    def _launch_argv(self, supervisor: str) -> list[str]:
        """The process that runs the container until it is removed (``podman run --rm``)."""
        return podman_argv.job_container_argv(self.spec, supervisor)

    def _child_env(self) -> dict[str, str] | None:
        """The environment of the launch and signal commands; None: runner's own (podman's
        configuration comes from there)."""
        return None

    def _signal_argv(self, signal_name: str) -> list[str]:
        return podman_argv.signal_argv(self.spec.name, signal_name, self.spec.runtime,
                                       self.spec.store)

    async def _remove(self) -> None:
        """Remove the container at once (SIGKILL); raises if that fails."""
        await force_remove([self.spec.name], self.spec.runtime, self.spec.store)

    async def _next_event(self) -> Ready | Exited | None:
        """The next supervisor event; None (end of stream) stays None for every later call."""
        event = await self._events.get()
        if event is None:
            self._events.put_nowait(None)
        return event

    def _require(self) -> asyncio.subprocess.Process:
        if self._proc is None or self._proc.returncode is not None:
            raise ContainerGone(self._failure_text("is not running"))
        return self._proc

    def _failure_text(self, what: str) -> str:
        detail = self._stderr.decode("utf-8", "replace").strip()
        detail = "\n".join(line for line in detail.splitlines() if "level=warning" not in line)
        return f"job container {self.spec.name} (image {self.spec.image}) {what}" + (
            f": {detail}" if detail else ""
        )

    async def _pump(self) -> None:
        proc = self._proc
        assert proc is not None and proc.stdout is not None and proc.stderr is not None
        errs = asyncio.create_task(self._drain_stderr(proc.stderr))
        splitter = FrameSplitter(self._nonce)
        while chunk := await proc.stdout.read(_READ_CHUNK):
            self._dispatch(splitter.feed(chunk))
        self._dispatch(splitter.flush())
        await errs
        await self._events.put(None)

    def _dispatch(self, events: list[Output | Ready | Exited]) -> None:
        for event in events:
            if isinstance(event, Output):
                self._sink(event.data)
            else:
                self._events.put_nowait(event)

    async def _drain_stderr(self, stream: asyncio.StreamReader) -> None:
        while chunk := await stream.read(_READ_CHUNK):
            # Only the tail matters for an error message; bound what a chatty podman costs.
            self._stderr = (self._stderr + chunk)[-8192:]


async def run_captured(argv: list[str], env: dict[str, str] | None = None) -> tuple[int, str]:
    """Run a short podman command (in ``env``, default runner's); its exit code and output."""
    proc = await asyncio.create_subprocess_exec(
        *argv,
        stdin=asyncio.subprocess.DEVNULL,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
        start_new_session=True,
        env=env,
    )
    out, _ = await proc.communicate()
    return proc.returncode or 0, out.decode("utf-8", "replace")


async def container_written(name: str, runtime: str | None = None,
                            store: podman_argv.StoreSpec | None = None) -> podman_argv.Written:
    """Where a running container writes on the host; nothing if podman does not say."""
    code, out = await run_captured(podman_argv.written_paths_argv(name, runtime, store))
    return podman_argv.written_dirs(out) if code == 0 else podman_argv.Written()


async def force_remove(names: list[str], runtime: str | None = None,
                       store: podman_argv.StoreSpec | None = None) -> None:
    """Remove containers by name at once; raises if podman refuses."""
    if not names:
        return
    code, out = await run_captured(podman_argv.force_remove_argv(names, runtime, store))
    if code:
        raise EngineError(f"podman could not remove containers {', '.join(names)}: {out.strip()}")


async def spawn_unshared_python(module: str) -> asyncio.subprocess.Process:
    """Start ``python -m module`` inside podman's user namespace, on pipes.

    PYTHONPATH names our own package directory so the helper imports this very
    copy of runner, however it was installed. podman unshare passes its whole
    environment on, so the helper is started with only what it needs (``childenv``).
    """
    package_parent = str(Path(__file__).resolve().parents[2])
    env = childenv.helper_env(os.environ, PYTHONDONTWRITEBYTECODE="1",
                              PYTHONPATH=package_parent)
    return await asyncio.create_subprocess_exec(
        *podman_argv.unshare_argv(childenv.with_only(env, [sys.executable, "-m", module])),
        stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
        start_new_session=True,
    )


async def remove_run_containers(run_id: str, runtime: str | None = None,
                                store: podman_argv.StoreSpec | None = None) -> list[str]:
    """Remove every container of run ``run_id`` (one whose runner died) in ``store``."""
    code, out = await run_captured(
        podman_argv.list_containers_argv(f"{podman_argv.LABEL_RUN}={run_id}", store))
    if code:
        raise EngineError(f"podman could not list the containers of run {run_id}: "
                          f"{out.strip()}")
    names = [line for line in out.split() if line]
    await force_remove(names, runtime, store)
    return names


async def remove_store(store: podman_argv.StoreSpec) -> None:
    """Delete ``store`` and its run root; raises with what podman's shell said."""
    code, out = await run_captured(podman_argv.remove_store_argv(store))
    if code:
        raise EngineError(f"could not remove image store {store.root}: {out.strip()}")

