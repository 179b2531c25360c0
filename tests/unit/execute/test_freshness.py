"""Which jobs may resolve their image while their needs run (``execute.freshness``)."""

from __future__ import annotations

from pathlib import Path

import pytest

from runner.execute.freshness import starts_early
from runner.pipeline.model import Build, Job, Need, Pipeline, Service

DIGEST = "reg.example/app@sha256:" + "a" * 64
ALWAYS = ("always",)


def _pipeline(*jobs: Job) -> Pipeline:
    return Pipeline(Path("p.yml"), Path("."), jobs)


def _job(image: str, *needs: str, **more: object) -> Job:
    return Job("use", image, ("true",), needs=tuple(Need(n) for n in needs), **more)  # type: ignore[arg-type]


UP = Job("up", "localhost/busybox:latest", ("true",))
BUILD = Job("up", "", (), build=Build(tags=("reg.example/app:1",)))


@pytest.mark.parametrize(("job", "upstream", "early"), [
    (_job("reg.example/app:1"), UP, True),  # no needs: nothing upstream can move it
    (_job("reg.example/app:1", "up"), UP, False),  # a tag: any script job may push it
    (_job("alpine", "up"), UP, False),
    (_job(DIGEST, "up"), BUILD, True),  # a digest is the same content everywhere
    (_job("sha256:" + "b" * 64, "up"), BUILD, True),
    (_job("localhost/busybox:latest", "up"), UP, True),  # jobs cannot write the local store
    (_job("localhost/busybox:latest", "up"), BUILD, False),  # build jobs can
    (_job("alpine", "up", pull_policy=("never",)), UP, True),
    (_job("alpine", "up", pull_policy=("never",)), BUILD, False),
    (_job(DIGEST, "up", services=(Service("redis:7"),)), UP, False),  # every image counts
    (_job(DIGEST, "up", services=(Service("localhost/db:1"),)), UP, True),
])
def test_only_images_no_upstream_job_can_move_start_early(job: Job, upstream: Job,
                                                          early: bool) -> None:
    assert starts_early(_pipeline(upstream, job).jobs, job, ALWAYS) is early


def test_the_default_policy_counts_for_images_naming_none() -> None:
    job = _job("alpine", "up")
    assert starts_early(_pipeline(UP, job).jobs, job, ("never",)) is True
    assert starts_early(_pipeline(UP, job).jobs, job, ("never", "always")) is False


def test_a_job_using_a_build_output_waits_for_it() -> None:
    job = _job("${{ jobs.up.image }}")
    assert starts_early(_pipeline(BUILD, job).jobs, job, ALWAYS) is False


def test_a_child_job_is_judged_among_every_job_the_run_knows() -> None:
    """A child pipeline's job joins the run when its trigger starts, and may need a parent
    job: looking it up in the parent pipeline alone raised KeyError and canceled it."""
    parent = Job("gen", "localhost/busybox:latest", ("x",))
    child = Job("kids > use", "localhost/busybox:latest", ("x",), needs=(Need("gen"),))
    assert starts_early([parent, child], child, ALWAYS) is True
