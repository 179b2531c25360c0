"""A real, local container registry for tests: Debian's ``docker-registry`` with TLS and auth.

Pushing and pulling through a registry that behaves like production ones
(HTTPS with a certificate the client must be told to trust, htpasswd basic
auth that rejects anonymous access) is the only way to test credential and
trust handling for real, and no internet registry is reachable here. Each
server gets its own CA, password and port, so tests cannot lean on one
another's state or on the host's trust store.

Secrets never appear on a command line (``ps`` shows argv to every user):
htpasswd reads the password on stdin, skopeo reads it from an auth file.
"""

from __future__ import annotations

import atexit
import base64
import json
import os
import secrets
import shutil
import socket
import ssl
import subprocess
import time
import urllib.error
import urllib.request
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType

REGISTRY_BINARY = Path("/usr/bin/docker-registry")
INSTALL_HINT = ("run deploy/setup-host.sh as root "
                "(apt-get install docker-registry apache2-utils skopeo openssl)")
START_TIMEOUT = 10.0
STOP_TIMEOUT = 10.0
SKOPEO_TIMEOUT = 300.0
TOOL_TIMEOUT = 60.0
USERNAME = "runner-test"
# What a HEAD on a manifest accepts: without a type in Accept, distribution
# answers 404 for an OCI manifest and converts docker v2 ones to schema 1.
MANIFEST_TYPES = (
    "application/vnd.oci.image.manifest.v1+json",
    "application/vnd.oci.image.index.v1+json",
    "application/vnd.docker.distribution.manifest.v2+json",
    "application/vnd.docker.distribution.manifest.list.v2+json",
)
SERVER_SANS = "IP:127.0.0.1,IP:10.0.2.2,DNS:localhost"  # 10.0.2.2: the host from slirp4netns
CERT_DAYS = 2
LOG_NAME = "registry.log"
CATALOG_PAGE = 1000  # the most distribution 2.8 allows per page
LOG_TAIL_LINES = 30


class RegistryError(RuntimeError):
    """The registry could not be started, or answered an HTTP request unexpectedly."""

    def __init__(self, message: str, status: int | None = None) -> None:
        super().__init__(message)
        self.status = status


def registry_unavailable() -> str | None:
    """Why a registry cannot be run here (with the install hint), or None when it can."""
    missing = [] if REGISTRY_BINARY.is_file() else [str(REGISTRY_BINARY)]
    missing += [tool for tool in ("openssl", "htpasswd", "skopeo") if shutil.which(tool) is None]
    if missing:
        return f"missing {', '.join(missing)}: {INSTALL_HINT}"
    return None


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now (the kernel's choice).

    Someone may take it before the caller binds it; RegistryServer retries on that.
    """
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


_held_sockets: list[socket.socket] = []


def unused_registry_host() -> str:
    """``127.0.0.1:PORT`` that refuses connections for the rest of this process.

    The port stays bound (without SO_REUSEADDR, never listening), so connections
    are refused and neither the kernel nor another registry can hand it out
    meanwhile: a port merely found free could be reused by a later free_port().
    """
    if not _held_sockets:
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.bind(("127.0.0.1", 0))
        _held_sockets.append(sock)
        atexit.register(sock.close)  # a socket left to the GC warns (ResourceWarning)
    port: int = _held_sockets[0].getsockname()[1]
    return f"127.0.0.1:{port}"


@dataclass(frozen=True)
class Registry:
    """A running registry and everything a client needs to reach it."""

    host: str
    username: str
    password: str = field(repr=False)  # kept out of assertion messages and logs
    ca_file: Path
    cert_dir: Path
    authfile: Path
    root: Path

    def catalog(self) -> list[str]:
        """The repositories the registry holds, sorted (following its pagination)."""
        repos: list[str] = []
        path: str | None = f"/v2/_catalog?n={CATALOG_PAGE}"
        while path is not None:
            _, headers, body = self._request("GET", path, {})
            page: dict[str, list[str] | None] = json.loads(body)
            repos += page.get("repositories") or []
            path = _next_page(headers.get("link", ""))
        return sorted(repos)

    def tags(self, repo: str) -> list[str]:
        """The tags of ``repo``, sorted; [] for a repository the registry does not know."""
        try:
            doc = self._get_json(f"/v2/{repo}/tags/list")
        except RegistryError as err:
            if err.status == 404:
                return []
            raise
        return sorted(doc.get("tags") or [])

    def manifest_digest(self, repo: str, ref: str) -> str | None:
        """The digest of ``repo``'s manifest for tag or digest ``ref``; None if there is none."""
        headers = {"Accept": ", ".join(MANIFEST_TYPES)}
        try:
            status, got, _ = self._request("HEAD", f"/v2/{repo}/manifests/{ref}", headers)
        except RegistryError as err:
            if err.status == 404:
                return None
            raise
        digest: str | None = got.get("docker-content-digest")
        if not digest:
            raise RegistryError(f"HEAD {repo}:{ref} answered {status} without a digest", status)
        return digest

    def log_text(self) -> str:
        """The registry's own output (all its runs), for failure messages."""
        try:
            return (self.root / LOG_NAME).read_text(errors="replace")
        except FileNotFoundError:
            return ""

    def _get_json(self, path: str) -> dict[str, list[str] | None]:
        _, _, body = self._request("GET", path, {})
        doc: dict[str, list[str] | None] = json.loads(body)
        return doc

    def _request(self, method: str, path: str,
                 headers: dict[str, str]) -> tuple[int, dict[str, str], bytes]:
        """Status, headers and body of an authenticated request; RegistryError unless 2xx.

        Failures to connect raise RegistryError too (with ``status`` None), so
        callers need to catch only one exception type.
        """
        token = base64.b64encode(f"{self.username}:{self.password}".encode()).decode()
        headers = {**headers, "Authorization": f"Basic {token}"}
        try:
            status, got, body = https_request(self.ca_file, method,
                                               f"https://{self.host}{path}", headers)
        except OSError as err:  # URLError is one: refused, reset, TLS failure, timeout
            raise RegistryError(f"{method} {path} on {self.host}: {err}") from err
        if not 200 <= status < 300:
            text = body.decode(errors="replace").strip()
            raise RegistryError(f"{method} {path} on {self.host}: HTTP {status} {text}", status)
        return status, got, body


def _next_page(link: str) -> str | None:
    """The path in a ``Link: </v2/...>; rel="next"`` header, if any."""
    if 'rel="next"' not in link or "<" not in link:
        return None
    return link[link.index("<") + 1:link.index(">")]


def _lower(items: Iterable[tuple[str, str]]) -> dict[str, str]:
    return {name.lower(): value for name, value in items}


def https_request(ca_file: Path, method: str, url: str, headers: dict[str, str] | None = None,
                  timeout: float = 10.0) -> tuple[int, dict[str, str], bytes]:
    """One HTTPS request trusting only ``ca_file``: status, headers (names in lower case)
    and body, whatever the status.

    Proxies from the environment are ignored: the registry is on loopback, and
    urllib (unlike Go) would send even 127.0.0.1 through an https_proxy.
    """
    context = ssl.create_default_context(cafile=str(ca_file))
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}),
                                         urllib.request.HTTPSHandler(context=context))
    request = urllib.request.Request(url, method=method, headers=headers or {})
    try:
        with opener.open(request, timeout=timeout) as response:
            return response.status, _lower(response.headers.items()), response.read()
    except urllib.error.HTTPError as err:
        with err:  # an unclosed error response leaks its socket
            return err.code, _lower(err.headers.items()), err.read()


@dataclass
class _Files:
    """Where a server keeps its state under its root."""

    root: Path
    ca_key: Path = field(init=False)
    ca_file: Path = field(init=False)
    server_key: Path = field(init=False)
    server_cert: Path = field(init=False)
    cert_dir: Path = field(init=False)
    htpasswd: Path = field(init=False)
    authfile: Path = field(init=False)
    config: Path = field(init=False)
    data: Path = field(init=False)
    log: Path = field(init=False)

    def __post_init__(self) -> None:
        tls = self.root / "tls"
        self.ca_key, self.ca_file = tls / "ca.key", tls / "ca.crt"
        self.server_key, self.server_cert = tls / "server.key", tls / "server.crt"
        self.cert_dir = self.root / "certs.d"
        self.htpasswd = self.root / "htpasswd"
        self.authfile = self.root / "auth.json"
        self.config = self.root / "config.yml"
        self.data = self.root / "data"
        self.log = self.root / LOG_NAME


class RegistryServer:
    """One registry process under ``root``; start() and stop() may alternate, data persists.

    Port, password, certificates and storage are fixed at the first start, so a
    restarted server is the same registry to its clients.
    """

    def __init__(self, root: Path, port: int | None = None) -> None:
        self.root = root
        self._files = _Files(root)
        self._port = port
        self._port_chosen = port is not None
        self._password = secrets.token_urlsafe(24)
        self._secret = secrets.token_hex(32)
        self._process: subprocess.Popen[bytes] | None = None
        self._registry: Registry | None = None

    def start(self) -> Registry:
        """Start the registry (again) and wait until it answers 401 on /v2/ over TLS."""
        if self._process is not None:
            raise RegistryError(f"registry under {self.root} is already running")
        if self._registry is None:
            self._prepare()
        for _ in range(5):  # a port found free may be taken before the registry binds it
            port = self._port if self._port is not None else free_port()
            registry = self._registry_on(port)
            try:
                self._launch(registry)
            except _PortTaken:
                if self._port_chosen:
                    raise RegistryError(f"port {port} is taken:\n{self._log_tail()}") from None
                continue
            self._port, self._port_chosen, self._registry = port, True, registry
            return registry
        raise RegistryError(f"no free port found for the registry:\n{self._log_tail()}")

    def stop(self) -> None:
        """Terminate the registry and reap it; does nothing when it is not running."""
        process, self._process = self._process, None
        if process is None:
            return
        if process.poll() is None:
            process.terminate()
            try:
                process.wait(timeout=STOP_TIMEOUT)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(timeout=STOP_TIMEOUT)

    def __enter__(self) -> Registry:
        return self.start()

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None,
                 trace: TracebackType | None) -> None:
        self.stop()

    def _registry_on(self, port: int) -> Registry:
        host = f"127.0.0.1:{port}"
        files = self._files
        _write_private(files.authfile, json.dumps({"auths": {host: {"auth": base64.b64encode(
            f"{USERNAME}:{self._password}".encode()).decode()}}}, indent=2) + "\n")
        return Registry(host=host, username=USERNAME, password=self._password,
                        ca_file=files.ca_file, cert_dir=files.cert_dir,
                        authfile=files.authfile, root=self.root)

    def _prepare(self) -> None:
        """Certificates and the htpasswd file, made once per server."""
        files = self._files
        # The CA is public: readable by everyone, so cert_dir also works when bind-mounted
        # into a container whose uid is not ours. Keys, passwords and data stay private.
        for directory, mode in ((self.root, 0o755), (files.ca_file.parent, 0o755),
                                (files.cert_dir, 0o755), (files.data, 0o700)):
            directory.mkdir(parents=True, exist_ok=True)
            directory.chmod(mode)
        _make_certificates(files)
        shutil.copyfile(files.ca_file, files.cert_dir / "ca.crt")
        for public in (files.ca_file, files.cert_dir / "ca.crt"):
            public.chmod(0o644)
        hashed = _run(["htpasswd", "-niB", USERNAME], stdin=self._password)
        _write_private(files.htpasswd, hashed.strip() + "\n")

    def _write_config(self, registry: Registry) -> None:
        files = self._files
        config = {
            "version": "0.1",
            "log": {"level": "info", "formatter": "text", "accesslog": {"disabled": False}},
            "storage": {
                "filesystem": {"rootdirectory": str(files.data)},
                "delete": {"enabled": True},
                "cache": {"blobdescriptor": "inmemory"},
                "maintenance": {"uploadpurging": {"enabled": False}},
            },
            "http": {
                "addr": registry.host,
                "secret": self._secret,
                "tls": {"certificate": str(files.server_cert), "key": str(files.server_key)},
            },
            "auth": {"htpasswd": {"realm": "runner-test", "path": str(files.htpasswd)}},
            "health": {"storagedriver": {"enabled": False}},
        }
        # JSON is valid YAML, and quotes every path and secret correctly.
        _write_private(files.config, json.dumps(config, indent=2) + "\n")

    def _launch(self, registry: Registry) -> None:
        """Run the registry on ``registry.host``; raises _PortTaken if that port is in use."""
        self._write_config(registry)
        files = self._files
        offset = files.log.stat().st_size if files.log.exists() else 0
        # REGISTRY_* variables would override the config file; the package's
        # own /etc/docker/registry/config.yml is not read since we name ours.
        env = {key: value for key, value in os.environ.items()
               if not key.startswith("REGISTRY_")}
        with files.log.open("ab") as log:
            self._process = subprocess.Popen(
                [str(REGISTRY_BINARY), "serve", str(files.config)], cwd=self.root, env=env,
                stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + START_TIMEOUT
        while True:
            code = self._process.poll()
            if code is not None:
                self._process = None
                if "address already in use" in _read_from(files.log, offset):
                    raise _PortTaken
                raise RegistryError(f"registry exited with {code} on start:\n{self._log_tail()}")
            if self._answers_401(registry):
                return
            if time.monotonic() > deadline:
                self.stop()
                raise RegistryError(f"registry on {registry.host} did not answer within "
                                    f"{START_TIMEOUT:.0f} s:\n{self._log_tail()}")
            time.sleep(0.05)

    def _answers_401(self, registry: Registry) -> bool:
        try:
            status, _, _ = https_request(registry.ca_file, "GET", f"https://{registry.host}/v2/",
                                         timeout=1.0)
        except (OSError, urllib.error.URLError):
            return False
        return status == 401

    def _log_tail(self) -> str:
        lines = _read_from(self._files.log, 0).splitlines()[-LOG_TAIL_LINES:]
        return "\n".join(lines) or "(registry log is empty)"


class _PortTaken(Exception):
    """The registry could not bind its port."""


def push_image(registry: Registry, image: str, repo: str) -> str:
    """Copy local podman-storage ``image`` to ``repo`` (``name[:tag]``); returns the reference.

    Credentials and trust come from files, never from argv.
    """
    reference = f"{registry.host}/{repo}"
    try:
        _run(["skopeo", "copy", "--quiet", "--dest-authfile", str(registry.authfile),
              "--dest-cert-dir", str(registry.cert_dir), f"containers-storage:{image}",
              f"docker://{reference}"], timeout=SKOPEO_TIMEOUT)
    except RegistryError as err:
        tail = "\n".join(registry.log_text().splitlines()[-LOG_TAIL_LINES:])
        raise RegistryError(f"pushing {image} to {reference}: {err}\nregistry log:\n{tail}",
                            err.status) from None
    return reference


def _make_certificates(files: _Files) -> None:
    """A CA and a server certificate it signed, valid for loopback as seen from host and slirp."""
    tls = files.ca_file.parent
    ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"]
    _run(["openssl", "req", "-x509", *ec, "-keyout", str(files.ca_key), "-out", str(files.ca_file),
          "-days", str(CERT_DAYS), "-subj", "/CN=runner test registry CA",
          "-addext", "basicConstraints=critical,CA:TRUE",
          "-addext", "keyUsage=critical,keyCertSign,cRLSign"])
    csr = tls / "server.csr"
    _run(["openssl", "req", "-new", *ec, "-keyout", str(files.server_key), "-out", str(csr),
          "-subj", "/CN=localhost"])
    extensions = tls / "server.ext"
    extensions.write_text(
        "basicConstraints = critical, CA:FALSE\n"
        "keyUsage = critical, digitalSignature, keyEncipherment\n"
        "extendedKeyUsage = serverAuth\n"
        "subjectKeyIdentifier = hash\n"
        "authorityKeyIdentifier = keyid, issuer\n"
        f"subjectAltName = {SERVER_SANS}\n")
    _run(["openssl", "x509", "-req", "-in", str(csr), "-CA", str(files.ca_file),
          "-CAkey", str(files.ca_key), "-set_serial", str(secrets.randbits(63) + 1),
          "-days", str(CERT_DAYS), "-extfile", str(extensions), "-out", str(files.server_cert)])
    for key in (files.ca_key, files.server_key):
        key.chmod(0o600)


def _run(argv: list[str], stdin: str | None = None, timeout: float = TOOL_TIMEOUT) -> str:
    """Run a tool and return its stdout; RegistryError with its stderr when it fails."""
    try:
        done = subprocess.run(argv, input=stdin, capture_output=True, text=True,
                              timeout=timeout, check=False,
                              stdin=None if stdin is not None else subprocess.DEVNULL)
    except subprocess.TimeoutExpired:
        raise RegistryError(f"{argv[0]} {argv[1]} timed out after {timeout:.0f} s") from None
    if done.returncode != 0:
        raise RegistryError(f"{' '.join(argv[:2])} failed ({done.returncode}):\n"
                            f"{done.stderr.strip()}")
    return done.stdout


def _write_private(path: Path, text: str) -> None:
    """Write a file only its owner can read (credentials, keys), whatever the umask."""
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    os.fchmod(descriptor, 0o600)
    with os.fdopen(descriptor, "w") as handle:
        handle.write(text)


def _read_from(path: Path, offset: int) -> str:
    try:
        with path.open("rb") as handle:
            handle.seek(offset)
            return handle.read().decode(errors="replace")
    except FileNotFoundError:
        return ""
