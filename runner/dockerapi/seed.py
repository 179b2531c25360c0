"""Base images for a Docker job's tenant store, by the rule ``runner build`` follows.

A Docker job's API works on its tenant's image store. Images the user's own
store already has (public images pulled before, ``localhost/`` images made
on the host) are copied in by exact name when the job names them in a
``FROM`` line, a ``docker pull`` or a ``docker run``; images of the
pipeline's private registries never are: those the job must pull with its
own credentials, so a job sees no private image it could not pull itself.
"""

from __future__ import annotations

import re
import tarfile
from collections.abc import Iterable
from pathlib import Path

from runner.engine import buildah, store_index
from runner.engine.argv import StoreSpec
from runner.engine.imageref import ImageRef, ImageRefError, qualified_image, registry_of

_FROM = re.compile(r"^\s*FROM\s+(?:--\S+\s+)*(\S+)", re.IGNORECASE | re.MULTILINE)
MAX_DOCKERFILE = 1024 * 1024


class Seeder:
    """Copies what a job names from the user's store into its tenant store (``store``)."""

    def __init__(self, store: StoreSpec | None, private_hosts: frozenset[str]) -> None:
        self.store = store
        self.private_hosts = private_hosts
        self._done: set[str] = set()

    async def seed(self, names: Iterable[str]) -> list[str]:
        """Copy each named image the tenant store lacks and the user's has; those copied."""
        if self.store is None:
            return []
        copied: list[str] = []
        default: StoreSpec | None = None
        for name in names:
            try:
                ref = ImageRef(qualified_image(name))
            except ImageRefError:
                continue
            if ref in self._done or registry_of(ref) in self.private_hosts:
                continue
            self._done.add(ref)
            if store_index.has_image(self.store, ref) or await buildah.image_id(
                    ref, self.store) is not None:
                continue
            default = default or await buildah.default_store()
            if await buildah.image_id(ref, default) is None:
                continue
            if (await buildah.copy_in(ref, default, self.store)).code == 0:
                copied.append(ref)
        return copied

    async def present(self, name: str) -> bool:
        """Whether the tenant store (or the user's, without one) has ``name``."""
        try:
            ref = ImageRef(qualified_image(name))
        except ImageRefError:
            return False
        return await buildah.image_id(ref, self.store) is not None


def base_images(context: Path, dockerfile: str) -> list[str]:
    """The images a build context's Dockerfile starts ``FROM`` (stage names and ``$ARG``s
    left out: those are decided by the build)."""
    try:
        with tarfile.open(context, mode="r:*") as tar:
            member = tar.getmember(dockerfile.removeprefix("./"))
            if not member.isfile() or member.size > MAX_DOCKERFILE:
                return []
            handle = tar.extractfile(member)
            text = handle.read().decode("utf-8", "replace") if handle else ""
    except (tarfile.TarError, KeyError, OSError, EOFError):
        return []
    stages: set[str] = set()
    found = []
    for match in _FROM.finditer(text):
        image = match.group(1)
        line_end = text.find("\n", match.end())
        rest = text[match.end():line_end if line_end >= 0 else None].split()
        if len(rest) >= 2 and rest[0].lower() == "as":
            stages.add(rest[1].lower())
        if "$" in image or image.lower() in stages or image == "scratch":
            continue
        found.append(image)
    return found


def pulled_message(image: str) -> bytes:
    """The progress stream of a pull that found the image at hand (a ``localhost/`` image)."""
    return (b'{"status":"Pulling from ' + image.encode() + b'"}\r\n'
            b'{"status":"Status: Image is up to date for ' + image.encode() + b'"}\r\n')


