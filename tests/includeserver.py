"""A strict fake GitLab (the API calls ``include`` makes) plus a plain HTTPS file host.

Both run on 127.0.0.1 over TLS with a CA made here with ``openssl`` (trusted by
pointing ``SSL_CERT_FILE`` at it), in one aiohttp server on a background thread,
so synchronous code (``compose``, urllib) can talk to it.

Strict: every request that GitLab would refuse or that runner should never send
is recorded in ``violations`` with a sentence, and every test ends with
``assert server.violations == []``:

* an API request without the expected token header, or with a wrong one;
* a token header on a ``/remote/`` file (a token must never reach a remote host);
* an unknown route, a method other than GET, a project id or file path that is
  not URL-encoded (GitLab's router would not match it), a files request without
  ``ref``.

Answers follow GitLab's documented API: ``/projects/:id``, ``/projects/:id/
repository/files/:file_path/raw?ref=``, ``/projects/:id/repository/tree``,
``/projects/:id/releases``, ``/templates/gitlab_ci_ymls/:key``.
"""

from __future__ import annotations

import asyncio
import re
import subprocess
import threading
import urllib.parse
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from aiohttp import web

API = "/api/v4"


@dataclass
class FakeProject:
    """A project: its default branch, files per ref, released tags."""

    default_branch: str = "main"
    files: dict[str, dict[str, str]] = field(default_factory=dict)
    releases: list[str] = field(default_factory=list)


def make_ca(directory: Path) -> tuple[Path, Path, Path]:
    """(CA certificate, server certificate, server key) for 127.0.0.1 and localhost."""
    ca_key, ca = directory / "ca.key", directory / "ca.pem"
    key, csr, cert = directory / "server.key", directory / "server.csr", directory / "server.pem"
    ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"]
    run = [
        ["openssl", "req", "-x509", *ec, "-keyout", str(ca_key), "-out", str(ca), "-days", "2",
         "-subj", "/CN=runner include test CA", "-addext", "basicConstraints=critical,CA:TRUE",
         "-addext", "keyUsage=critical,keyCertSign,cRLSign"],
        ["openssl", "req", "-new", *ec, "-keyout", str(key), "-out", str(csr),
         "-subj", "/CN=127.0.0.1"],
    ]
    for argv in run:
        subprocess.run(argv, check=True, capture_output=True, timeout=60)
    ext = directory / "server.ext"
    ext.write_text("basicConstraints = critical, CA:FALSE\nextendedKeyUsage = serverAuth\n"
                   "subjectAltName = IP:127.0.0.1, DNS:localhost\n")
    subprocess.run(["openssl", "x509", "-req", "-in", str(csr), "-CA", str(ca), "-CAkey",
                    str(ca_key), "-CAcreateserial", "-days", "2", "-extfile", str(ext), "-out",
                    str(cert)], check=True, capture_output=True, timeout=60)
    return ca, cert, key


class IncludeServer:
    """The fake GitLab API and remote file host; use as a context manager."""

    def __init__(self, directory: Path, token: tuple[str, str] | None = None) -> None:
        self.ca, self._cert, self._key = make_ca(directory)
        self.token = token
        """(header, value) every API request must carry; None: none may."""
        self.projects: dict[str, FakeProject] = {}
        self.templates: dict[str, str] = {}
        self.remote: dict[str, bytes] = {}
        self.redirects: dict[str, str] = {}
        """``/remote/`` path -> absolute URL to redirect to."""
        self.violations: list[str] = []
        self.hits: Counter[str] = Counter()
        self.port = 0
        self._loop: asyncio.AbstractEventLoop | None = None
        self._runner: web.AppRunner | None = None
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        return f"https://127.0.0.1:{self.port}"

    # -- lifecycle -----------------------------------------------------------

    def __enter__(self) -> IncludeServer:
        ready = threading.Event()
        self._thread = threading.Thread(target=self._serve, args=(ready,), daemon=True)
        self._thread.start()
        if not ready.wait(30):
            raise RuntimeError("the include test server did not start")
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def stop(self) -> None:
        """Stop answering (a later connection is refused: the network is "down")."""
        loop, self._loop = self._loop, None
        if loop is None:
            return
        runner = self._runner
        if runner is not None:
            asyncio.run_coroutine_threadsafe(runner.cleanup(), loop).result(30)
        loop.call_soon_threadsafe(loop.stop)
        if self._thread is not None:
            self._thread.join(30)

    def _serve(self, ready: threading.Event) -> None:
        import ssl  # noqa: PLC0415

        loop = asyncio.new_event_loop()
        asyncio.set_event_loop(loop)
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        context.load_cert_chain(self._cert, self._key)
        app = web.Application()
        app.router.add_route("*", "/{tail:.*}", self._handle)
        self._runner = web.AppRunner(app, access_log=None)
        loop.run_until_complete(self._runner.setup())
        site = web.TCPSite(self._runner, "127.0.0.1", self.port, ssl_context=context)
        loop.run_until_complete(site.start())
        server = site._server  # the bound port
        assert server is not None
        sockets = getattr(server, "sockets", None) or []
        self.port = sockets[0].getsockname()[1]
        self._loop = loop
        ready.set()
        loop.run_forever()
        loop.close()

    # -- requests ------------------------------------------------------------

    def violation(self, text: str) -> None:
        self.violations.append(text)

    async def _handle(self, request: web.Request) -> web.StreamResponse:
        raw = request.raw_path.split("?", 1)[0]
        self.hits[raw] += 1
        if request.method != "GET":
            self.violation(f"{request.method} {raw}: include fetching only ever GETs")
            return web.Response(status=405)
        if raw.startswith("/remote/"):
            return self._remote(request, raw)
        if not raw.startswith(API + "/"):
            self.violation(f"GET {raw}: unknown route")
            return web.Response(status=404)
        if not self._token_ok(request, raw):
            return web.json_response({"message": "401 Unauthorized"}, status=401)
        return self._api(request, raw[len(API) + 1:])

    def _remote(self, request: web.Request, raw: str) -> web.StreamResponse:
        for header in ("PRIVATE-TOKEN", "JOB-TOKEN", "Authorization"):
            if header in request.headers:
                self.violation(f"GET {raw}: a remote include carried a {header} header")
        path = raw[len("/remote/"):]
        if path in self.redirects:
            raise web.HTTPFound(self.redirects[path])
        if path not in self.remote:
            return web.Response(status=404)
        return web.Response(body=self.remote[path], content_type="text/plain")

    def _token_ok(self, request: web.Request, raw: str) -> bool:
        headers = request.headers
        sent = {h: headers[h] for h in ("PRIVATE-TOKEN", "JOB-TOKEN") if h in headers}
        if self.token is None:
            if sent:
                self.violation(f"GET {raw}: a token was sent where none was configured")
            return True
        header, value = self.token
        if sent.get(header) != value or len(sent) != 1:
            self.violation(f"GET {raw}: expected exactly the {header} header with the token")
            return False
        return True

    def _api(self, request: web.Request, path: str) -> web.StreamResponse:
        query = request.rel_url.query
        if m := re.fullmatch(r"templates/gitlab_ci_ymls/([^/]+)", path):
            key = urllib.parse.unquote(m[1])
            if key not in self.templates:
                return web.json_response({"message": "404 Template Not Found"}, status=404)
            return web.json_response({"name": key, "content": self.templates[key]})
        m = re.fullmatch(r"projects/([^/]+)(/.*)?", path)
        if m is None:
            self.violation(f"GET {API}/{path}: unknown route")
            return web.Response(status=404)
        project = self.projects.get(urllib.parse.unquote(m[1]))
        rest = m[2] or ""
        if project is None:
            return web.json_response({"message": "404 Project Not Found"}, status=404)
        if rest == "":
            return web.json_response({"default_branch": project.default_branch})
        if rest == "/releases":
            return web.json_response([{"tag_name": tag} for tag in project.releases])
        if rest == "/repository/tree":
            return self._tree(project, query)
        if f := re.fullmatch(r"/repository/files/([^/]+)/raw", rest):
            if "ref" not in query:
                self.violation(f"GET {API}/{path}: no ref")
                return web.Response(status=400)
            files = project.files.get(query["ref"], {})
            name = urllib.parse.unquote(f[1])
            if name not in files:
                return web.json_response({"message": "404 File Not Found"}, status=404)
            return web.Response(text=files[name], content_type="text/plain")
        self.violation(f"GET {API}/{path}: unknown route (a path not URL-encoded?)")
        return web.Response(status=404)

    def _tree(self, project: FakeProject, query: Mapping[str, str]) -> web.StreamResponse:
        if query.get("recursive") != "true" or "ref" not in query:
            self.violation("tree without recursive=true and a ref")
        per_page, page = int(query.get("per_page", "20")), int(query.get("page", "1"))
        paths = sorted(project.files.get(query.get("ref", ""), {}))
        chunk = paths[(page - 1) * per_page: page * per_page]
        return web.json_response([{"path": p, "type": "blob"} for p in chunk])
