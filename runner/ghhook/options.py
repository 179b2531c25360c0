"""A workflow's container settings as typed values: ports, ``options:``, volumes, aliases.

These strings come from the workflow author (a tenant). ``options:`` is
docker's command line, unparsed; passing it through would let a workflow ask
for ``--privileged`` or ``--volume /:/host``. Only options that change
nothing about confinement are taken; any other is refused by name.
"""

from __future__ import annotations

import re
import shlex
from dataclasses import dataclass

from runner.engine.hookargv import Publish, VolumeMount
from runner.engine.imageref import ImageRef
from runner.ghhook.hookinput import HookContainer, HookInputError, Mount
from runner.pipeline.durations import parse_duration
from runner.pipeline.model import Health

_PORT = re.compile(r"(?:(?:(?P<ip>[0-9.]+):)?(?P<host>\d{1,5})?:)?(?P<port>\d{1,5})"
                   r"(?:/(?P<proto>tcp|udp))?")
_VOLUME_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,62}")
_ALIAS = re.compile(r"[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?")
_HEALTH = ("--health-cmd", "--health-interval", "--health-timeout", "--health-retries",
           "--health-start-period")
ALLOWED_OPTIONS = (*_HEALTH, "--env", "-e", "--user", "-u", "--workdir", "-w")


@dataclass(frozen=True)
class CreateOptions:
    """What ``options:`` may set."""

    env: tuple[tuple[str, str], ...] = ()
    user: str | None = None
    workdir: str | None = None
    health: Health | None = None


def parse_ports(container: HookContainer, where: str) -> tuple[Publish, ...]:
    """``ports:`` entries (``8080:80``, ``80``, ``80/udp``); published on 127.0.0.1 only."""
    found = []
    for text in container.port_mappings:
        match = _PORT.fullmatch(text.strip())
        if not match or not 0 < int(match["port"]) < 65536 or (
                match["host"] and not 0 < int(match["host"]) < 65536):
            raise HookInputError(f"hook input key '{where}.portMappings': {text!r} is not "
                                 "[HOST:]CONTAINER[/tcp|udp] with ports 1-65535")
        found.append(Publish(int(match["host"]) if match["host"] else None,
                             int(match["port"]), match["proto"] or "tcp"))
    return tuple(found)


def parse_options(text: str | None, where: str) -> CreateOptions:
    """The allowed subset of docker's ``create`` options in ``options:``."""
    if not text:
        return CreateOptions()
    try:
        words = shlex.split(text)
    except ValueError as exc:
        raise HookInputError(f"hook input key '{where}.createOptions': {exc}") from None
    values: dict[str, str] = {}
    env: list[tuple[str, str]] = []
    index = 0
    while index < len(words):
        word = words[index]
        name, joined, value = word.partition("=")
        if name not in ALLOWED_OPTIONS:
            raise HookInputError(
                f"hook input key '{where}.createOptions': option {name!r} is not allowed on "
                f"this runner (allowed: {', '.join(ALLOWED_OPTIONS)}); jobs run rootless and "
                "confined, see docs/github-runner.md")
        if not joined:
            index += 1
            if index >= len(words):
                raise HookInputError(f"hook input key '{where}.createOptions': option "
                                     f"{name!r} needs a value")
            value = words[index]
        index += 1
        if name in ("--env", "-e"):
            key, has, val = value.partition("=")
            if has:
                env.append((key, val))
            continue
        values[{"-u": "--user", "-w": "--workdir"}.get(name, name)] = value
    return CreateOptions(tuple(env), values.get("--user"), values.get("--workdir"),
                         _health(values, where))


def _health(values: dict[str, str], where: str) -> Health | None:
    command = values.get("--health-cmd")
    if not command:
        return None
    try:
        return Health(
            command=command,
            interval_s=_seconds(values.get("--health-interval"), 30.0),
            timeout_s=_seconds(values.get("--health-timeout"), 30.0),
            retries=int(values.get("--health-retries", "3")),
            start_period_s=_seconds(values.get("--health-start-period"), 0.0))
    except ValueError as exc:
        raise HookInputError(f"hook input key '{where}.createOptions': {exc}") from None


def _seconds(text: str | None, default: float) -> float:
    return default if text is None else float(parse_duration(text))


def named_volumes(mounts: tuple[Mount, ...], job: str, where: str) -> tuple[VolumeMount, ...]:
    """``volumes:`` as volumes private to the job; a host path is refused.

    A host path would be mounted with the runner user's access to the host
    (its image store, other jobs' work dirs), so only named volumes are taken,
    each renamed into the job (``<job>-<name>``) and removed with it.
    """
    found = []
    for index, mount in enumerate(mounts):
        source = mount.source
        if source is None:
            continue  # a bare target: the container's own layer holds it already
        if not _VOLUME_NAME.fullmatch(source):
            raise HookInputError(
                f"hook input key '{where}.userMountVolumes[{index}]': {source!r} is a host "
                "path; this runner mounts only named volumes (NAME:/path), private to the job")
        found.append(VolumeMount(f"{job}-{source}", mount.target, mount.read_only))
    return tuple(found)


def service_alias(container: HookContainer, taken: set[str]) -> str | None:
    """The host name a service answers to: its YAML key if sent, else its image's name.

    actions/runner does not send the key (actions/runner#2783), so
    ``services: {cache: {image: redis:7}}`` is reachable as ``redis``; a
    name already taken by an earlier service gets none.
    """
    candidates = [container.context_name] if container.context_name else []
    if container.image is not None:
        candidates.append(image_name(container.image))
    for name in candidates:
        alias = name.lower()
        if _ALIAS.fullmatch(alias) and alias not in taken:
            taken.add(alias)
            return alias
    return None


def image_name(image: ImageRef) -> str:
    """``docker.io/library/redis:7`` -> ``redis``."""
    path = image.split("@", 1)[0]
    last = path.rsplit("/", 1)[-1]
    return last.split(":", 1)[0]
