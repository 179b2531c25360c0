"""``runner exec --list``."""

from __future__ import annotations

from pathlib import Path

from runner.cli.listing import render_list
from runner.pipeline.model import Job, Need, Pipeline, When


def test_list_orders_by_stage_and_shows_when_allow_failure_needs() -> None:
    """Stages in declared order, file order within a stage; exit-code allowances shown."""
    jobs = (
        Job("deploy", "i", ("x",), stage="deploy", when=When.MANUAL, needs=(Need("unit"),)),
        Job("unit", "i", ("x",), stage="test", allow_failure=True, allow_failure_codes=(3, 4)),
        Job("build", "i", ("x",), stage="build"),
    )
    pipeline = Pipeline(Path("/p/f"), Path("/p"), jobs, stages=("build", "test", "deploy"))
    assert render_list(pipeline) == (
        "name    stage   when        allow_failure  needs\n"
        "build   build   on_success  false          []\n"
        "unit    test    on_success  exit 3,4       []\n"
        "deploy  deploy  manual      false          [unit]\n"
    )
