"""What the agent needs from a coordinator while it runs one job, whatever the server.

GitLab, Forgejo and GitHub all hand a job to a runner and then expect the
same few things back: an acceptance, the log in pieces, a final state, and
artifacts. The agent's job runner talks to this small interface only; each
coordinator adapts its own HTTP API to it (as httpx transports do for httpx).
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol


class RemoteState(enum.Enum):
    """What the coordinator says of a job it answered about."""

    RUNNING = "running"
    CANCELING = "canceling"
    """Stop the script, still run after_script (GitLab's graceful cancel)."""
    ABORT = "abort"
    """Stop at once: the job was canceled or failed server-side, or is not ours any more."""
    GONE = "gone"
    """The server no longer knows the job (404); stop talking about it."""


@dataclass(frozen=True)
class TraceAck:
    """The answer to one piece of the log."""

    state: RemoteState
    offset: int
    """How many bytes of the trace the server holds now: the next piece starts there."""
    interval_s: float | None = None
    """How often the server wants updates from now on, if it said."""


@dataclass(frozen=True)
class UpdateAck:
    """The answer to a state update."""

    state: RemoteState
    done: bool
    """False: the server accepted but is not finished (GitLab's 202); send it again later."""
    interval_s: float | None = None
    reset: bool = False
    """The server lost the trace and wants all of it again before this update (GitLab's 412)."""


@dataclass(frozen=True)
class Upload:
    """One artifacts archive to upload, as the job's payload described it."""

    path: Path
    filename: str
    artifact_type: str = "archive"
    artifact_format: str = "zip"
    expire_in: str | None = None


class JobChannel(Protocol):
    """Talks to the coordinator about one job, with that job's credentials."""

    async def update(self, state: str, *, failure_reason: str | None = None,
                     exit_code: int | None = None, checksum: str | None = None,
                     bytesize: int | None = None) -> UpdateAck:
        """Send the job's state (``running`` accepts it; ``success``/``failed`` end it)."""
        ...

    async def append_trace(self, offset: int, data: bytes) -> TraceAck:
        """Send ``data`` as the trace bytes starting at ``offset``."""
        ...

    async def upload(self, upload: Upload) -> None:
        """Upload one artifacts archive."""
        ...

    async def download(self, job_id: int, token: str, dest: Path) -> bool:
        """Fetch another job's artifacts archive into ``dest``; False if it has none."""
        ...
