"""``runner exec --list``."""

from __future__ import annotations

from pathlib import Path

from runner.cli.listing import render_list
from runner.pipeline.model import Job, Need, Pipeline, Trigger, When


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


def test_list_shows_child_jobs_after_their_trigger_job_and_a_note_per_trigger() -> None:
    """A static child's jobs follow its trigger job (child stage order); every trigger job
    says what it starts, a multi-project one that it is not run here."""
    child = Pipeline(Path("/p/f"), Path("/p"), (
        Job("kids > test", "i", ("x",), stage="test", needs=(Need("kids > lint"),)),
        Job("kids > lint", "i", ("x",), stage="build"),
    ), stages=("build", "test"))
    jobs = (
        Job("gen", "i", ("x",), stage="build"),
        Job("kids", "", (), stage="test", trigger=Trigger(depend=True, child=child)),
        Job("dyn", "", (), stage="test", needs=(Need("gen"),),
            trigger=Trigger(load=lambda dirs: child, artifact_jobs=("gen",))),
        Job("other", "", (), stage="test", trigger=Trigger(project="group/other")),
    )
    pipeline = Pipeline(Path("/p/f"), Path("/p"), jobs, stages=("build", "test"))
    assert render_list(pipeline) == (
        "name         stage  when        allow_failure  needs          note\n"
        "gen          build  on_success  false          []\n"
        "kids         test   on_success  false          []             child pipeline of 2 jobs"
        " (strategy: depend)\n"
        "kids > lint  build  on_success  false          []\n"
        "kids > test  test   on_success  false          [kids > lint]\n"
        "dyn          test   on_success  false          [gen]          child pipeline generated"
        " by 'gen', read when it is done\n"
        "other        test   on_success  false          []             multi-project pipeline"
        " group/other is not run locally\n"
    )


def test_image_notes_skip_trigger_jobs_and_see_child_jobs(tmp_path: Path) -> None:
    """A trigger job runs no container, so it never needs a default image; a static
    child's job without an image does."""
    from runner.cli.exec_images import image_notes  # noqa: PLC0415

    child = Pipeline(Path("/p/f"), Path("/p"), (Job("kids > lint", "", ("x",)),))
    jobs = (
        Job("kids", "", (), trigger=Trigger(child=child)),
        Job("other", "", (), trigger=Trigger(project="group/other")),
    )
    notes = image_notes(Pipeline(Path("/p/f"), Path("/p"), jobs),
                        {"XDG_CONFIG_HOME": str(tmp_path)})
    assert len(notes) == 1
    assert "need a default image to run: kids > lint;" in notes[0]
