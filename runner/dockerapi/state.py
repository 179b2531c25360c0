"""What one job's Docker API knows: its containers, exec sessions and (virtual) networks.

Everything is scoped: a job can name only the containers its own API made
(other jobs of the tenant share the image store, never containers), so a
reference to anything else is answered "no such container", as a daemon of
its own would.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field

MIN_ID_PREFIX = 3


@dataclass
class JobState:
    """Containers (user name -> podman name, ids), exec ids, networks of one job."""

    prefix: str
    """Prepended to each name the job gives, so that two jobs' ``--name db`` never clash."""
    names: dict[str, str] = field(default_factory=dict)
    ids: set[str] = field(default_factory=set)
    execs: set[str] = field(default_factory=set)
    autoremove: set[str] = field(default_factory=set)
    """Containers made with ``--rm`` (id and name): removed once waited for or stopped."""
    ended: set[str] = field(default_factory=set)
    attached: dict[str, int] = field(default_factory=dict)
    """Open attach streams per container: a --rm container goes when the last one ends."""
    networks: dict[str, dict[str, str]] = field(default_factory=dict)
    """Virtual networks by name, with their labels."""

    def real_name(self, name: str) -> str:
        """The podman name for a name the job gives."""
        return f"{self.prefix}-{name}"

    def container(self, ref: str) -> str | None:
        """The podman reference for a job's reference to one of its containers, else None."""
        if ref.startswith("/"):
            ref = ref[1:]
        if ref in self.names:
            return self.names[ref]
        if ref in self.names.values():
            return ref
        if len(ref) >= MIN_ID_PREFIX and all(c in "0123456789abcdef" for c in ref):
            matches = [cid for cid in self.ids if cid.startswith(ref)]
            if len(matches) == 1:
                return matches[0]
        return None

    def forget(self, ref: str) -> None:
        """Drop a removed container's name (its id may stay: ids are never reused)."""
        real_ref = self.container(ref)
        for name, real in list(self.names.items()):
            if real_ref in (name, real) or ref == name:
                del self.names[name]

    def network_id(self, name: str) -> str:
        """A stable id for a virtual network (compose looks networks up by id and name)."""
        return hashlib.sha256(f"{self.prefix}/{name}".encode()).hexdigest()
