"""Per-job TLS certificates, laid out as the ``docker:dind`` image lays them out.

``DOCKER_TLS_CERTDIR`` gets ``client/{ca,cert,key}.pem`` (what the docker CLI
reads with ``DOCKER_TLS_VERIFY=1`` and ``DOCKER_CERT_PATH=$DOCKER_TLS_CERTDIR/client``);
the CA's key and the server's stay in the job's private scratch dir on the
host, and every job gets a fresh CA, so a client certificate of one job is
worth nothing at another job's endpoint. Made with the ``openssl`` command
(no new Python dependency); EC keys, so it takes milliseconds.
"""

from __future__ import annotations

import asyncio
import ssl
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from runner.errors import EngineError

DAYS = "7"
KEY = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"]


@dataclass(frozen=True)
class CertSet:
    """Where one job's certificates are: ``client`` is what the job container gets."""

    top: Path

    @property
    def client(self) -> Path:
        """``ca.pem``, ``cert.pem``, ``key.pem`` for the docker CLI."""
        return self.top / "client"

    @property
    def server(self) -> Path:
        """The CA and the endpoint's own key and certificate (never mounted)."""
        return self.top / "server"

    def server_context(self) -> ssl.SSLContext:
        """TLS as ``dockerd --tlsverify``: a client certificate of this job's CA is required."""
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.minimum_version = ssl.TLSVersion.TLSv1_2
        context.load_cert_chain(self.server / "cert.pem", self.server / "key.pem")
        context.load_verify_locations(self.server / "ca.pem")
        context.verify_mode = ssl.CERT_REQUIRED
        return context


async def _openssl(*args: str, cwd: Path) -> None:
    proc = await asyncio.create_subprocess_exec(
        "openssl", *args, cwd=cwd, stdin=asyncio.subprocess.DEVNULL,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT)
    out, _ = await proc.communicate()
    if proc.returncode:
        raise EngineError(f"openssl {args[0]} failed: {out.decode(errors='replace')[-300:]}")


async def make_certs(top: Path, names: Sequence[str]) -> CertSet:
    """A CA, a server certificate for ``names`` (and localhost), a client certificate."""
    certs = CertSet(top)
    for path in (top, certs.server, certs.client):
        path.mkdir(mode=0o700 if path != certs.client else 0o755)
    server = certs.server
    sans = ",".join([*(f"DNS:{name}" for name in dict.fromkeys([*names, "localhost"])),
                     "IP:127.0.0.1"])
    (server / "server.ext").write_text(f"subjectAltName={sans}\nextendedKeyUsage=serverAuth\n")
    (server / "client.ext").write_text("extendedKeyUsage=clientAuth\n")
    await _openssl("req", "-x509", *KEY, "-keyout", "ca-key.pem", "-out", "ca.pem",
                   "-days", DAYS, "-subj", "/CN=runner job docker CA", cwd=server)
    for who in ("server", "client"):
        await _openssl("req", *KEY, "-keyout", f"{who}-key.pem", "-out", f"{who}.csr",
                       "-subj", f"/CN={'docker' if who == 'server' else 'client'}", cwd=server)
        await _openssl("x509", "-req", "-in", f"{who}.csr", "-CA", "ca.pem", "-CAkey",
                       "ca-key.pem", "-CAcreateserial", "-days", DAYS, "-out",
                       f"{who}-cert.pem", "-extfile", f"{who}.ext", cwd=server)
    (server / "server-key.pem").replace(server / "key.pem")
    (server / "server-cert.pem").replace(server / "cert.pem")
    for name, source in (("ca.pem", "ca.pem"), ("cert.pem", "client-cert.pem"),
                         ("key.pem", "client-key.pem")):
        data = (server / source).read_bytes()
        path = certs.client / name
        path.write_bytes(data)
        path.chmod(0o644)  # as docker:dind leaves it: the job's user must read it
    (server / "client-key.pem").unlink()
    return certs
