"""The image side of the model: registries a pipeline talks to, and image build jobs.

Apart from ``model`` only to keep modules small; ``model`` re-exports both.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from runner.pipeline.spot import Spot


@dataclass(frozen=True)
class Registry:
    """How to reach one registry (``host[:port]``): its CA, plain HTTP opt-in, credentials.

    The password is only ever the *name* of a pipeline secret, read when the
    run starts and written to a per-job 0600 auth file, never to argv or logs.
    """

    host: str
    ca_file: Path | None = None
    insecure: bool = False
    """Plain HTTP or unverified TLS for this registry only; an explicit opt-in."""
    username: str | None = None
    password_secret: str | None = None
    spot: Spot | None = None


@dataclass(frozen=True)
class Build:
    """An image build job: ``buildah build`` on the host, then pushes, instead of a script.

    Paths are relative to the job's workspace (the project snapshot plus the
    artifacts of its needs). Strings may use ``$VAR`` of the job's variables.
    """

    context: str = "."
    containerfile: str | None = None
    """Default: ``Containerfile``, else ``Dockerfile``, in the context directory."""
    tags: tuple[str, ...] = ()
    args: tuple[tuple[str, str], ...] = ()
    target: str | None = None
    platform: str | None = None
    labels: tuple[tuple[str, str], ...] = ()
    push: bool = False
    cache_from: tuple[str, ...] = ()
    cache_to: str | None = None
    layers: bool = True
    isolation: str = "rootless"
    """``rootless`` (RUN steps under runc in their own user, mount, pid and network
    namespaces) or ``chroot`` (lighter, for nested builds); see docs/builds.md.

    The job's ``secrets`` are offered to ``RUN --mount=type=secret,id=NAME``, never
    stored in the image.
    """
