"""Getting a hook job's images into the user's store, with the job's registry credentials.

The ``registry`` object actions/runner sends (a workflow's
``container.credentials``) becomes a 0600 auth file in the job's private
dir for the one pull that needs it (``runner.build.access``): the password
never reaches argv, a log or a file that outlives the call.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from urllib.parse import urlsplit

from runner.build.access import registry_host, standard_authfile
from runner.engine.imageref import ImageRef, registry_of
from runner.engine.podman import image_missing
from runner.execute.images import Fetcher, ImagePlan
from runner.ghhook.hookinput import RegistryLogin
from runner.pipeline.model import Registry

Sink = Callable[[bytes], None]
Notice = Callable[[str], None]
_SECRET = "registry-password"  # noqa: S105 - the name of a secret, not one


def login_host(login: RegistryLogin, image: ImageRef) -> str:
    """The registry ``login`` is for: its ``serverUrl`` (``https://ghcr.io`` -> ``ghcr.io``)."""
    server = (login.server or "").strip()
    if not server:
        return registry_host(image)
    host = urlsplit(server if "//" in server else f"//{server}").netloc or server
    return "docker.io" if host in ("index.docker.io", "registry-1.docker.io") else host


async def fetch(image: ImageRef, login: RegistryLogin | None, scratch: Path, *, sink: Sink,
                notice: Notice, environ: dict[str, str]) -> None:
    """Have ``image`` in the user's store; with ``login``, ask its registry every time.

    A copy another job pulled must not stand in for a registry that would
    refuse this one's credentials, so a private image is always pulled.
    """
    registries: tuple[Registry, ...] = ()
    secrets: dict[str, str] = {}
    private: frozenset[ImageRef] = frozenset()
    if login is not None:
        registries = (Registry(login_host(login, image), username=login.username,
                               password_secret=_SECRET),)
        secrets = {_SECRET: login.password}
        private = frozenset({image})
    local = registry_of(image) == "localhost" and login is None
    plan = ImagePlan(None, () if local else (image,), private, (image,) if local else ())
    fetcher = Fetcher(registries, secrets, standard_authfile(environ, Path.home()),
                      recheck_private=True)

    async def present(ref: ImageRef) -> bool:
        return not await image_missing(ref)

    await fetcher.fetch(plan, scratch, sink, notice, present=present)
