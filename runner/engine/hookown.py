"""Who owns a GitHub hook job's host dirs: handed to the job's slice, given back after it.

Run as ``podman unshare python -m runner.engine.hookown``, where this
process is root over the user's subordinate ids (and the user is its id 0).
Root of a hook job's containers is the first id of the job's slice, never the
runner user, so the dirs a job writes in (its workspace, ``HOME``, the tool
cache) are handed to that id before the job starts, and everything under
them and ``_temp`` is given back to the user once its containers are gone:
actions/runner, which runs as the user, then reads and cleans ``_work`` as
it does after a Docker job.

One request on stdin, ``{"trees": [[path, uid, gid], ...]}``; one reply on
stdout, ``{"ok": true, "entries": N}``. Every tree is walked through
descriptors (``os.fwalk``), never following a symlink, the top included: a
link the job planted is re-owned itself and never leads anywhere. A path
that is missing or is not a real dir is skipped. Set-id bits are cleared on
whatever changes hands (the kernel clears them on chown; cleared here too, so
no set-uid file of the user's is ever left behind). Stdlib only.
"""

from __future__ import annotations

import errno
import json
import os
import stat
import sys
from typing import Any

SET_ID = stat.S_ISUID | stat.S_ISGID
_TOP_FLAGS = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC


def own_entry(name: str, dir_fd: int, uid: int, gid: int) -> None:
    """Re-own one entry of ``dir_fd`` (a link itself, never its target); drop set-id bits."""
    info = os.stat(name, dir_fd=dir_fd, follow_symlinks=False)
    if info.st_uid != uid or info.st_gid != gid:
        os.chown(name, uid, gid, dir_fd=dir_fd, follow_symlinks=False)
    if stat.S_ISREG(info.st_mode) and info.st_mode & SET_ID:
        os.chmod(name, stat.S_IMODE(info.st_mode) & ~SET_ID, dir_fd=dir_fd)


def own_tree(top: str, uid: int, gid: int) -> int:
    """Give ``top`` and everything under it to ``uid:gid``; how many entries it holds."""
    try:
        fd = os.open(top, _TOP_FLAGS)
    except (FileNotFoundError, NotADirectoryError):
        return 0
    except OSError as exc:
        if exc.errno == errno.ELOOP:  # top is a symlink, which is never followed
            return 0
        raise
    try:
        info = os.fstat(fd)
        if info.st_uid != uid or info.st_gid != gid:
            os.fchown(fd, uid, gid)
        count = 1
        for _, dirs, files, dir_fd in os.fwalk(".", dir_fd=fd, follow_symlinks=False):
            for name in dirs + files:
                try:
                    own_entry(name, dir_fd, uid, gid)
                except FileNotFoundError:
                    continue
                count += 1
        return count
    finally:
        os.close(fd)


def serve(request: dict[str, Any]) -> dict[str, Any]:
    entries = 0
    for path, uid, gid in request["trees"]:
        entries += own_tree(str(path), int(uid), int(gid))
    return {"ok": True, "entries": entries}


def main() -> None:
    try:
        reply = serve(json.loads(sys.stdin.readline()))
    except Exception as exc:  # the client turns this into an EngineError naming it
        reply = {"ok": False, "error": f"{type(exc).__name__}: {exc}"}
    sys.stdout.write(json.dumps(reply) + "\n")
    sys.stdout.flush()


if __name__ == "__main__":
    main()
