"""Ctrl-C as users expect it: the first stops gracefully, the second at once."""

from __future__ import annotations

import asyncio


class Interruption:
    """Shared by every job of a run; set by the signal handler."""

    def __init__(self) -> None:
        self.canceling = asyncio.Event()
        """Stop scripts (TERM), still run after_script, start nothing new."""
        self.killing = asyncio.Event()
        """Kill everything now; no after_script."""

    def request(self) -> None:
        """One more Ctrl-C (or SIGTERM)."""
        if self.canceling.is_set():
            self.killing.set()
        self.canceling.set()
