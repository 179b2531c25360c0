"""One configured runner as the agent polls for it: its entry, client, limit and tasks."""

from __future__ import annotations

import asyncio
import contextlib
from dataclasses import dataclass, field

import structlog

from runner.agent.config import RunnerEntry
from runner.agent.slots import Slots
from runner.coordinator.gitlab.client import GitLabClient
from runner.coordinator.gitlab.retry import jittered
from runner.errors import CoordinatorError

log = structlog.get_logger(__name__)

ERROR_BACKOFF_MAX_S = 60.0
UNHEALTHY_BACKOFF_S = 300.0
"""After the token is refused (403) there is no point asking again soon."""


def short_token(token: str) -> str:
    """gitlab-runner's short token: 9 characters after the token's prefixes."""
    body = token
    for prefix in ("glrt-", "glrtr-", "glcbt-"):
        body = body.removeprefix(prefix)
    if len(body) > 3 and body[0] == "t" and body[1].isdigit() and body[2] == "_":
        body = body[3:]
    return body[:9]


@dataclass
class Poller:
    """A runner's polling state; its tasks are the agent's to start and stop."""

    entry: RunnerEntry
    client: GitLabClient
    limit: Slots
    """``limit`` of the entry (0: unbounded); resized by a reload."""
    token_lock: asyncio.Lock = field(default_factory=asyncio.Lock)
    """Held while the token is in use, so that a reset never overlaps a job request."""
    last_update: str | None = None
    failures: int = 0
    refused: bool = False
    """The token was refused (403): ask again only after a long pause."""
    jobs: set[asyncio.Task[None]] = field(default_factory=set)
    poll_task: asyncio.Task[None] | None = None
    rotation_task: asyncio.Task[None] | None = None

    def backoff(self, check_interval_s: float) -> float:
        """How long to wait before asking again after failures."""
        if self.refused:
            return jittered(UNHEALTHY_BACKOFF_S)
        ceiling = min(ERROR_BACKOFF_MAX_S,
                      check_interval_s * 2 ** min(self.failures, 6))
        return jittered(ceiling)

    async def refuse(self, doc: dict[str, object], why: str) -> None:
        """A payload we cannot read: fail the job at once so it does not hang."""
        job_id, token = doc.get("id"), doc.get("token")
        if not isinstance(job_id, int) or not isinstance(token, str):
            return
        channel = self.client.channel(job_id, token)
        with contextlib.suppress(CoordinatorError):
            await channel.update("running")
            await channel.update("failed", failure_reason="runner_system_failure")
        log.error("job_refused", job_id=job_id, why=why)
