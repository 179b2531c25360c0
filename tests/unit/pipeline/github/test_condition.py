"""Tests of runner.pipeline.github.condition: ``jobs.<id>.if`` with GitHub's status rules."""

from __future__ import annotations

from runner.pipeline.github.condition import GithubCondition
from runner.pipeline.steps import StepStatus

from .driver import job, need

S, F, K = StepStatus.SUCCESS, StepStatus.FAILURE, StepStatus.SKIPPED


def test_implicit_success_is_false_when_anything_upstream_did_not_succeed() -> None:
    """No ``if:``: runs only when every upstream job succeeded; a skipped one skips it."""
    condition = GithubCondition(job(needs=("b",), need_ids=("b",)), None)
    assert condition.text == "success()"
    assert condition.holds({"b": need(S)}, False)
    assert not condition.holds({"b": need(K)}, False)
    assert not condition.holds({"b": need(S), "a": need(F)}, False)


def test_failure_sees_indirect_upstream_failures() -> None:
    """``failure()`` holds when any upstream job failed, even one not needed directly."""
    condition = GithubCondition(job(needs=("b",), need_ids=("b",)), "failure()")
    assert condition.holds({"b": need(K), "a": need(F)}, False)
    assert not condition.holds({"b": need(S)}, False)


def test_always_and_cancelled() -> None:
    """``always()`` runs after a failure; ``cancelled()`` holds while cancelling."""
    spec = job(needs=("b",), need_ids=("b",))
    assert GithubCondition(spec, "${{ always() }}").holds({"b": need(F)}, False)
    assert GithubCondition(spec, "cancelled()").holds({"b": need(S)}, True)
    assert not GithubCondition(spec, "success()").holds({"b": need(S)}, True)


def test_needs_outputs_and_matrix_aggregation() -> None:
    """A matrix need is its instances aggregated: failure if one failed, outputs merged."""
    spec = job(needs=("t (1)", "t (2)"), need_ids=("t", "t"))
    condition = GithubCondition(
        spec, "always() && needs.t.result == 'failure' && needs.t.outputs.v == 'x'"
    )
    upstream = {"t (1)": need(S, v="x"), "t (2)": need(F, v="")}
    assert condition.holds(upstream, False)
    plain = GithubCondition(spec, "needs.t.outputs.v == 'x'")
    assert plain.holds({"t (1)": need(S, v=""), "t (2)": need(S, v="x")}, False)


def test_github_and_vars_contexts() -> None:
    """The condition reads ``github`` and ``vars``."""
    spec = job(vars={"DEPLOY": "yes"})
    assert GithubCondition(spec, "github.ref == 'refs/heads/main' && vars.DEPLOY == 'yes'").holds(
        {}, False
    )
    assert not GithubCondition(spec, "github.event_name == 'pull_request'").holds({}, False)
