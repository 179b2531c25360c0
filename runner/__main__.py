"""`python -m runner` is the same as the `runner` console script."""

from __future__ import annotations

from runner.cli import run

run()
