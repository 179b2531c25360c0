"""Per-job registry access: a 0600 auth file, CA directories, the ``insecure`` opt-in.

Credentials come from the pipeline's ``registries`` (a username and the name
of a secret) on top of the user's standard auth file, the one buildah itself
would read (``REGISTRY_AUTH_FILE``, then ``$XDG_RUNTIME_DIR/containers/auth.json``,
``~/.config/containers/auth.json``, ``~/.docker/config.json``). They are
written to one file in the job's private control directory, which is removed
with the job; only its path reaches buildah's argv.
"""

from __future__ import annotations

import base64
import json
import os
import shutil
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path

from runner.engine.buildargv import RegistryAccess
from runner.engine.imageref import registry_of
from runner.errors import UserInputError
from runner.pipeline.model import Registry


def registry_host(ref: str) -> str:
    """The registry part of an image reference (``docker.io`` for short names)."""
    return registry_of(ref) or "docker.io"


def standard_authfile(environ: Mapping[str, str], home: Path) -> Path | None:
    """The auth file buildah would use by itself, if any exists."""
    candidates = []
    if environ.get("REGISTRY_AUTH_FILE"):
        candidates.append(Path(environ["REGISTRY_AUTH_FILE"]))
    if environ.get("XDG_RUNTIME_DIR"):
        candidates.append(Path(environ["XDG_RUNTIME_DIR"]) / "containers/auth.json")
    config = Path(environ.get("XDG_CONFIG_HOME") or home / ".config")
    candidates += [config / "containers/auth.json", home / ".docker/config.json"]
    return next((path for path in candidates if path.is_file()), None)


@dataclass(frozen=True)
class AccessPlan:
    """What the build and each push use to reach registries."""

    build: RegistryAccess
    pushes: dict[str, RegistryAccess]
    """By registry host."""
    unverified: tuple[str, ...] = ()
    """Registries the build reaches without TLS checks only because another one it
    uses is ``insecure`` (buildah has one switch per build); pushes are per host."""

    def for_push(self, destination: str) -> RegistryAccess:
        return self.pushes.get(registry_host(destination), self.build)


def prepare(
    directory: Path,
    *,
    registries: Iterable[Registry],
    secrets: Mapping[str, str],
    refs: Iterable[str],
    destinations: Iterable[str],
    authfile: Path | None = None,
    standard: Path | None = None,
) -> AccessPlan:
    """Write the job's auth file and CA dirs under ``directory`` (which must be private).

    ``refs`` are every reference the build itself touches (base images, cache
    repositories), ``destinations`` the tags pushed. ``authfile`` is one the
    user named (``runner build --authfile``), ``standard`` the user's own
    (``standard_authfile``). Without pipeline credentials no file is written:
    buildah gets ``authfile`` if named, else does its own lookup over all the
    standard places. With them, the job's file is ``authfile`` (or
    ``standard``) as it is, credential helpers included, plus the pipeline's.
    """
    known = {registry.host: registry for registry in registries}
    with_creds = [r for r in known.values() if r.username is not None]
    if with_creds:
        base = authfile or standard
        doc = _read(base) if base else {}
        auths = doc.get("auths")
        auths = dict(auths) if isinstance(auths, dict) else {}
        for registry in with_creds:
            assert registry.password_secret is not None and registry.username is not None
            token = f"{registry.username}:{secrets[registry.password_secret]}"
            auths[registry.host] = {"auth": base64.b64encode(token.encode()).decode()}
        authfile = directory / "auth.json"
        fd = os.open(authfile, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as out:
            json.dump({**doc, "auths": auths}, out)

    def access(hosts: set[str], name: str) -> RegistryAccess:
        cas = [known[h].ca_file for h in sorted(hosts) if h in known and known[h].ca_file]
        cert_dir = None
        if cas:
            cert_dir = directory / name
            cert_dir.mkdir(mode=0o700)
            for index, ca in enumerate(cas):
                assert ca is not None
                _copy_ca(ca, cert_dir / f"ca-{index}.crt", known)
        insecure = any(known[h].insecure for h in hosts if h in known)
        return RegistryAccess(authfile, cert_dir, tls_verify=not insecure)

    build_hosts = {registry_host(ref) for ref in refs}
    plan_pushes: dict[str, RegistryAccess] = {}
    for destination in destinations:
        host = registry_host(destination)
        if host not in plan_pushes:
            plan_pushes[host] = access({host}, f"certs-{len(plan_pushes)}")
    build = access(build_hosts, "certs-build")
    unverified = () if build.tls_verify else tuple(
        sorted(h for h in build_hosts if not (h in known and known[h].insecure)))
    return AccessPlan(build, plan_pushes, unverified)


def _read(path: Path) -> dict[str, object]:
    """A standard auth file; a broken one is the user's to fix, said clearly."""
    try:
        data = json.loads(path.read_text())
    except (OSError, ValueError) as exc:
        raise UserInputError(f"registry auth file {path} cannot be read: {exc}") from exc
    if not isinstance(data, dict):
        raise UserInputError(f"registry auth file {path} is not a JSON object")
    return data


def _copy_ca(ca: Path, dest: Path, known: Mapping[str, Registry]) -> None:
    try:
        shutil.copyfile(ca, dest)
    except OSError as exc:
        owner = next((r for r in known.values() if r.ca_file == ca), None)
        where = f"{owner.spot}: " if owner and owner.spot else ""
        raise UserInputError(f"{where}'ca_file' {ca} cannot be read: {exc.strerror}") from exc
