"""Tests of runner.pipeline.dag: need checks, cycles, ordering and upstream sets."""

from __future__ import annotations

import pytest

from runner.errors import PipelineError, SourceSpot
from runner.pipeline import dag
from runner.pipeline.model import Job, Need, Spot


def job(name: str, *needs: str, line: int = 1) -> Job:
    return Job(
        name=name,
        image="img",
        script=("true",),
        needs=tuple(Need(n) for n in needs),
        spot=Spot("p.yml", line, 3),
    )


def test_valid_graph_passes() -> None:
    """A graph whose needs all exist and form no cycle raises nothing."""
    dag.validate((job("a"), job("b", "a"), job("c", "a", "b")))


def test_unknown_need_suggests_closest_names() -> None:
    """A need on a missing job is an error at the need that names the nearest jobs."""
    jobs = (job("build"), job("lint"), job("test", "biuld", line=7))
    with pytest.raises(PipelineError) as info:
        dag.validate(jobs)
    assert info.value.spot == SourceSpot("p.yml", 7, 3, "jobs.test.needs[0]")
    assert info.value.message == (
        "job 'test' needs 'biuld', which is not a job in this pipeline; did you mean 'build'?"
    )


def test_unknown_need_without_close_match_lists_jobs() -> None:
    """When nothing is close, the error lists every other job name."""
    jobs = (job("build"), job("lint"), job("test", "zzz"))
    with pytest.raises(PipelineError) as info:
        dag.validate(jobs)
    assert info.value.message.endswith("; valid names are 'build', 'lint'")


def test_self_need_is_an_error() -> None:
    """A job needing itself is an error naming the job."""
    with pytest.raises(PipelineError) as info:
        dag.validate((job("a", "a"),))
    assert info.value.message == "job 'a' needs itself"


def test_duplicate_need_is_an_error() -> None:
    """Needing the same job twice is an error at the second need."""
    with pytest.raises(PipelineError) as info:
        dag.validate((job("a"), job("b", "a", "a")))
    assert info.value.spot.key == "jobs.b.needs[1]"
    assert info.value.message == "job 'b' needs 'a' more than once"


def test_cycle_error_shows_the_path_from_the_earliest_job() -> None:
    """A cycle is reported as a closed path starting at the job written first."""
    jobs = (job("x"), job("a", "c", line=4), job("b", "a", line=6), job("c", "b", line=8))
    with pytest.raises(PipelineError) as info:
        dag.validate(jobs)
    assert info.value.spot == SourceSpot("p.yml", 4, 3, "jobs.a.needs[0]")
    assert "a -> c -> b -> a (each needs the next)" in info.value.message


def test_where_callback_sharpens_the_spot() -> None:
    """A dialect-supplied ``where`` decides the spot of a need error."""

    def where(j: Job, index: int) -> SourceSpot:
        return SourceSpot("p.yml", 40 + index, 9, f"{j.name}/{index}")

    with pytest.raises(PipelineError) as info:
        dag.validate((job("a"), job("b", "a", "nope")), where)
    assert info.value.spot == SourceSpot("p.yml", 41, 9, "b/1")


def test_job_without_spot_still_gets_a_file() -> None:
    """The default spot of a job built without a Spot names a placeholder file."""
    bare = Job(name="a", image="i", script=("s",), needs=(Need("x"),))
    assert dag.job_spot(bare, 0) == SourceSpot("<pipeline>", key="jobs.a.needs[0]")


def test_find_cycle_none_for_a_dag() -> None:
    """A graph without cycles has none to report (unknown needs are ignored here)."""
    assert dag.find_cycle((job("a"), job("b", "a", "ghost"))) is None


def test_find_cycle_two_jobs() -> None:
    """Two jobs needing each other are a cycle of length two."""
    assert dag.find_cycle((job("a", "b"), job("b", "a"))) == ["a", "b", "a"]


def test_topological_order_keeps_file_order_on_ties() -> None:
    """Each job comes after its needs; jobs free at the same time keep file order."""
    jobs = (job("deploy", "test"), job("lint"), job("test", "build"), job("build"))
    assert dag.topological_order(jobs) == ("lint", "build", "test", "deploy")


def test_topological_order_rejects_a_cycle() -> None:
    """Ordering a cyclic graph is a programming error (ValueError)."""
    with pytest.raises(ValueError, match="cycle"):
        dag.topological_order((job("a", "b"), job("b", "a")))


def test_upstream_is_transitive() -> None:
    """Upstream holds every job reached by following needs, and nothing else."""
    jobs = (job("a"), job("b", "a"), job("c", "b"), job("d"), job("e", "c", "b"))
    assert dag.upstream(jobs, "e") == {"a", "b", "c"}
    assert dag.upstream(jobs, "a") == set()


def test_upstream_unknown_job_raises_key_error() -> None:
    """Asking for a job that is not in the pipeline raises KeyError."""
    with pytest.raises(KeyError):
        dag.upstream((job("a"),), "b")
