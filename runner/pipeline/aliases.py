"""Host names of a service, as gitlab-runner derives them from the image name.

``registry.example.com/team/redis:7`` is reachable as
``registry.example.com__team__redis`` and ``registry.example.com-team-redis``;
``postgres:15`` as ``postgres``; a registry port is dropped
(``domain.tld:8080/service`` is ``domain.tld__service``), as in gitlab-runner's
``helpers/container/services`` (``SplitNameAndVersion``). Dialect-neutral: the
native format uses it too.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from runner.engine.imageref import REFERENCE, why_not

_NO_PORT = re.compile(r"(.*?)(|:[0-9]+)(|/.*)", re.DOTALL)
"""The runner's referenceRegexpNoPort: registry host, its port, the path after it."""
_LABEL = r"[A-Za-z0-9_](?:[A-Za-z0-9_-]{0,61}[A-Za-z0-9_])?"
_HOSTNAME = re.compile(rf"(?=.{{1,253}}\Z){_LABEL}(?:\.{_LABEL})*")
"""What /etc/hosts can carry: dotted labels of letters, digits, '-' and '_' (runner's
own ``a__b`` aliases have underscores), no label starting or ending with '-'."""


def default_aliases(image: str) -> tuple[str, ...] | None:
    """gitlab-runner's host names for ``image``, or None when it is no image reference.

    Names that are not host names (a long path, an IPv6 registry) are left out,
    as gitlab-runner's Kubernetes executor does.
    """
    found = REFERENCE.fullmatch(image)
    if found is None or why_not(image) is not None:
        return None
    parts = _NO_PORT.fullmatch(found.group("name"))
    assert parts is not None  # (.*?)(|...)(|/.*) matches every string
    service = parts.group(1) + parts.group(3)
    names = dict.fromkeys((service.replace("/", "__"), service.replace("/", "-")))
    return tuple(name for name in names if is_hostname(name))


def is_hostname(text: str) -> bool:
    """Whether ``text`` can be a host name in the job's pod."""
    return _HOSTNAME.fullmatch(text) is not None


def claim(names: Iterable[str], taken: set[str]) -> tuple[str, ...] | None:
    """``names`` not yet in ``taken``, added to it; None if every one was taken already.

    GitLab starts one service per host name: a service whose names are all
    taken by earlier services is not started (both dialects and the agent
    say so to the user). A service without names at all gets ``()``.
    """
    unique = list(dict.fromkeys(names))
    fresh = tuple(name for name in unique if name not in taken)
    if unique and not fresh:
        return None
    taken.update(fresh)
    return fresh
