"""The one place that fetches anything over the network for ``include``: stdlib urllib.

Every remote include, GitLab API call (project files, templates, releases,
trees) and component goes through ``Fetcher.get``, so the rules live here once:

* TLS is verified with the default context (``SSL_CERT_FILE`` is honoured, which
  is how tests trust their own CA); plain ``http://`` is allowed, as GitLab
  allows it for ``include: remote``.
* Limits are GitLab's: each request gets a 10-second connect/read timeout
  (``Gitlab::HTTP``'s open timeout) and the whole include expansion a
  30-second deadline (``External::Processor``'s); a body may not exceed
  ``MAX_YAML_BYTES``.
* A token travels only in a header added with ``add_unredirected_header``:
  urllib copies ordinary headers onto a redirect, even to another host, but
  never unredirected ones, so a redirect can never carry it anywhere. It is
  never part of a URL, a message or an exception (``Token`` hides itself).
* Failures say whether a cached copy may stand in (``FetchError.transient``:
  no network, a timeout, a 5xx) or not (a 404 or 401 is an answer, not an
  outage; GitLab would fail the pipeline, and so do we).

urllib rather than aiohttp: composing a pipeline is synchronous and happens
before any event loop exists, and aiohttp is kept to coordinator/ and agent/.
"""

from __future__ import annotations

import http.client
import socket
import ssl
import time
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass, field

from runner.pipeline.yamllimits import MAX_YAML_BYTES

REQUEST_TIMEOUT_S = 10.0
"""Per connect and per read, as ``Gitlab::HTTP``'s open timeout."""
DEADLINE_S = 30.0
"""All fetching of one pipeline's includes (GitLab's include processing timeout)."""
MAX_BODY_BYTES = MAX_YAML_BYTES
"""Largest body read; a YAML file larger than this is refused when read locally too."""


@dataclass(frozen=True)
class Token:
    """A GitLab token and the header it goes in; its value never shows in repr or str."""

    header: str
    """``PRIVATE-TOKEN`` (a personal, project or group access token) or ``JOB-TOKEN``."""
    value: str = field(repr=False)

    def __str__(self) -> str:
        return f"<{self.header} token>"


class FetchError(Exception):
    """A fetch that failed; ``message`` names the URL (never a token) and the reason."""

    def __init__(self, message: str, *, transient: bool, status: int = 0) -> None:
        super().__init__(message)
        self.message = message
        self.transient = transient
        """True when a cached copy may stand in: no answer at all, or a 5xx."""
        self.status = status


class _NoCrossHostRedirect(urllib.request.HTTPRedirectHandler):
    """Follows redirects (at most 5) only to the same scheme family and host."""

    max_redirections = 5

    def redirect_request(  # noqa: PLR0917 - urllib's signature
        self,
        req: urllib.request.Request,
        fp: object,
        code: int,
        msg: str,
        headers: object,
        newurl: str,
    ) -> urllib.request.Request | None:
        old, new = urllib.parse.urlsplit(req.full_url), urllib.parse.urlsplit(newurl)
        if old.hostname != new.hostname or (old.scheme == "https" and new.scheme != "https"):
            close = getattr(fp, "close", None)
            if close is not None:
                close()
            raise FetchError(
                f"{_shown(req.full_url)} redirects to another host ({_shown(newurl)}); runner"
                " follows redirects only on the same host",
                transient=False,
                status=code,
            )
        return super().redirect_request(req, fp, code, msg, headers, newurl)  # type: ignore[arg-type]


class Fetcher:
    """GET requests under one deadline; builds an opener once per pipeline."""

    def __init__(self, deadline_s: float = DEADLINE_S) -> None:
        self._deadline_s = deadline_s
        self._deadline = 0.0
        self._opener: urllib.request.OpenerDirector | None = None

    def _open(self) -> urllib.request.OpenerDirector:
        """The opener, made at the first request: most pipelines fetch nothing, and loading
        the CA store costs milliseconds. The deadline starts then too."""
        if self._opener is None:
            self._deadline = time.monotonic() + self._deadline_s
            context = ssl.create_default_context()
            self._opener = urllib.request.build_opener(
                urllib.request.HTTPSHandler(context=context), _NoCrossHostRedirect()
            )
        return self._opener

    def get(self, url: str, token: Token | None = None) -> bytes:
        """The body of ``url`` (at most ``MAX_BODY_BYTES``); FetchError on any failure."""
        scheme = urllib.parse.urlsplit(url).scheme
        if scheme not in ("http", "https"):
            raise FetchError(f"{_shown(url)} is not an http(s) address", transient=False)
        opener = self._open()
        left = self._deadline - time.monotonic()
        if left <= 0:
            raise FetchError(
                f"fetching {_shown(url)}: includes took more than {DEADLINE_S:.0f}s to fetch,"
                " GitLab's limit",
                transient=True,
            )
        request = urllib.request.Request(  # noqa: S310 - the scheme is checked above
            url, headers={"User-Agent": "runner-include"}
        )
        if token is not None:
            request.add_unredirected_header(token.header, token.value)
        try:
            with opener.open(request, timeout=min(REQUEST_TIMEOUT_S, left)) as response:
                body: bytes = response.read(MAX_BODY_BYTES + 1)
        except urllib.error.HTTPError as exc:
            exc.close()
            raise FetchError(
                f"{_shown(url)} answered HTTP {exc.code}{_reason(exc.code)}",
                transient=exc.code >= 500 or exc.code == 429,
                status=exc.code,
            ) from None
        except FetchError:
            raise
        except urllib.error.URLError as exc:
            message = f"cannot reach {_shown(url)}: {_why(exc.reason)}"
            raise FetchError(message, transient=True) from None
        except (OSError, http.client.HTTPException) as exc:
            raise FetchError(f"cannot reach {_shown(url)}: {_why(exc)}", transient=True) from None
        if len(body) > MAX_BODY_BYTES:
            raise FetchError(
                f"{_shown(url)} is larger than {MAX_BODY_BYTES >> 20} MiB; runner reads no"
                " bigger include",
                transient=False,
            )
        return body


def _shown(url: str) -> str:
    """``url`` without user info or query, for messages (a URL may carry credentials)."""
    parts = urllib.parse.urlsplit(url)
    host = parts.hostname or ""
    if parts.port is not None:
        host += f":{parts.port}"
    return urllib.parse.urlunsplit((parts.scheme, host, parts.path, "", ""))


def _reason(code: int) -> str:
    if code in (401, 403):
        return " (not authorised: check --gitlab-token and that the token can read it)"
    if code == 404:
        return " (not found, or the token cannot see it)"
    return ""


def _why(reason: object) -> str:
    if isinstance(reason, ssl.SSLCertVerificationError):
        return f"TLS certificate not trusted ({reason.verify_message}); set SSL_CERT_FILE"
    if isinstance(reason, (TimeoutError, socket.timeout)):
        return f"no answer within {REQUEST_TIMEOUT_S:.0f}s"
    if isinstance(reason, OSError) and reason.strerror:
        return reason.strerror
    return str(reason) or "the connection failed"
