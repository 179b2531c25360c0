"""structlog set-up, done once at the entry point.

Runner's own diagnostics go to stderr (job output is the product and goes to
stdout). Human-readable on a TTY, JSON lines otherwise; job and step ids come
from contextvars so every event inside a job carries them.
"""

from __future__ import annotations

import logging
import sys

import structlog

_LEVELS = {0: logging.WARNING, 1: logging.INFO}


def configure(verbosity: int = 0, *, json: bool | None = None) -> None:
    """Configure structlog for this process; ``json`` defaults to "stderr is not a TTY"."""
    if json is None:
        json = not sys.stderr.isatty()
    level = _LEVELS.get(verbosity, logging.DEBUG)
    renderer: structlog.typing.Processor = (
        structlog.processors.JSONRenderer()
        if json
        else structlog.dev.ConsoleRenderer(colors=sys.stderr.isatty())
    )
    structlog.configure(
        processors=[
            structlog.contextvars.merge_contextvars,
            structlog.processors.add_log_level,
            structlog.processors.TimeStamper(fmt="iso", utc=True),
            structlog.processors.dict_tracebacks if json else structlog.dev.set_exc_info,
            renderer,
        ],
        wrapper_class=structlog.make_filtering_bound_logger(level),
        logger_factory=structlog.PrintLoggerFactory(file=sys.stderr),
        cache_logger_on_first_use=False,
    )
