"""The job's trace exactly as GitLab will store it: masked, capped, on disk, checksummed.

Every byte passes the maskers *before* it is stored, so a secret never reaches
the disk, let alone the network. The masking chain is gitlab-runner's (its
``common/buildlogger``): phrase masker, then URL-parameter sanitizer, then
token-prefix sanitizer. Output arrives in arbitrary chunks, so each stage
holds back the short tail that could still become a match and decides it with
the next write or at ``flush``.

The file is the single source for what is sent: the sender reads ranges from
it for ``PATCH /trace``, and the final ``PUT`` carries ``size`` and
``checksum``, which GitLab compares with what it received. Both are kept as
bytes are stored, so they describe the file exactly without rereading it.
"""

from __future__ import annotations

import errno
import os
import re
import stat
import threading
import zlib
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from types import TracebackType

from runner.logs.mask import MASK, Masker

DEFAULT_LIMIT = 4 << 20
"""gitlab-runner's default ``output_limit`` (4096 KiB)."""

DEFAULT_TOKEN_PREFIXES: tuple[str, ...] = (
    "glpat-", "gloas-", "gldt-", "glrt-", "glcbt-", "glrtr-", "glptt-", "glft-",
    "glimt-", "glagent-", "glsoat-", "glffct-", "_gitlab_session=", "gltok-",
)
"""``glpat-`` plus the prefixes gitlab-runner masks with ``FF_MASK_ALL_DEFAULT_TOKENS``.

Always masked here: hiding a token never hurts, so there is no switch to turn them off.
"""

URL_PARAM_KEYS: tuple[str, ...] = (
    "private_token", "authenticity_token", "rss_token",
    "x-amz-signature", "x-amz-credential", "x-amz-security-token",
)
"""Query parameters whose values are credentials (gitlab-runner's ``urlsanitizer``)."""

TOKEN_BODY = rb"[0-9A-Za-z._=-]"
"""Characters of a token after its prefix (gitlab-runner's ``tokensanitizer`` alphabet)."""

URL_VALUE = rb"[^?&\s\x00-\x1f\x7f]"
"""A URL parameter value runs until ``?``, ``&``, white space or a control character."""


def limit_notice(limit: int) -> bytes:
    """The line appended once, when output starts being dropped."""
    return (
        f"\nJob's log exceeded limit of {limit} bytes.\n"
        "Job execution will continue but no more output will be collected.\n"
    ).encode()


class _PrefixSanitizer:
    """Replaces what follows a trigger string with ``[MASKED]``, across write boundaries.

    Once a trigger (and, with ``need_body``, its first body byte) is seen, the
    trigger and the mask are emitted right away and the rest of the body is
    swallowed, in this write and in later ones, until a byte outside ``body``
    arrives. The output is the same as masking the whole body at its end, but
    nothing has to be held while a long token streams by: the held tail is
    never longer than the longest trigger.
    """

    def __init__(
        self, triggers: Iterable[bytes], body: bytes, *, need_body: bool, ignore_case: bool,
    ) -> None:
        unique = sorted(set(triggers), key=len, reverse=True)
        flags = re.IGNORECASE if ignore_case else 0
        alternation = b"|".join(re.escape(trigger) for trigger in unique)
        self._regex = re.compile(b"(" + alternation + b")" + (body if need_body else b""), flags)
        self._skip = re.compile(body + b"*")
        self._ignore_case = ignore_case
        self._triggers = [t.lower() for t in unique] if ignore_case else unique
        self._longest = len(unique[0])
        self._held = b""
        self._swallowing = False

    def feed(self, chunk: bytes, *, final: bool = False) -> bytes:
        """What is safe to emit now; with ``final`` everything (the stream ended)."""
        data = self._held + chunk
        self._held = b""
        pos = 0
        if self._swallowing:
            pos = self._body_end(data, 0)
            if pos == len(data):
                self._swallowing = not final
                return b""
            self._swallowing = False
        out = bytearray()
        while (found := self._regex.search(data, pos)) is not None:
            out += data[pos : found.end(1)] + MASK
            pos = self._body_end(data, found.end(1))
            if pos == len(data):
                self._swallowing = not final
                return bytes(out)
        keep = 0 if final else self._hold_length(data, pos)
        out += data[pos : len(data) - keep]
        self._held = data[len(data) - keep :]
        return bytes(out)

    def _body_end(self, data: bytes, pos: int) -> int:
        """Where the run of body bytes starting at ``pos`` ends."""
        run = self._skip.match(data, pos)
        return run.end() if run else pos

    def _hold_length(self, data: bytes, start: int) -> int:
        """Length of the longest tail after ``start`` that is the beginning of a trigger."""
        for index in range(max(start, len(data) - self._longest), len(data)):
            tail = data[index:]
            if self._ignore_case:
                tail = tail.lower()
            if any(trigger.startswith(tail) for trigger in self._triggers):
                return len(data) - index
        return 0


def url_sanitizer() -> _PrefixSanitizer:
    """Masks the values of credential query parameters (``?private_token=…``).

    Keys are matched case-insensitively and only right after ``?`` or ``&``;
    an empty value is masked too, as gitlab-runner does.
    """
    triggers = [sep + key.encode() + b"=" for key in URL_PARAM_KEYS for sep in (b"?", b"&")]
    return _PrefixSanitizer(triggers, URL_VALUE, need_body=False, ignore_case=True)


def token_sanitizer(prefixes: Iterable[str] = ()) -> _PrefixSanitizer:
    """Masks the body of every token with a default or extra prefix; the prefix stays.

    Like gitlab-runner, a prefix counts wherever it appears, even inside a
    word: ``a-glpat-xyz`` is masked (``a-glpat-[MASKED]``), because tokens are
    routinely glued to other text (``oauth2:glpat-…@``, ``TOKEN=glpat-…``). A
    prefix with nothing after it (``glpat-`` then a space) is left alone, and
    text that merely starts like one (``global``, ``glad-``) never matches.
    """
    cleaned = {prefix.strip() for prefix in [*DEFAULT_TOKEN_PREFIXES, *prefixes]}
    triggers = [prefix.encode() for prefix in cleaned if prefix]
    return _PrefixSanitizer(triggers, TOKEN_BODY, need_body=True, ignore_case=False)


class TraceBuffer:
    """The job's trace: masked before storage, capped at ``limit``, checksummed as it grows.

    ``token_prefixes`` are masked on top of ``DEFAULT_TOKEN_PREFIXES``, which
    are always masked: pass a job's ``features.token_mask_prefixes`` as they
    come (passing the defaults again is harmless).

    Writers may be on other threads than the reader; a lock keeps the masking
    chain and the counters consistent. The buffer knows nothing of asyncio:
    ``add_listener`` callbacks run on the writer's thread after each write
    that stored bytes, and the sender turns them into an event.
    """

    def __init__(
        self,
        path: Path,
        masked: Iterable[str],
        *,
        limit: int = DEFAULT_LIMIT,
        token_prefixes: Sequence[str] = DEFAULT_TOKEN_PREFIXES,
    ) -> None:
        if limit < 0:
            raise ValueError(f"trace limit must not be negative, got {limit}")
        # O_EXCL also refuses a dangling symlink; O_NOFOLLOW says so twice.
        flags = os.O_RDWR | os.O_APPEND | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC
        fd = os.open(path, flags, 0o600)
        os.fchmod(fd, 0o600)  # the umask may only have removed bits, but be exact
        self._setup(fd, path, masked, limit, token_prefixes)

    @classmethod
    def reopen(
        cls,
        path: Path,
        masked: Iterable[str] = (),
        *,
        limit: int = DEFAULT_LIMIT,
        token_prefixes: Sequence[str] = DEFAULT_TOKEN_PREFIXES,
    ) -> TraceBuffer:
        """The trace a previous agent process left at ``path``, to append to and send.

        For recovery after a crash: the stored bytes are read once to restore
        ``size`` and ``checksum``; a trace already past ``limit`` stays cut.
        Refuses a symlink or anything but a regular file.
        """
        fd = os.open(path, os.O_RDWR | os.O_APPEND | os.O_NOFOLLOW | os.O_CLOEXEC)
        try:
            if not stat.S_ISREG(os.fstat(fd).st_mode):
                raise OSError(errno.EINVAL, "trace is not a regular file", str(path))
            trace = cls.__new__(cls)
            trace._setup(fd, path, masked, limit, token_prefixes)
            while piece := os.pread(fd, 1 << 16, trace._size):
                trace._size += len(piece)
                trace._crc = zlib.crc32(piece, trace._crc)
        except BaseException:
            os.close(fd)
            raise
        trace._truncated = trace._size > limit
        return trace

    def _setup(
        self, fd: int, path: Path, masked: Iterable[str], limit: int,
        token_prefixes: Sequence[str],
    ) -> None:
        self._fd = fd
        self.path = path
        self.limit = limit
        self._masker = Masker(masked)
        self._urls = url_sanitizer()
        self._tokens = token_sanitizer(token_prefixes)
        self._lock = threading.Lock()
        self._listeners: list[Callable[[], None]] = []
        self._size = 0
        self._crc = 0
        self._truncated = False
        self._closed = False

    @property
    def size(self) -> int:
        """Bytes stored (and so to be sent) so far, the notice included."""
        return self._size

    @property
    def truncated(self) -> bool:
        """Whether output went past ``limit`` and is being dropped."""
        return self._truncated

    def checksum(self) -> str:
        """``crc32:%08x`` of every stored byte, as the final job update carries it."""
        return f"crc32:{self._crc:08x}"

    def add_listener(self, callback: Callable[[], None]) -> None:
        """Call ``callback`` (on the writer's thread) after every write that stored bytes."""
        self._listeners.append(callback)

    def write(self, data: bytes) -> None:
        """Mask ``data`` and store what is safe to store now."""
        with self._lock:
            self._check_open()
            if self._truncated:
                return
            out = self._tokens.feed(self._urls.feed(self._masker.feed(data)))
            stored = self._store(out)
        if stored:
            self._notify()

    def flush(self) -> None:
        """End of stream: store everything still held back (masked)."""
        with self._lock:
            self._check_open()
            if self._truncated:
                return
            out = self._urls.feed(self._masker.flush(), final=True)
            stored = self._store(self._tokens.feed(out, final=True))
        if stored:
            self._notify()

    def read(self, offset: int, limit: int) -> bytes:
        """Up to ``limit`` stored bytes from ``offset`` (fewer at the end of the trace)."""
        if offset < 0 or limit < 0:
            raise ValueError(f"bad trace range: offset {offset}, limit {limit}")
        self._check_open()
        end = min(self._size, offset + limit)
        parts: list[bytes] = []
        while offset < end:
            piece = os.pread(self._fd, end - offset, offset)
            if not piece:
                break
            parts.append(piece)
            offset += len(piece)
        return b"".join(parts)

    def close(self) -> None:
        """Release the file (it stays on disk; held bytes not ``flush``-ed are dropped)."""
        with self._lock:
            if not self._closed:
                self._closed = True
                os.close(self._fd)

    def __enter__(self) -> TraceBuffer:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()

    def _check_open(self) -> None:
        if self._closed:
            raise ValueError(f"trace {self.path} is closed")

    def _store(self, data: bytes) -> bool:
        """Append masked ``data`` within the limit; whether anything was stored."""
        if not data:
            return False
        room = self.limit - self._size
        if len(data) > room:
            cut = room
            # Do not split a UTF-8 character: back off over continuation bytes.
            while cut > 0 and data[cut] & 0xC0 == 0x80 and room - cut < 3:
                cut -= 1
            data = data[:cut] + limit_notice(self.limit)
            self._truncated = True
        view = memoryview(data)
        while view:
            written = os.write(self._fd, view)
            view = view[written:]
        self._size += len(data)
        self._crc = zlib.crc32(data, self._crc)
        return True

    def _notify(self) -> None:
        for callback in list(self._listeners):
            callback()
