"""Per-job UID/GID slices, leased by us instead of podman's ``--userns=auto``.

Why not ``--userns=auto``: podman 4.3 (Debian 12) can deadlock when several
auto-userns containers are created at once — one ``podman run`` holds
``userns.lock``, ``images.lock`` and ``layers.lock`` and waits for
``storage.lock`` while another holds that and waits for ``layers.lock``
(containers/podman#16062, fixed in 4.4). After that every podman command of
the user hangs. Fixed slices avoid the allocator, and they bring a second
win: podman keeps an id-shifted copy of an image's layers per mapping, so a
job that gets slot 0 again reuses the copy the last slot-0 job paid for.

Slot ``k`` maps container ids 0..65535 to ids ``1 + k*65536 ...`` of podman's
rootless namespace (id 0 there is the user; 1.. are the subordinate ranges
in file order). A slot is leased with ``flock`` on a file under
``$XDG_RUNTIME_DIR``, shared by every runner process of the user and released
by the kernel if a process dies, so a crash can never leak a slot.
"""

from __future__ import annotations

import asyncio
import fcntl
import os
from dataclasses import dataclass
from pathlib import Path

from runner.errors import EngineError, HostSetupError

SLICE_SIZE = 65536


@dataclass
class Lease:
    """A slot held by this process until ``release``."""

    slot: int
    fd: int
    pod_marker: Path | None = None
    """``slot-K.pod``: names the pod using the slot while one does. Services run
    detached and hold no lock, so a pod still named here when the slot is leased
    again was left by a holder that died; the new holder removes it first."""

    @property
    def base(self) -> int:
        """First id of the slice in podman's rootless namespace."""
        return 1 + self.slot * SLICE_SIZE

    def release(self) -> None:
        """Give the slot back (closing the file drops the lock)."""
        if self.fd >= 0:
            os.close(self.fd)
            self.fd = -1


class SliceAllocator:
    """Leases the lowest free slot; waits while all are taken."""

    def __init__(self, lock_dir: Path, subordinate_ids: int, poll_s: float = 0.1) -> None:
        self.slots = subordinate_ids // SLICE_SIZE
        if self.slots < 1:
            raise HostSetupError(
                f"the user has {subordinate_ids} subordinate ids; each job needs {SLICE_SIZE}. "
                "Run `runner doctor` for the command that adds a range."
            )
        self._dir = lock_dir
        self._poll_s = poll_s
        self.set_aside: set[int] = set()
        """Slots this run found unusable (a pod left on them that cannot be removed)."""

    def try_lease(self) -> Lease | None:
        """The lowest free slot, or None when every slot is leased."""
        self._dir.mkdir(mode=0o700, parents=True, exist_ok=True)
        for slot in range(self.slots):
            if slot in self.set_aside:
                continue
            fd = os.open(self._dir / f"slot-{slot}.lock", os.O_RDWR | os.O_CREAT, 0o600)
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                os.close(fd)
                continue
            return Lease(slot, fd, self._dir / f"slot-{slot}.pod")
        return None

    async def lease(self) -> Lease:
        """A slot, waiting for one to come free if need be."""
        while (lease := self.try_lease()) is None:
            if len(self.set_aside) >= self.slots:
                raise EngineError("every uid slot has a pod left on it that podman cannot "
                                  "remove; see the commands above")
            await asyncio.sleep(self._poll_s)
        return lease

    def put_aside(self, lease: Lease) -> None:
        """Give ``lease`` back and lease its slot no more in this run."""
        self.set_aside.add(lease.slot)
        lease.release()
