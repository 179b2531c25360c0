"""What a build job hands to later jobs: its image (id, tags, pushed digests) and store.

Later jobs name it as ``${{ jobs.NAME.image }}`` (or ``.digest``, ``.tag``).
As a job's ``image`` it means the built image itself, run straight from the
tenant store it was built in: no registry round trip, no copy.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass

from runner.engine.argv import StoreSpec
from runner.pipeline.model import OUTPUT_REF


@dataclass(frozen=True)
class BuildOutput:
    """One build job's result."""

    image_id: str
    """The image's id (its config digest) in ``store``."""
    tags: tuple[str, ...] = ()
    pushed: tuple[tuple[str, str], ...] = ()
    """(destination, manifest digest) of every push."""
    store: StoreSpec | None = None

    @property
    def digest(self) -> str:
        """The manifest digest of the first push, else the image id."""
        return self.pushed[0][1] if self.pushed else self.image_id

    @property
    def reference(self) -> str:
        """The most useful name for the image: ``tag@digest`` once pushed, else tag or id."""
        if self.pushed:
            destination, digest = self.pushed[0]
            return f"{destination.split('@')[0]}@{digest}"
        return self.tags[0] if self.tags else self.image_id

    def field(self, name: str) -> str:
        """``image``, ``digest`` or ``tag`` as written in ``${{ jobs.X.<name> }}``."""
        if name == "digest":
            return self.digest
        if name == "tag":
            return self.tags[0] if self.tags else self.image_id
        return self.reference


def substitute(text: str, outputs: Mapping[str, BuildOutput]) -> str:
    """``text`` with every ``${{ jobs.X.field }}`` of a finished build job X replaced.

    A reference to a job with no output (a build job's own, inherited from the
    top level) stays as written.
    """
    def one(m: re.Match[str]) -> str:
        output = outputs.get(m.group(1))
        return m.group(0) if output is None else output.field(m.group(2))

    return OUTPUT_REF.sub(one, text)


def job_image(image: str, outputs: Mapping[str, BuildOutput]) -> tuple[str, StoreSpec | None]:
    """The image a job runs and the store it is in: a build output runs from its own store."""
    found = OUTPUT_REF.fullmatch(image.strip())
    if found is None:
        return image, None
    output = outputs[found.group(1)]
    return output.image_id, output.store
