"""A fast look at a store's image names, without starting buildah (~30 ms a call).

containers-storage lists its images in ``<root>/<driver>-images/images.json``.
Reading it is only a hint: a name found there is taken as present, and
anything unclear (missing file, other format, a short name) returns None so
the caller asks buildah, whose answer is authoritative.
"""

from __future__ import annotations

import json
from pathlib import Path

from runner.engine.argv import StoreSpec
from runner.engine.imageref import registry_of


def tagged(ref: str) -> str:
    """``ref`` as the store's index names it: ``:latest`` added when no tag or digest is given."""
    return ref if ":" in ref.rsplit("/", 1)[-1] or "@" in ref else f"{ref}:latest"


def listed_id(root: Path, driver: str, name: str) -> str | None:
    """The id the index of the store at ``root`` gives image ``name`` (as ``tagged`` spells it)."""
    try:
        with (root / f"{driver}-images" / "images.json").open("rb") as file:
            images = json.load(file)
    except (OSError, ValueError):
        return None
    if not isinstance(images, list):
        return None
    for image in images:
        if isinstance(image, dict) and name in (image.get("names") or ()):
            return str(image.get("id"))
    return None


def has_image(store: StoreSpec, ref: str) -> bool | None:
    """True if ``ref`` is listed by its full name; None when only buildah can tell."""
    if registry_of(ref) is None:
        return None  # short names resolve through registries.conf: ask buildah
    return True if listed_id(store.root, store.driver, tagged(ref)) is not None else None


def has_containers(store: StoreSpec) -> bool | None:
    """Whether the store lists any container (buildah's or podman's); None if unreadable."""
    try:
        with (store.root / f"{store.driver}-containers" / "containers.json").open("rb") as file:
            containers = json.load(file)
    except FileNotFoundError:
        return False
    except (OSError, ValueError):
        return None
    return bool(containers) if isinstance(containers, list) else None
