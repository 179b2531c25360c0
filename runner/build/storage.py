"""Where build stores live: one containers-storage store per tenant, or the user's shared one.

A tenant's store is under the user's data dir (layers persist, so rebuilds
are cached) with its run-time state under ``$XDG_RUNTIME_DIR`` (tmpfs, as
podman's own run root is). Sharing is an explicit choice: with it, every
project's layers can satisfy every other project's ``RUN`` steps.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Mapping
from pathlib import Path

from runner.engine.argv import StoreSpec

MODES = ("project", "shared")


def store_roots(environ: Mapping[str, str], home: Path) -> tuple[Path, Path]:
    """(stores, runroots): parents of each tenant's store and of its run-time state."""
    data = Path(environ.get("XDG_DATA_HOME") or home / ".local/share")
    runtime = environ.get("XDG_RUNTIME_DIR") or f"/tmp/runner-{os.getuid()}"  # noqa: S108
    return data / "runner" / "builds", Path(runtime) / "runner" / "builds"


RUNROOT_NAME_MAX = 16
"""podman refuses a run root longer than 50 characters ("the specified runroot is longer
than 50 characters"); ``/run/user/NNNN/runner/builds/`` leaves room for 16 more."""


def tenant_store(stores: Path, runroots: Path, tenant: str) -> StoreSpec:
    """The tenant's store: its name as the graph root, a short one for the run root.

    A tenant longer than ``RUNROOT_NAME_MAX`` (the agent's ``gitlab-<host>-<id>``)
    gets a hash of it as its run root's name.
    """
    short = tenant if len(tenant) <= RUNROOT_NAME_MAX else hashlib.sha256(
        tenant.encode()).hexdigest()[:RUNROOT_NAME_MAX]
    return StoreSpec(stores / tenant, runroots / short)

