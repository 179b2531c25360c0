"""GitHub sessions: built-in actions and their post steps."""

from __future__ import annotations

from runner.pipeline.steps import (
    Checkout,
    RestoreCache,
    SaveCache,
    StepEnd,
    StepStatus,
    UploadArtifact,
)

from .driver import FAIL, drive, job, step


def cache(index: int, step_id: str, key: str) -> object:
    return step(index, step_id, uses="actions/cache@v4",
                with_=(("path", "~/.cache"), ("key", key)))


def test_checkout_maps_and_sets_ref_and_commit_outputs() -> None:
    """actions/checkout becomes Checkout(path) and exposes ref and commit outputs."""
    spec = job(
        step(0, "co", uses="actions/checkout@v4", with_=(("path", "src"), ("fetch-depth", "0"))),
        step(1, "b", run="${{ steps.co.outputs.commit }}"),
    )
    run = drive(spec)
    assert run.plan("co").action == Checkout("src")
    assert run.plan("co").name == "Run actions/checkout@v4"
    action = run.plan("b").action
    assert action is not None
    assert getattr(action, "script", "") == "abc123"
    notices = run.messages.of("notice")
    assert notices and "fetch-depth" in notices[0][0]
    calls = run.messages.calls
    assert calls.index(("start", "co")) < calls.index(("notice", notices[0][0]))


def test_upload_inputs_are_templates() -> None:
    """with: values are evaluated before mapping."""
    spec = job(step(0, "up", uses="actions/upload-artifact@v4",
                    with_=(("name", "dist-${{ github.sha }}"), ("path", "dist/"))))
    assert drive(spec).plan("up").action == UploadArtifact("dist-abc123", ("dist/",))


def test_cache_posts_run_after_main_steps_last_first() -> None:
    """Two caches: restores in order, then their saves in reverse order as post steps."""
    spec = job(cache(0, "c1", "k1"), cache(1, "c2", "k2"), step(2, "build"))
    run = drive(spec)
    assert run.keys() == ["c1", "c2", "build", "post-c2", "post-c1"]
    assert run.plan("c1").action == RestoreCache("k1", ("~/.cache",))
    assert run.plan("post-c1").action == SaveCache("k1", ("~/.cache",))
    assert run.plan("post-c2").name == "Post Run actions/cache@v4"


def test_cache_save_skipped_on_exact_hit() -> None:
    """An exact hit (cache-hit true) saves nothing, with actions/cache's message."""
    hit = StepEnd(StepStatus.SUCCESS, 0, outputs={"cache-hit": "true"})
    run = drive(job(cache(0, "c1", "k1")), {"c1": hit})
    assert run.keys() == ["c1"]
    assert run.plan("post-c1").skipped == (
        "Cache hit occurred on the primary key k1, not saving cache."
    )


def test_cache_save_needs_success() -> None:
    """actions/cache's post-if is success(): a failed job saves nothing."""
    run = drive(job(cache(0, "c1", "k1"), step(1, "build")), {"build": FAIL})
    assert run.keys() == ["c1", "build"]
    assert run.skipped() == ["post-c1"]


def test_skipped_main_step_registers_no_post() -> None:
    """A cache step whose if is false has no post step."""
    spec = job(step(0, "c1", uses="actions/cache@v4", condition="false",
                    with_=(("path", "p"), ("key", "k"))))
    run = drive(spec)
    assert run.keys() == []
    assert run.skipped() == ["c1"]


def test_bad_builtin_input_fails_the_step() -> None:
    """A missing required input fails the step with the action's message."""
    run = drive(job(step(0, "up", uses="actions/upload-artifact@v4")))
    assert run.keys() == []
    assert "Input required and not supplied: path" in run.messages.of("annotate")[0][1]
    assert run.end.status is StepStatus.FAILURE


def test_failed_post_step_fails_the_job_but_is_not_a_step_context() -> None:
    """A failing cache save fails the job; post steps never appear in ``steps``."""
    spec = job(cache(0, "c1", "k1"), outputs=(("all", "${{ toJSON(steps) }}"),))
    run = drive(spec, {"post-c1": FAIL})
    assert run.keys() == ["c1", "post-c1"]
    assert run.end.status is StepStatus.FAILURE
    assert "post-c1" not in dict(run.end.outputs)["all"]
