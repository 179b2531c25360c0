"""Which storage driver and OCI runtime podman will pick, read from its config files.

This mirrors the lookup order of containers/storage and containers/common
(podman 4.x) closely enough for a diagnosis, without starting podman: asking
``podman info`` would itself fail on exactly the hosts we need to diagnose.
"""

from __future__ import annotations

import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import Any

Setting = tuple[str | None, str | None, tuple[str, ...]]
"""(value, where it came from, config files that could not be parsed)."""


def config_home(environ: Mapping[str, str], home: Path) -> Path:
    """``$XDG_CONFIG_HOME``, else ``$HOME/.config`` (the passwd home if HOME is unset)."""
    if environ.get("XDG_CONFIG_HOME"):
        return Path(environ["XDG_CONFIG_HOME"])
    return Path(environ.get("HOME") or home) / ".config"


def storage_driver(root: Path, environ: Mapping[str, str], home: Path) -> Setting:
    """The graph driver: ``STORAGE_DRIVER``, else the first storage.conf that exists.

    storage.conf files do not merge: the user's file, when present, hides the
    system ones entirely; ``CONTAINERS_STORAGE_CONF`` replaces the whole chain.
    """
    if environ.get("STORAGE_DRIVER"):
        return environ["STORAGE_DRIVER"], "STORAGE_DRIVER", ()
    if environ.get("CONTAINERS_STORAGE_CONF"):
        chain = [Path(environ["CONTAINERS_STORAGE_CONF"])]
    else:
        chain = [
            config_home(environ, home) / "containers/storage.conf",
            root / "etc/containers/storage.conf",
            root / "usr/share/containers/storage.conf",
        ]
    for path in chain:
        if path.is_file():
            data, errors = _load(path)
            driver = _get(data, "storage", "driver")
            return driver or None, str(path), errors
    return None, None, ()


def oci_runtime(root: Path, environ: Mapping[str, str], home: Path) -> Setting:
    """``[engine] runtime`` from the containers.conf chain; later files win.

    ``CONTAINERS_CONF`` replaces the chain; ``CONTAINERS_CONF_OVERRIDE``
    (podman >= 4.5) is read last.
    """
    if environ.get("CONTAINERS_CONF"):
        chain = [Path(environ["CONTAINERS_CONF"])]
    else:
        user = config_home(environ, home) / "containers"
        chain = [
            root / "usr/share/containers/containers.conf",
            root / "etc/containers/containers.conf",
            *sorted((root / "etc/containers/containers.conf.d").glob("*.conf")),
            user / "containers.conf",
            *sorted((user / "containers.conf.d").glob("*.conf")),
        ]
    if environ.get("CONTAINERS_CONF_OVERRIDE"):
        chain.append(Path(environ["CONTAINERS_CONF_OVERRIDE"]))
    value: str | None = None
    source: str | None = None
    errors: tuple[str, ...] = ()
    for path in chain:
        if not path.is_file():
            continue
        data, bad = _load(path)
        errors += bad
        runtime = _get(data, "engine", "runtime")
        if runtime:
            value, source = runtime, str(path)
    return value, source, errors


def _load(path: Path) -> tuple[dict[str, Any], tuple[str, ...]]:
    try:
        with path.open("rb") as fh:
            return tomllib.load(fh), ()
    except (OSError, tomllib.TOMLDecodeError) as exc:
        return {}, (f"{path}: {exc}",)


def _get(data: Mapping[str, Any], table: str, key: str) -> str | None:
    section = data.get(table)
    value = section.get(key) if isinstance(section, dict) else None
    return value if isinstance(value, str) else None
