"""The hook's stdin, parsed once into typed values (actions/runner's ``HookInput``).

actions/runner sends one JSON line: ``command``, ``responseFile``, ``args``
and ``state`` (null on ``prepare_job``), camelCase keys, nulls written out.
Everything a workflow author controls (images, ports, options, env names,
user volumes) is checked here, so the engine's argv builders only ever see
typed values; a bad value is a clear error naming its key, never a traceback.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from runner.engine.imageref import ImageRef, ImageRefError
from runner.errors import UsageError

COMMANDS = ("prepare_job", "cleanup_job", "run_script_step", "run_container_step")
_ENV_NAME = re.compile(r"[^=\x00]+")


class HookInputError(UsageError):
    """The hook input is not what actions/runner sends; the message names the key."""


@dataclass(frozen=True)
class Mount:
    """One of ``systemMountVolumes``/``userMountVolumes``: host ``source`` at ``target``."""

    source: str | None
    target: str
    read_only: bool = False


@dataclass(frozen=True)
class RegistryLogin:
    """``registry``: credentials for the image's registry (the password is a secret)."""

    username: str
    password: str
    server: str | None

    def __repr__(self) -> str:  # never print the password, even in a debug dump
        return f"RegistryLogin(username={self.username!r}, server={self.server!r})"


@dataclass(frozen=True)
class HookContainer:
    """A job container, a service, or a container action step (``HookContainer``)."""

    image: ImageRef | None
    dockerfile: Path | None = None
    entry_point: str | None = None
    entry_point_args: tuple[str, ...] = ()
    working_directory: str | None = None
    create_options: str | None = None
    registry: RegistryLogin | None = None
    env: tuple[tuple[str, str], ...] = ()
    port_mappings: tuple[str, ...] = ()
    system_mounts: tuple[Mount, ...] = ()
    user_mounts: tuple[Mount, ...] = ()
    context_name: str | None = None
    """The service's YAML key: hooklib declares it, actions/runner never sends it (#2783)."""


@dataclass(frozen=True)
class ScriptStep:
    """``run_script_step``'s args: a command to run in the job container."""

    entry_point: str
    entry_point_args: tuple[str, ...]
    env: tuple[tuple[str, str], ...]
    prepend_path: tuple[str, ...]
    working_directory: str


@dataclass(frozen=True)
class HookInput:
    """One hook call."""

    command: str
    response_file: Path | None
    state: Mapping[str, object] | None
    container: HookContainer | None = None
    """``prepare_job``'s job container, or ``run_container_step``'s step."""
    services: tuple[HookContainer, ...] = ()
    script: ScriptStep | None = None
    raw_args: Mapping[str, object] = field(default_factory=dict)


def parse_input(text: str) -> HookInput:
    """The last non-empty line of ``text`` as a hook call (hooklib reads it the same way)."""
    lines = [line for line in text.splitlines() if line.strip()]
    if not lines:
        raise HookInputError("the hook input on stdin is empty; actions/runner sends one JSON "
                             "line (run this command only as ACTIONS_RUNNER_CONTAINER_HOOKS)")
    try:
        doc = json.loads(lines[-1])
    except ValueError as exc:
        raise HookInputError(f"the hook input is not JSON: {exc}") from None
    top = _object(doc, "the hook input")
    command = top.get("command")
    if command not in COMMANDS:
        raise HookInputError(f"hook input key 'command': {command!r} is not one of "
                             f"{', '.join(COMMANDS)}")
    response = _opt_str(top, "responseFile", "responseFile")
    state = top.get("state")
    if state is not None and not isinstance(state, dict):
        raise HookInputError("hook input key 'state' must be an object or null")
    args = _object(top.get("args") if top.get("args") is not None else {}, "args")
    found = HookInput(str(command), Path(response) if response else None, state, raw_args=args)
    if command == "prepare_job":
        job = args.get("container")
        services = _list(args, "services", "args")
        return HookInput(found.command, found.response_file, state,
                         container=None if job is None else _container(job, "args.container"),
                         services=tuple(_container(item, f"args.services[{index}]")
                                        for index, item in enumerate(services)), raw_args=args)
    if command == "run_container_step":
        return HookInput(found.command, found.response_file, state,
                         container=_container(args, "args"), raw_args=args)
    if command == "run_script_step":
        return HookInput(found.command, found.response_file, state, script=_script(args),
                         raw_args=args)
    return found


def _container(value: object, where: str) -> HookContainer:
    doc = _object(value, where)
    image_text = _opt_str(doc, "image", where)
    image: ImageRef | None = None
    if image_text:
        try:
            image = ImageRef(image_text.removeprefix("docker://")).qualified()
        except ImageRefError as exc:
            raise HookInputError(f"hook input key '{where}.image': {exc}") from None
    dockerfile = _opt_str(doc, "dockerfile", where)
    if image is None and not dockerfile and where != "args.container":
        raise HookInputError(f"hook input key '{where}': neither an image nor a dockerfile")
    registry = doc.get("registry")
    login = None
    if registry is not None:
        reg = _object(registry, f"{where}.registry")
        user = _opt_str(reg, "username", f"{where}.registry")
        if user:
            login = RegistryLogin(user, _opt_str(reg, "password", f"{where}.registry") or "",
                                  _opt_str(reg, "serverUrl", f"{where}.registry"))
    return HookContainer(
        image=image,
        dockerfile=Path(dockerfile) if dockerfile else None,
        entry_point=_opt_str(doc, "entryPoint", where) or None,
        entry_point_args=tuple(_strings(doc, "entryPointArgs", where)),
        working_directory=_opt_str(doc, "workingDirectory", where) or None,
        create_options=_opt_str(doc, "createOptions", where) or None,
        registry=login,
        env=_env(doc, "environmentVariables", where),
        port_mappings=tuple(_strings(doc, "portMappings", where)),
        system_mounts=_mounts(doc, "systemMountVolumes", where),
        user_mounts=_mounts(doc, "userMountVolumes", where),
        context_name=_opt_str(doc, "contextName", where) or None,
    )


def _script(doc: Mapping[str, object]) -> ScriptStep:
    entry = _opt_str(doc, "entryPoint", "args")
    if not entry:
        raise HookInputError("hook input key 'args.entryPoint' is missing")
    prepend = doc.get("prependPath")
    prepend_path: tuple[str, ...]
    if isinstance(prepend, str):  # runners up to 2.293.0 sent one string
        prepend_path = (prepend,) if prepend else ()
    else:
        prepend_path = tuple(_strings(doc, "prependPath", "args"))
    return ScriptStep(entry, tuple(_strings(doc, "entryPointArgs", "args")),
                      _env(doc, "environmentVariables", "args"), prepend_path,
                      _opt_str(doc, "workingDirectory", "args") or "/")


def _mounts(doc: Mapping[str, object], key: str, where: str) -> tuple[Mount, ...]:
    found = []
    for index, item in enumerate(_list(doc, key, where)):
        spot = f"{where}.{key}[{index}]"
        mount = _object(item, spot)
        target = _opt_str(mount, "targetVolumePath", spot)
        if not target:
            raise HookInputError(f"hook input key '{spot}.targetVolumePath' is missing")
        found.append(Mount(_opt_str(mount, "sourceVolumePath", spot) or None, target,
                           mount.get("readOnly") is True))
    return tuple(found)


def _env(doc: Mapping[str, object], key: str, where: str) -> tuple[tuple[str, str], ...]:
    value = doc.get(key)
    if value is None:
        return ()
    env = _object(value, f"{where}.{key}")
    pairs = []
    for name, text in env.items():
        if not _ENV_NAME.fullmatch(name):
            raise HookInputError(f"hook input key '{where}.{key}': {name!r} is no variable name")
        pairs.append((name, "" if text is None else str(text)))
    return tuple(pairs)


def _object(value: object, where: str) -> dict[str, object]:
    if not isinstance(value, dict):
        raise HookInputError(f"hook input key '{where}' must be an object")
    return value


def _list(doc: Mapping[str, object], key: str, where: str) -> list[object]:
    value = doc.get(key)
    if value is None:
        return []
    if not isinstance(value, list):
        raise HookInputError(f"hook input key '{where}.{key}' must be a list")
    return value


def _strings(doc: Mapping[str, object], key: str, where: str) -> list[str]:
    items = _list(doc, key, where)
    if not all(isinstance(item, str) for item in items):
        raise HookInputError(f"hook input key '{where}.{key}' must be a list of strings")
    return [str(item) for item in items]


def _opt_str(doc: Mapping[str, object], key: str, where: str) -> str | None:
    value = doc.get(key)
    if value is None or isinstance(value, str):
        return value
    raise HookInputError(f"hook input key '{where}.{key}' must be a string")
