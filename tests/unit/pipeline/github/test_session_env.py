"""GitHub sessions: the environment, shell and working directory each step gets."""

from __future__ import annotations

from runner.pipeline.steps import RunScript, StepEnd, StepStatus

from .driver import drive, facts, job, step


def test_default_variables_as_actions_runner_sets_them() -> None:
    """Every step gets CI, GITHUB_* from the github context and RUNNER_* from runner."""
    run = drive(job(step(0)))
    env = run.env("__run")
    assert env["CI"] == "true"
    assert env["GITHUB_ACTIONS"] == "true"
    assert env["GITHUB_SHA"] == "abc123"
    assert env["GITHUB_REF_NAME"] == "main"
    assert env["GITHUB_REPOSITORY"] == "acme/app"
    assert env["GITHUB_RUN_NUMBER"] == "7"
    assert env["GITHUB_RUN_ID"] == "42"
    assert env["GITHUB_RUN_ATTEMPT"] == "1"
    assert env["GITHUB_JOB"] == "build"
    assert env["GITHUB_ACTION"] == "__run"
    assert env["GITHUB_WORKSPACE"] == "/w/app"
    assert env["GITHUB_EVENT_PATH"] == "/w/_temp/event.json"
    assert env["RUNNER_OS"] == "Linux"
    assert env["RUNNER_TEMP"] == "/w/_temp"
    for owned in ("GITHUB_ENV", "GITHUB_OUTPUT", "GITHUB_PATH", "GITHUB_STATE"):
        assert owned not in env


def test_event_payload_is_a_setup_file() -> None:
    """The event payload is written where GITHUB_EVENT_PATH points."""
    run = drive(job(step(0)))
    assert b'"message": "hi"' in run.setup["event.json"]


def test_env_layers_job_then_github_env_then_step_and_defaults_win() -> None:
    """Job env, then GITHUB_ENV additions, then step env; GITHUB_* cannot be overridden."""
    spec = job(
        step(0, "first", env=(("GITHUB_SHA", "fake"),)),
        step(1, "second", env=(("B", "step"),), run="echo ${{ env.A }} ${{ env.B }}"),
        env=(("A", "job"), ("B", "job"), ("C", "${{ github.ref_name }}")),
    )
    written = StepEnd(StepStatus.SUCCESS, 0, files={"GITHUB_ENV": b"A=from-file\nB=file\n"})
    run = drive(spec, {"first": written})
    assert run.env("first")["GITHUB_SHA"] == "abc123"
    second = run.env("second")
    assert (second["A"], second["B"], second["C"]) == ("from-file", "step", "main")
    action = run.plan("second").action
    assert isinstance(action, RunScript)
    assert action.script == "echo from-file step"


def test_github_path_prepends_for_later_steps() -> None:
    """GITHUB_PATH lines reach later steps' plans, last added first."""
    written = StepEnd(StepStatus.SUCCESS, 0, files={"GITHUB_PATH": b"/opt/a\n/opt/b\n"})
    run = drive(job(step(0, "a"), step(1, "b")), {"a": written})
    assert run.plan("a").path == ()
    assert run.plan("b").path == ("/opt/b", "/opt/a")


def test_shell_and_working_directory_from_defaults_and_step() -> None:
    """defaults.run gives shell and working-directory; a step's own wins; relative joins."""
    spec = job(
        step(0, "a"),
        step(1, "b", shell="python", working_directory="/abs"),
        defaults_shell="bash",
        defaults_working_directory="sub/${{ github.ref_name }}",
    )
    run = drive(spec)
    a, b = run.plan("a"), run.plan("b")
    assert isinstance(a.action, RunScript)
    assert a.action.shell[0] == "bash"
    assert "pipefail" in a.action.shell
    assert a.workdir == "/w/app/sub/main"
    assert isinstance(b.action, RunScript)
    assert b.action.shell == ("python", "{0}")
    assert b.action.fallback == ("python3", "{0}")
    assert b.workdir == "/abs"


def test_secrets_and_matrix_reach_templates() -> None:
    """``secrets``, ``matrix``, ``vars`` and ``inputs`` are contexts of step templates."""
    spec = job(
        step(0, "a", run="${{ matrix.py }} ${{ vars.V }} ${{ inputs.i }}",
             env=(("TOKEN", "${{ secrets.TOKEN }}"),)),
        matrix={"py": "3.12"},
        vars={"V": "v1"},
        inputs={"i": True},
    )
    run = drive(spec, job_facts=facts(secrets={"TOKEN": "s3"}))
    action = run.plan("a").action
    assert isinstance(action, RunScript)
    assert action.script == "3.12 v1 true"
    assert run.env("a")["TOKEN"] == "s3"


def test_name_is_evaluated_and_default_names_follow_github() -> None:
    """A templated name is evaluated; unnamed steps show ``Run <first line>``."""
    spec = job(
        step(0, "a", name="Build ${{ github.ref_name }}"),
        step(1, run="\n  make all \nx"),
        step(2, run="echo ${{ github.sha }}"),
        step(3, "d", name="${{ fromJSON('{') }}"),
    )
    run = drive(spec)
    assert run.plan("a").name == "Build main"
    assert run.plan("__run_2").name == "Run make all "
    assert run.plan("__run_3").name == "Run echo abc123"
    assert run.plan("d").name == "${{ fromJSON('{') }}"


def test_timeout_minutes_becomes_seconds() -> None:
    """timeout-minutes (literal or expression) becomes the plan's timeout in seconds."""
    spec = job(step(0, "a", timeout_minutes="${{ matrix.t }}"), step(1, "b"), matrix={"t": 2})
    run = drive(spec)
    assert run.plan("a").timeout_s == 120
    assert run.plan("b").timeout_s is None


def test_step_debug_turns_on_command_echo_and_runner_debug() -> None:
    """ACTIONS_STEP_DEBUG=true (secret or variable) echoes commands and sets runner.debug."""
    spec = job(step(0, "a", run="${{ runner.debug }}"), vars={"ACTIONS_STEP_DEBUG": "true"})
    run = drive(spec, {"a": (b"::group::g\n", StepEnd(StepStatus.SUCCESS, 0))})
    action = run.plan("a").action
    assert isinstance(action, RunScript)
    assert action.script == "1"
    assert run.env("a")["RUNNER_DEBUG"] == "1"
    assert run.messages.calls[1:3] == [("write", "::group::g\n"), ("group", "g")]
    quiet = drive(job(step(0, "a", run="${{ runner.debug }}")))
    assert "RUNNER_DEBUG" not in quiet.env("a")


def test_names_a_shell_cannot_export_are_warned_about_once() -> None:
    """GITHUB_ENV and env names like ``A-B`` are kept in ``env`` but warned about once."""
    written = StepEnd(StepStatus.SUCCESS, 0, files={"GITHUB_ENV": b"MY-VAR=1\nOK=2\n"})
    spec = job(step(0, "a"), step(1, "b", run="${{ env['MY-VAR'] }}"), step(2, "c"),
               env=(("job.name", "x"),))
    run = drive(spec, {"a": written, "c": written})
    warnings = [call[1] for call in run.messages.of("annotate") if call[0] == "warning"]
    assert len(warnings) == 2
    assert warnings[0].startswith("'job.name' from env is not a shell variable name")
    assert warnings[1].startswith("'MY-VAR' from GITHUB_ENV")
    action = run.plan("b").action
    assert isinstance(action, RunScript)
    assert action.script == "1"
