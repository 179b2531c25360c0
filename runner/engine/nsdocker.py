"""Namespace-helper operations for a job's Docker API (stdlib only; run by ``nshelper``).

As root of podman's user namespace the helper can do three things the
runner process cannot: open listening sockets inside a job's network
namespace (``listen``: the job then reaches its Docker API at
``docker:2375``), pin a workspace path for a bind mount (``pin``: the path is
opened component by component without following links and the directory
found is bind-mounted where the job cannot rename it, so no symlink race can
turn ``-v $CI_PROJECT_DIR/x`` into a host path), and add names to the pod's
``/etc/hosts`` (``hosts``).
"""

from __future__ import annotations

import os
import socket
import stat
import threading
from collections.abc import Callable
from typing import Any

from runner.engine.beneath import DIR_FLAGS, components, open_dir

Request = dict[str, Any]
CLONE_NEWNET = 0x40000000
MS_BIND = 4096
LISTEN_BACKLOG = 128


def _in_netns(pid: int, work: Callable[[], list[socket.socket]]) -> list[socket.socket]:
    """Run ``work()`` in a thread that has joined the network namespace of ``pid``."""
    import ctypes  # noqa: PLC0415 - only Docker jobs need it

    fd = os.open(f"/proc/{int(pid)}/ns/net", os.O_RDONLY)
    result: dict[str, Any] = {}

    def run() -> None:
        try:
            libc = ctypes.CDLL(None, use_errno=True)
            if libc.setns(fd, CLONE_NEWNET) != 0:
                raise OSError(ctypes.get_errno(), "setns into the job's network namespace")
            result["value"] = work()
        except OSError as exc:
            result["error"] = exc

    try:
        thread = threading.Thread(target=run)
        thread.start()
        thread.join()
    finally:
        os.close(fd)
    if "error" in result:
        raise result["error"]
    made: list[socket.socket] = result["value"]
    return made


def listen(req: Request) -> Request:
    """Listen on 127.0.0.1 ``ports`` in the netns of ``pid``; send the sockets to ``to``.

    ``to`` is a unix socket of the runner process: the listening sockets
    stay in the job's namespace wherever their descriptors go.
    """
    ports = [int(port) for port in req["ports"]]

    def work() -> list[socket.socket]:
        made = []
        for port in ports:
            sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            sock.bind(("127.0.0.1", port))
            sock.listen(LISTEN_BACKLOG)
            made.append(sock)
        return made

    sockets = _in_netns(int(req["pid"]), work)
    try:
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as out:
            out.connect(str(req["to"]))
            socket.send_fds(out, [b"L"], [sock.fileno() for sock in sockets])
    finally:
        for sock in sockets:
            sock.close()
    return {"ok": True}


def pin(req: Request) -> Request:
    """Bind-mount ``rel`` beneath ``workspace`` onto ``target`` (a file or dir made here).

    ``rel`` is opened with no symlink in any component; the mount takes the
    very object opened, through ``/proc/self/fd``.
    """
    import ctypes  # noqa: PLC0415

    top = os.open(str(req["workspace"]), DIR_FLAGS)
    try:
        rel = str(req["rel"])
        if rel:
            *dirs, name = components(rel)
            parent = open_dir(top, dirs)
            try:
                fd = os.open(name, os.O_PATH | os.O_NOFOLLOW | os.O_CLOEXEC, dir_fd=parent)
            finally:
                os.close(parent)
        else:
            fd = os.open(".", os.O_PATH | os.O_CLOEXEC, dir_fd=top)
    finally:
        os.close(top)
    try:
        mode = os.fstat(fd).st_mode
        if stat.S_ISLNK(mode):
            raise OSError(f"{rel} is a symbolic link")
        target = str(req["target"])
        if stat.S_ISDIR(mode):
            os.mkdir(target, 0o700)  # noqa: PTH102 - stdlib os, as the rest of the helper
        else:
            os.close(os.open(target, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))
        libc = ctypes.CDLL(None, use_errno=True)
        if libc.mount(f"/proc/self/fd/{fd}".encode(), target.encode(), None, MS_BIND,
                      None) != 0:
            raise OSError(ctypes.get_errno(), f"bind mount of {rel or '.'} failed")
    finally:
        os.close(fd)
    return {"ok": True}


def hosts(req: Request) -> Request:
    """Add ``127.0.0.1 NAME`` lines to the /etc/hosts the process ``pid`` sees."""
    path = f"/proc/{int(req['pid'])}/root/etc/hosts"
    with open(path, encoding="utf-8") as file:  # noqa: PTH123
        known = {word for line in file for word in line.split()[1:]}
    new = [name for name in req["names"] if name not in known]
    if new:
        with open(path, "a", encoding="utf-8") as file:  # noqa: PTH123
            file.writelines(f"127.0.0.1\t{name}\n" for name in new)
    return {"ok": True}


OPERATIONS = {"docker_listen": listen, "docker_pin": pin, "docker_hosts": hosts}


