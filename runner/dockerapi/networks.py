"""Virtual networks: ``docker network create`` and friends, answered by the proxy itself.

Every container of a job shares the job's network namespace (that is how
``docker run -p 8080:8080`` is reachable from the job, as from a DinD job),
so a user-defined network changes nothing about who can reach whom: names
and aliases are added to the pod's /etc/hosts, and networks only need to
exist well enough for the CLI and compose to find them again. Real podman
networks would be shared by every job of the user.
"""

from __future__ import annotations

import json
from typing import Any

from runner.dockerapi.state import JobState

BUILTIN = ("bridge",)


def _network(state: JobState, name: str) -> dict[str, Any]:
    return {"Name": name, "Id": state.network_id(name), "Created": "1970-01-01T00:00:00Z",
            "Scope": "local", "Driver": "bridge", "EnableIPv6": False,
            "IPAM": {"Driver": "default", "Options": None, "Config": []},
            "Internal": False, "Attachable": False, "Ingress": False, "Containers": {},
            "Options": {}, "Labels": state.networks.get(name, {})}


def _find(state: JobState, ref: str) -> str | None:
    for name in (*BUILTIN, *state.networks):
        if ref in (name, state.network_id(name)) or (
                len(ref) >= 3 and state.network_id(name).startswith(ref)):
            return name
    return None


def answer(state: JobState, method: str, path: str, body: bytes) -> tuple[int, Any]:
    """(status, JSON reply) for one request under ``/networks``."""
    parts = path.split("/")[2:]
    if method == "GET" and not parts:
        return 200, [_network(state, name) for name in (*BUILTIN, *state.networks)]
    if method == "POST" and parts == ["create"]:
        try:
            doc = json.loads(body or b"{}")
            name = str(doc["Name"])
            labels = {str(k): str(v) for k, v in (doc.get("Labels") or {}).items()}
        except (ValueError, KeyError, TypeError, AttributeError):
            return 400, {"message": "runner: a network needs a Name"}
        if _find(state, name) is not None:
            return 409, {"message": f"network with name {name} already exists"}
        state.networks[name] = labels
        return 201, {"Id": state.network_id(name), "Warning": ""}
    if method == "POST" and parts == ["prune"]:
        pruned = list(state.networks)
        state.networks.clear()
        return 200, {"NetworksDeleted": pruned}
    return _one(state, method, path, parts)


def _one(state: JobState, method: str, path: str, parts: list[str]) -> tuple[int, Any]:
    """Inspect, remove, connect or disconnect one network."""
    found = _find(state, parts[0]) if parts else None
    if found is None:
        return 404, {"message": f"network {parts[0] if parts else ''} not found"}
    if method == "GET" and len(parts) == 1:
        return 200, _network(state, found)
    if method == "DELETE" and len(parts) == 1:
        state.networks.pop(found, None)
        return 204, None
    if method == "POST" and len(parts) == 2 and parts[1] in ("connect", "disconnect"):
        return 200, None
    return 404, {"message": f"runner: this Docker API does not offer {method} {path}"}
