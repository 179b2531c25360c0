"""``DOCKER_AUTH_CONFIG``: registry credentials for job and service images, as gitlab-runner
reads them (common/docker_auth / helpers/docker/auth: a docker ``config.json`` document).

``auths`` maps a registry (``registry.example.com:5000``, or a URL such as
``https://index.docker.io/v1/``) to ``auth`` (base64 of ``user:password``) or
to ``username`` and ``password``. ``credHelpers`` and ``credsStore`` name
programs to run for credentials; runner does not run them and says so.

Each password becomes a secret of the run that no job lists: it is masked in
every output and only ever written to the 0600 auth file of one pull
(``runner.build.access``), never to argv or the model's repr.
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Mapping
from dataclasses import dataclass, field

from runner.errors import UserInputError

VARIABLE = "DOCKER_AUTH_CONFIG"
_DOCKER_HUB = ("index.docker.io", "registry-1.docker.io", "registry.hub.docker.com")


@dataclass(frozen=True)
class Credential:
    """One registry's login from the document."""

    host: str
    username: str
    password: str = field(repr=False)
    auth: str | None = field(default=None, repr=False)
    """The base64 ``auth`` text as written, if given: as telling as the password."""


def parse_docker_auth(text: str, origin: str) -> tuple[Credential, ...]:
    """The credentials of a ``DOCKER_AUTH_CONFIG`` value; ``origin`` says where it came from.

    Errors never quote the value (it holds passwords).
    """
    where = f"{VARIABLE} (from {origin})"
    try:
        doc = json.loads(text)
    except ValueError as exc:
        raise UserInputError(f"{where} is not valid JSON (line {getattr(exc, 'lineno', '?')})"
                             "; write it as a docker config.json: {\"auths\": {\"REGISTRY\": "
                             "{\"auth\": \"BASE64(user:password)\"}}}") from None
    if not isinstance(doc, dict):
        raise UserInputError(f"{where} must be a JSON object with 'auths'")
    helpers = [key for key in ("credsStore", "credHelpers") if doc.get(key)]
    if helpers:
        raise UserInputError(f"{where} uses '{helpers[0]}': runner does not run credential "
                             "helpers; put the registry's login in 'auths' instead")
    auths = doc.get("auths", {})
    if not isinstance(auths, dict):
        raise UserInputError(f"{where}: 'auths' must be an object of registries")
    found: dict[str, Credential] = {}
    for name, entry in auths.items():
        host = registry_host(str(name))
        if not isinstance(entry, Mapping):
            raise UserInputError(f"{where}: the entry of registry '{name}' must be an object")
        username, password = _login(entry, where, str(name))
        if username is not None and password is not None and host not in found:
            auth = entry.get("auth")
            found[host] = Credential(host, username, password,
                                     auth if isinstance(auth, str) and auth else None)
    return tuple(found.values())


def _login(entry: Mapping[str, object], where: str, name: str) -> tuple[str | None, str | None]:
    """``auth`` (base64 of ``user:password``) first, else ``username`` and ``password``."""
    auth = entry.get("auth")
    if isinstance(auth, str) and auth:
        try:
            decoded = base64.b64decode(auth, validate=True).decode()
        except (binascii.Error, UnicodeDecodeError):
            raise UserInputError(f"{where}: the 'auth' of registry '{name}' is not base64 of "
                                 "'user:password'") from None
        username, sep, password = decoded.partition(":")
        if not sep:
            raise UserInputError(f"{where}: the 'auth' of registry '{name}' decodes to no "
                                 "'user:password' pair")
        return username, password
    user, secret = entry.get("username"), entry.get("password")
    if isinstance(user, str) and isinstance(secret, str):
        return user, secret
    return None, None


def registry_host(name: str) -> str:
    """``host[:port]`` of an ``auths`` key, which may be a URL; Docker Hub's names are one."""
    rest = name.strip().split("://", 1)[-1].split("/", 1)[0]
    return "docker.io" if rest in _DOCKER_HUB else rest
