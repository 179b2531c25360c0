"""GitHub sessions: conditions, outcomes, continue-on-error, outputs and failures."""

from __future__ import annotations

from runner.pipeline.steps import RunScript, StepEnd, StepStatus

from .driver import FAIL, OK, drive, facts, job, step


def test_failure_skips_later_steps_but_failure_and_always_run() -> None:
    """After a failed step, default steps skip; ``failure()`` and ``always()`` steps run."""
    spec = job(
        step(0, "a"),
        step(1, "b"),
        step(2, "on_fail", condition="failure()"),
        step(3, "cleanup", condition="${{ always() }}"),
        step(4, "ok_only", condition="success()"),
    )
    run = drive(spec, {"a": FAIL})
    assert run.keys() == ["a", "on_fail", "cleanup"]
    assert run.skipped() == ["b", "ok_only"]
    assert run.plan("b").skipped == "if: success()"
    assert run.end.status is StepStatus.FAILURE


def test_continue_on_error_outcome_and_conclusion() -> None:
    """continue-on-error: outcome failure, conclusion success, and the job still succeeds."""
    spec = job(
        step(0, "flaky", continue_on_error="true"),
        step(1, "report", run="${{ steps.flaky.outcome }}/${{ steps.flaky.conclusion }}"),
    )
    run = drive(spec, {"flaky": FAIL})
    assert run.plan("flaky").continue_on_error
    action = run.plan("report").action
    assert isinstance(action, RunScript)
    assert action.script == "failure/success"
    assert run.end.status is StepStatus.SUCCESS


def test_continue_on_error_false_text_is_false() -> None:
    """The literal text ``false`` does not turn on continue-on-error."""
    run = drive(job(step(0, "a", continue_on_error="false")), {"a": FAIL})
    assert not run.plan("a").continue_on_error
    assert run.end.status is StepStatus.FAILURE


def test_outputs_from_file_and_command_feed_later_if_and_run() -> None:
    """GITHUB_OUTPUT (heredoc included) and ::set-output:: reach steps.<id>.outputs."""
    spec = job(
        step(0, "ver"),
        step(1, "use", condition="steps.ver.outputs.v == '1.2'",
             run="${{ steps.ver.outputs.v }}|${{ steps.ver.outputs.notes }}|"
                 "${{ steps.ver.outputs.old }}"),
    )
    files = {"GITHUB_OUTPUT": b"v=1.2\nnotes<<EOF\na\nb\nEOF\n"}
    ended = (b"::set-output name=old::yes\n", StepEnd(StepStatus.SUCCESS, 0, files=files))
    run = drive(spec, {"ver": ended})
    action = run.plan("use").action
    assert isinstance(action, RunScript)
    assert action.script == "1.2|a\nb|yes"


def test_generated_ids_are_not_in_steps_context() -> None:
    """Steps without an id (``__run``) do not appear in ``steps``."""
    spec = job(step(0), step(1, "b", run="${{ toJSON(steps) }}"))
    action = drive(spec).plan("b").action
    assert isinstance(action, RunScript)
    assert "__run" not in action.script


def test_bad_run_expression_fails_the_step_before_it_runs() -> None:
    """An expression that fails at run time fails its step with the message, unplanned."""
    spec = job(step(0, "a", run="${{ fromJSON('{') }}"), step(1, "b", condition="failure()"))
    run = drive(spec)
    assert run.keys() == ["b"]
    errors = run.messages.of("annotate")
    assert errors and errors[0][0] == "error"
    assert errors[0][1].startswith("Run ${{ fromJSON('{') }}: ")
    assert errors[0][2] == "ci.yml:10"
    assert run.end.status is StepStatus.FAILURE


def test_refused_shell_fails_step_and_continue_on_error_applies() -> None:
    """A PowerShell step fails before running; with continue-on-error the job succeeds."""
    spec = job(step(0, "a", shell="pwsh", continue_on_error="true"))
    run = drive(spec)
    assert run.keys() == []
    assert "not supported" in run.messages.of("annotate")[0][1]
    assert run.end.status is StepStatus.SUCCESS


def test_timed_out_step_fails_with_githubs_message() -> None:
    """A step the executor stopped for its timeout fails with GitHub's message."""
    spec = job(step(0, "slow", name="Slow", timeout_minutes="2"))
    timed_out = StepEnd(StepStatus.FAILURE, None, timed_out=True)
    run = drive(spec, {"slow": timed_out})
    assert ("error", "The action 'Slow' has timed out after 2 minutes.", "") in run.messages.of(
        "annotate"
    )
    assert run.end.status is StepStatus.FAILURE


def test_malformed_env_file_fails_a_successful_step() -> None:
    """A step that exits 0 but wrote a bad GITHUB_ENV fails, as the runner's file command does."""
    bad = StepEnd(StepStatus.SUCCESS, 0, files={"GITHUB_ENV": b"nonsense\n"})
    run = drive(job(step(0, "a"), step(1, "b", condition="failure()")), {"a": bad})
    assert run.keys() == ["a", "b"]
    assert run.end.status is StepStatus.FAILURE


def test_cancelled_run_skips_all_but_always_and_cancelled() -> None:
    """While cancelling, only ``always()`` and ``cancelled()`` steps run."""
    spec = job(
        step(0, "a"), step(1, "b", condition="cancelled()"), step(2, "c", condition="always()")
    )
    run = drive(spec, job_facts=facts(cancelled=lambda: True))
    assert run.keys() == ["b", "c"]
    assert run.end.status is StepStatus.CANCELLED


def test_hash_files_is_computed_once_per_step() -> None:
    """hashFiles is answered by the executor, once per patterns per step."""
    calls: list[tuple[str, ...]] = []

    async def hash_files(patterns: tuple[str, ...]) -> str:
        calls.append(patterns)
        return f"h{len(calls)}"

    spec = job(
        step(0, "a", run="${{ hashFiles('**/go.sum') }}-${{ hashFiles('**/go.sum') }}"),
        step(1, "b", run="${{ hashFiles('**/go.sum') }}"),
    )
    run = drive(spec, job_facts=facts(hash_files=hash_files))
    a, b = run.plan("a").action, run.plan("b").action
    assert isinstance(a, RunScript)
    assert isinstance(b, RunScript)
    assert a.script == "h1-h1"
    assert b.script == "h2"
    assert calls == [("**/go.sum",), ("**/go.sum",)]


def test_job_outputs_evaluated_at_end_and_secret_values_dropped() -> None:
    """jobs.<id>.outputs are evaluated at the end; values holding a secret are dropped."""
    spec = job(
        step(0, "a"),
        outputs=(("version", "${{ steps.a.outputs.v }}"), ("leak", "${{ secrets.T }}"),
                 ("masked", "${{ steps.a.outputs.m }}")),
    )
    files = {"GITHUB_OUTPUT": b"v=2.0\nm=hidden-value\n"}
    ended = (b"::add-mask::hidden-value\n", StepEnd(StepStatus.SUCCESS, 0, files=files))
    run = drive(spec, {"a": ended}, job_facts=facts(secrets={"T": "tok"}))
    assert run.end.outputs == (("version", "2.0"),)
    warnings = [call[1] for call in run.messages.of("annotate") if call[0] == "warning"]
    assert warnings == [
        "Skip output 'leak' since it may contain secret.",
        "Skip output 'masked' since it may contain secret.",
    ]


def test_summaries_are_collected_in_order() -> None:
    """GITHUB_STEP_SUMMARY of each step is kept in order."""
    one = StepEnd(StepStatus.SUCCESS, 0, files={"GITHUB_STEP_SUMMARY": b"# one\n"})
    two = StepEnd(StepStatus.SUCCESS, 0, files={"GITHUB_STEP_SUMMARY": b"two\n"})
    run = drive(job(step(0, "a"), step(1, "b")), {"a": one, "b": two})
    assert run.summary == "# one\ntwo\n"


def test_summary_is_masked() -> None:
    """Secrets and ::add-mask:: values never reach the kept summary."""
    files = {"GITHUB_STEP_SUMMARY": b"token s3cr3t and pw p4ssw0rd\n"}
    ended = (b"::add-mask::p4ssw0rd\n", StepEnd(StepStatus.SUCCESS, 0, files=files))
    run = drive(job(step(0, "a")), {"a": ended}, job_facts=facts(secrets={"T": "s3cr3t"}))
    assert run.summary == "token *** and pw ***\n"


def test_plain_output_goes_to_the_log() -> None:
    """What a step prints reaches Messages.write."""
    run = drive(job(step(0, "a")), {"a": (b"hello\n", OK)})
    assert run.messages.text() == "hello\n"


def test_job_time_running_out_is_not_the_steps_timeout() -> None:
    """A step without timeout-minutes stopped by the job's deadline gets no step-timeout
    message; it ends as the executor says."""
    stopped = StepEnd(StepStatus.CANCELLED, None, timed_out=True, note="the job's time is up")
    run = drive(job(step(0, "a")), {"a": stopped})
    texts = [call[1] for call in run.messages.of("annotate")]
    assert not any("has timed out" in text for text in texts)
    assert run.end.status is StepStatus.FAILURE
