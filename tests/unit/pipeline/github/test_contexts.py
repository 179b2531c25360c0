"""Tests of runner.pipeline.github.contexts: needs aggregation and the default variables."""

from __future__ import annotations

from runner.pipeline.github import contexts
from runner.pipeline.steps import StepStatus

from .driver import facts, job, need

S, F, C, K = StepStatus.SUCCESS, StepStatus.FAILURE, StepStatus.CANCELLED, StepStatus.SKIPPED


def test_aggregate_result_precedence() -> None:
    """failure beats cancelled beats success beats skipped."""
    assert contexts.aggregate([need(S), need(F), need(C)]).result is F
    assert contexts.aggregate([need(S), need(C)]).result is C
    assert contexts.aggregate([need(K), need(S)]).result is S
    assert contexts.aggregate([need(K), need(K)]).result is K


def test_aggregate_outputs_later_non_empty_wins() -> None:
    """Outputs merge in order; an empty later value does not erase an earlier one."""
    merged = contexts.aggregate([need(S, a="1", b="x"), need(S, a="", b="y")])
    assert dict(merged.outputs) == {"a": "1", "b": "y"}


def test_needs_context_direct_needs_by_id() -> None:
    """needs.<id> lists direct needs only (by id), matrix instances as one."""
    known = {"t (1)": need(S, v="1"), "t (2)": need(S), "lint": need(S), "far": need(F)}
    got = contexts.needs_context(["t (1)", "t (2)", "lint"], ["t", "t", "lint"], known)
    assert got == {
        "t": {"result": "success", "outputs": {"v": "1"}},
        "lint": {"result": "success", "outputs": {}},
    }


def test_default_env_numbers_and_booleans() -> None:
    """Numbers print without a decimal point, booleans lower-case; non-strings are skipped."""
    github = {"run_number": 12.0, "ref_protected": False, "event": {"x": 1.0}, "sha": "s"}
    env = dict(contexts.default_env(github, {"os": "Linux"}))
    assert env["GITHUB_RUN_NUMBER"] == "12"
    assert env["GITHUB_REF_PROTECTED"] == "false"
    assert env["GITHUB_SHA"] == "s"
    assert env["RUNNER_OS"] == "Linux"
    assert "GITHUB_EVENT" not in env


def test_github_context_run_values_and_token() -> None:
    """The run fills workspace, job, run_id, run_attempt and event_path; token from secret."""
    got = contexts.github_context(
        job(), facts(attempt=2, secrets={"GITHUB_TOKEN": "ghs"})
    )
    assert got["workspace"] == "/w/app"
    assert got["job"] == "build"
    assert got["run_attempt"] == "2"
    assert got["token"] == "ghs"
    assert got["run_number"] == 7.0
