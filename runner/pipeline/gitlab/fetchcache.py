"""What ``include`` fetched, kept per project so the next run works offline.

GitLab fetches every include afresh for each pipeline, and so does runner:
the cache is never read while the network answers. It stands in only when a
fetch fails for want of an answer (no network, a timeout, a 5xx), with a
one-line notice naming the URL and the age of the copy; a real answer such
as 404 or 401 is never papered over. Every successful fetch refreshes the
copy, so "when is it refreshed" has one answer: on every run that can reach
the server.

Where: ``$XDG_CACHE_HOME/runner/includes/<project key>/`` (the key is the one
the job caches use, a hash of the project's path). Not the project's
``.runner/``: fetched files may come from private projects the token can
read, and a project directory is copied, archived and shared far more than the
user's own cache; keying by project keeps one project's copies from ever
answering another's includes. Entries are named by a hash of the URL, which
never holds a token (tokens travel in headers), and written 0600 in a 0700
directory.
"""

from __future__ import annotations

import contextlib
import datetime
import hashlib
import os
import tempfile
from collections.abc import Callable, Mapping
from pathlib import Path

from runner.execute.layout import tenant_key
from runner.pipeline.gitlab.fetching import Fetcher, FetchError, Token


def cache_dir(root: Path, environ: Mapping[str, str], home: Path) -> Path:
    """The include cache of the project at ``root``."""
    base = Path(environ.get("XDG_CACHE_HOME") or home / ".cache")
    return base / "runner" / "includes" / tenant_key(root)


class CachedFetcher:
    """``Fetcher.get`` with the per-project copy as a fallback; notices go to ``notice``."""

    def __init__(
        self, fetcher: Fetcher, directory: Path | None, notice: Callable[[str], None]
    ) -> None:
        self.fetcher = fetcher
        self.directory = directory
        self.notice = notice
        self._seen: dict[str, bytes] = {}

    def get(self, url: str, token: Token | None = None) -> bytes:
        """The body of ``url``: fetched (once per run), else the cached copy, else FetchError."""
        if url in self._seen:
            return self._seen[url]
        try:
            body = self.fetcher.get(url, token)
        except FetchError as exc:
            cached = self._read(url) if exc.transient else None
            if cached is None:
                raise
            body, when = cached
            self.notice(f"{exc.message}; using the copy fetched {when}")
        else:
            self._write(url, body)
        self._seen[url] = body
        return body

    def _path(self, url: str) -> Path | None:
        if self.directory is None:
            return None
        return self.directory / (hashlib.sha256(url.encode()).hexdigest()[:40] + ".body")

    def _read(self, url: str) -> tuple[bytes, str] | None:
        path = self._path(url)
        if path is None:
            return None
        try:
            body = path.read_bytes()
            stamp = path.stat().st_mtime
        except OSError:
            return None
        when = datetime.datetime.fromtimestamp(stamp).astimezone().strftime("%Y-%m-%d %H:%M")
        return body, f"on {when}"

    def _write(self, url: str, body: bytes) -> None:
        """Best effort: a cache that cannot be written costs only the offline fallback."""
        path = self._path(url)
        if path is None:
            return
        with contextlib.suppress(OSError):
            path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
            fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".tmp-")
            try:
                with os.fdopen(fd, "wb") as out:
                    out.write(body)
                Path(tmp).replace(path)
            except OSError:
                with contextlib.suppress(OSError):
                    Path(tmp).unlink()
                raise
