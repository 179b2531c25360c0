"""Host names of a service, as gitlab-runner derives them from the image name.

``registry.example.com/team/redis:7`` is reachable as
``registry.example.com__team__redis`` and ``registry.example.com-team-redis``;
``postgres:15`` as ``postgres``. Only the last path component carries a tag,
so a registry's port stays. Dialect-neutral: the native format uses it too.
"""

from __future__ import annotations

import re

HOSTNAME = re.compile(r"(?!-)[A-Za-z0-9_-]{1,63}(?<!-)(\.(?!-)[A-Za-z0-9_-]{1,63}(?<!-))*")


def default_aliases(image: str) -> tuple[str, ...]:
    """The two default aliases of ``image`` (one when they coincide, none if not host names).

    A registry port (``registry:5000/x``) cannot be part of a host name, so
    such an image only gets the aliases written for it.
    """
    name = image.split("@", 1)[0]
    head, _, last = name.rpartition("/")
    last = last.split(":", 1)[0]
    name = f"{head}/{last}" if head else last
    both = (name.replace("/", "__"), name.replace("/", "-"))
    return tuple(alias for alias in dict.fromkeys(both) if valid_alias(alias))


def valid_alias(alias: str) -> bool:
    """Whether ``alias`` can be a host name in /etc/hosts."""
    return len(alias) <= 253 and HOSTNAME.fullmatch(alias) is not None
