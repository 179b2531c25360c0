"""The local registry fixture itself: TLS, auth, pushes and restarts behave like a real registry.

Tests of credential and trust handling rely on these properties; if one
breaks, their failures would otherwise point at the runner instead.
"""

from __future__ import annotations

import base64
import json
import socket
import ssl
import subprocess
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

import pytest

from tests.registry import (
    Registry,
    RegistryError,
    RegistryServer,
    https_request,
    push_image,
    unused_registry_host,
)

pytestmark = pytest.mark.podman


def _skopeo_digest(registry: Registry, reference: str) -> str:
    done = subprocess.run(
        ["skopeo", "inspect", "--authfile", str(registry.authfile),
         "--cert-dir", str(registry.cert_dir), f"docker://{reference}"],
        capture_output=True, text=True, timeout=120, check=False)
    assert done.returncode == 0, done.stderr + registry.log_text()
    digest: str = json.loads(done.stdout)["Digest"]
    return digest


def test_anonymous_requests_get_401(registry: Registry) -> None:
    """Without credentials /v2/ is refused with a basic-auth challenge; with them it answers."""
    status, headers, _ = https_request(registry.ca_file, "GET", f"https://{registry.host}/v2/")
    assert status == 401, registry.log_text()
    assert headers["www-authenticate"].startswith("Basic realm=")
    assert registry.catalog() is not None  # the fixture's own credentials work


def test_certificate_covers_host_and_slirp_addresses(registry: Registry) -> None:
    """The server certificate chains to ca_file and names 127.0.0.1, 10.0.2.2 and localhost."""
    context = ssl.create_default_context(cafile=str(registry.ca_file))
    address, port = registry.host.rsplit(":", 1)
    with socket.create_connection((address, int(port)), timeout=10) as raw, \
            context.wrap_socket(raw, server_hostname=address) as tls:
        cert = tls.getpeercert()
    assert cert is not None
    names = set(cert["subjectAltName"])
    assert {("IP Address", "127.0.0.1"), ("IP Address", "10.0.2.2"),
            ("DNS", "localhost")} <= names
    assert sorted(p.name for p in registry.cert_dir.iterdir()) == ["ca.crt"]
    assert (registry.cert_dir / "ca.crt").read_bytes() == registry.ca_file.read_bytes()


def test_push_shows_in_catalog_tags_and_digest(registry: Registry, busybox_image: str) -> None:
    """skopeo pushes with the fixture's authfile; the query helpers see what it pushed."""
    assert registry.authfile.stat().st_mode & 0o777 == 0o600
    reference = push_image(registry, busybox_image, "fixture/push:one")
    assert reference == f"{registry.host}/fixture/push:one"
    assert "fixture/push" in registry.catalog()
    assert registry.tags("fixture/push") == ["one"]
    digest = registry.manifest_digest("fixture/push", "one")
    assert digest is not None
    assert digest.startswith("sha256:")
    assert digest == _skopeo_digest(registry, reference)
    assert registry.manifest_digest("fixture/push", digest) == digest
    assert registry.manifest_digest("fixture/push", "absent") is None
    assert registry.tags("fixture/never-pushed") == []


def test_wrong_password_is_refused(registry: Registry, busybox_image: str,
                                   tmp_path: Path) -> None:
    """A wrong password gets 401 over HTTP, and skopeo with such an authfile cannot push."""
    wrong = replace(registry, password="not-the-password")
    with pytest.raises(RegistryError) as caught:
        wrong.catalog()
    assert caught.value.status == 401

    authfile = tmp_path / "auth.json"
    token = base64.b64encode(f"{registry.username}:not-the-password".encode()).decode()
    authfile.write_text(json.dumps({"auths": {registry.host: {"auth": token}}}))
    with pytest.raises(RegistryError, match=r"(?i)unauthorized|authentication required"):
        push_image(replace(wrong, authfile=authfile), busybox_image, "fixture/denied:one")
    assert registry.tags("fixture/denied") == []


def test_unused_host_refuses_connections() -> None:
    """Nothing listens on unused_registry_host(), and it stays that way."""
    host = unused_registry_host()
    address, port = host.rsplit(":", 1)
    with pytest.raises(ConnectionRefusedError):
        socket.create_connection((address, int(port)), timeout=5).close()
    assert unused_registry_host() == host


def test_restart_keeps_host_credentials_and_data(
        registry_factory: Callable[[str], RegistryServer], busybox_image: str) -> None:
    """stop() then start() gives the same registry back, with what was pushed before."""
    server = registry_factory("restart")
    first = server.start()
    assert first.catalog() == []
    push_image(first, busybox_image, "kept:v1")
    digest = first.manifest_digest("kept", "v1")
    server.stop()
    server.stop()  # idempotent
    with pytest.raises(RegistryError):  # really down
        first.catalog()
    second = server.start()
    try:
        assert second == first
        assert second.catalog() == ["kept"]
        assert second.manifest_digest("kept", "v1") == digest
    finally:
        server.stop()
    assert second.log_text().count("listening on") == 2


def test_context_manager_stops_the_server(
        registry_factory: Callable[[str], RegistryServer]) -> None:
    """Leaving the ``with`` block stops the process; a port is then refused."""
    with registry_factory("ctx") as running:
        assert running.tags("anything") == []
    address, port = running.host.rsplit(":", 1)
    with pytest.raises(ConnectionRefusedError):
        socket.create_connection((address, int(port)), timeout=5).close()
