"""Image references, parsed once: the OCI distribution grammar, or a local image id.

A tenant names images everywhere (a job's, a service's, build tags, push
targets, what a coordinator sends), and every one of them ends up on a
podman or buildah command line. A value such as ``--volume=/:/h`` that
reached ``podman run`` in an image's place was read as an option and
mounted the host into a container (issue 14, H1). So no argv builder takes
a plain ``str`` for an image: it takes an ``ImageRef``, which only
``ImageRef(text)`` makes, after checking ``text`` against the grammar of
``distribution/reference`` (what Docker, podman and GitLab's runner use),
under which no reference can begin with ``-``. The builders also put ``--``
before it, so that a bug here still could not turn a value into an option.
"""

from __future__ import annotations

import re

_COMPONENT = r"[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*"
_DOMAIN_PART = r"(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9])"
_DOMAIN = rf"(?:{_DOMAIN_PART}(?:\.{_DOMAIN_PART})*|\[[a-fA-F0-9:]+\])(?::[0-9]+)?"
REFERENCE = re.compile(
    rf"(?P<name>(?:{_DOMAIN}/)?{_COMPONENT}(?:/{_COMPONENT})*)"
    r"(?::(?P<tag>[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}))?"
    r"(?:@(?P<digest>[A-Za-z][A-Za-z0-9]*(?:[-_+.][A-Za-z][A-Za-z0-9]*)*:[0-9a-fA-F]{32,}))?"
)
"""``distribution/reference``'s ReferenceRegexp: name, optional tag, optional digest."""
NAME_MAX = 255
"""The grammar's NameTotalLengthMax: the name part (registry and path) at most this long."""
_IMAGE_ID = re.compile(r"sha256:[0-9a-f]{1,64}|[0-9a-f]{64}")


class ImageRefError(ValueError):
    """``text`` is no image reference; the message says why, for the user."""


class ImageRef(str):
    """A string known to be an image reference or image id (so never an option).

    A ``str`` subtype, so that it prints, compares and hashes as the text it
    is; anything made from it by string operations is a plain ``str`` again,
    and the type checker keeps such a value away from the argv builders.
    """

    __slots__ = ()

    def __new__(cls, text: str) -> ImageRef:
        problem = why_not(text)
        if problem is not None:
            raise ImageRefError(problem)
        return super().__new__(cls, text)

    def qualified(self) -> ImageRef:
        """This reference with its registry written out, Docker's way (``qualified_image``)."""
        return ImageRef(qualified_image(self))


def why_not(text: str) -> str | None:
    """Why ``text`` is not an image reference, or None when it is one."""
    if is_image_id(text):
        return None
    found = REFERENCE.fullmatch(text)
    if found is None:
        return (f"'{text}' is not an image reference (like 'alpine:3.19' or"
                " 'registry.example.com/group/image:tag'; lowercase path, no spaces,"
                " not starting with '-')")
    if len(found.group("name")) > NAME_MAX:
        return f"the image name in '{text}' is longer than {NAME_MAX} characters"
    return None


def registry_of(ref: str) -> str | None:
    """The registry an image reference names (``quay.io``, ``reg:5000``, ``localhost``), if any.

    Docker's rule: the first path component is a registry when it has a dot
    or a port, or is ``localhost``; otherwise the name is short.
    """
    first, sep, _ = ref.partition("/")
    if sep and ("." in first or ":" in first or first == "localhost"):
        return first
    return None


def is_image_id(ref: str) -> bool:
    """An image id (``sha256:...`` or 64 hex digits) names a local image, never a registry's."""
    return _IMAGE_ID.fullmatch(ref) is not None


def qualified_image(image: str) -> str:
    """``image`` with its registry written out, Docker's way: ``alpine`` is docker.io's.

    podman matches a short name against *any* local image whose name ends
    with it, so on a shared store one tenant could pull
    ``evil.example/library/alpine`` and answer another tenant's ``alpine``.
    Image ids and names with a registry (or ``localhost/``) stay as written.
    """
    if is_image_id(image):
        return image
    if registry_of(image) is not None:
        return image
    return f"docker.io/{image}" if "/" in image else f"docker.io/library/{image}"
