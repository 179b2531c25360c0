"""The shell text we run in containers."""

from __future__ import annotations

import subprocess

import pytest

from runner.engine.boot import job_script, step_wrapper, supervisor_script


def test_job_script_exact() -> None:
    """Exports first (quoted), then each line echoed before it runs."""
    got = job_script(["echo 'a b'", "cd sub"], workdir="/builds/p",
                     env=[("A", "x y"), ("B", "$HOME")], color=False)
    assert got == (
        "set -e\n"
        "(set -o pipefail) 2>/dev/null && set -o pipefail\n"
        "cd /builds/p\n"
        "export A='x y'\n"
        "export B='$HOME'\n"
        "printf '%s\\n' '$ echo '\"'\"'a b'\"'\"''\n"
        "echo 'a b'\n"
        "printf '%s\\n' '$ cd sub'\n"
        "cd sub\n"
    )


def test_job_script_semantics_in_a_real_shell(tmp_path) -> None:
    """In sh: cd and export carry over, and the first failing line ends the script."""
    (tmp_path / "sub").mkdir()
    script = job_script(["cd sub", "export X=1", "echo \"in $(basename $(pwd)) X=$X\"",
                         "false", "echo unreachable"],
                        workdir=str(tmp_path), env=[("SECRET", "it's")], color=False)
    proc = subprocess.run(["sh", "-c", script], capture_output=True, text=True, check=False)
    assert proc.returncode == 1
    assert proc.stdout.splitlines() == ["$ cd sub", "$ export X=1",
                                        "$ echo \"in $(basename $(pwd)) X=$X\"", "in sub X=1",
                                        "$ false"]


def test_job_script_color_wraps_echo() -> None:
    """With colour the echoed line is green and bold."""
    assert "\x1b[32;1m$ ls\x1b[0m" in job_script(["ls"], workdir="/", env=[], color=True)


def test_supervisor_rejects_odd_nonce() -> None:
    """The nonce is spliced into shell text, so only alphanumerics are accepted."""
    with pytest.raises(ValueError, match="alphanumeric"):
        supervisor_script("a;b")
    assert "n=ab12\n" in supervisor_script("ab12")


def test_supervisor_is_valid_sh() -> None:
    """The supervisor parses under sh -n."""
    proc = subprocess.run(["sh", "-n", "-c", supervisor_script("ab12")], check=False)
    assert proc.returncode == 0


def test_job_script_records_each_step_before_it_runs(tmp_path) -> None:
    """With a step file, the number of the line about to run is written there first, so
    whoever reads it after a failure knows which line failed (1-based)."""
    step = tmp_path / "script.sh.step"
    script = job_script(["echo one", "false", "echo never"], workdir=str(tmp_path), env=[],
                        color=False, step_file=str(step))
    proc = subprocess.run(["sh", "-c", script], capture_output=True, text=True, check=False)
    assert proc.returncode == 1
    assert step.read_text() == "2\n"
    assert proc.stdout == "$ echo one\none\n$ false\n"


def test_job_script_step_file_that_cannot_be_written_does_not_fail_the_job(tmp_path) -> None:
    """The record is a courtesy: a job that made it unwritable still runs every line."""
    script = job_script(["echo ok"], workdir=str(tmp_path), env=[], color=False,
                        step_file=str(tmp_path / "missing-dir" / "step"))
    proc = subprocess.run(["sh", "-c", script], capture_output=True, text=True, check=False)
    assert (proc.returncode, proc.stdout, proc.stderr) == (0, "$ echo ok\nok\n", "")


def test_supervisor_reports_the_step_with_the_exit_status(tmp_path) -> None:
    """The supervisor's rc frame carries the step the script file recorded next to it."""
    script = tmp_path / "s.sh"
    script.write_text(job_script(["true", "exit 4"], workdir=str(tmp_path), env=[], color=False,
                                 step_file=f"{script}.step"))
    # Never outside a PID namespace of its own: the supervisor ends with `kill -KILL -1`,
    # which would kill every process of the user.
    argv = ["unshare", "--user", "--map-root-user", "--pid", "--fork", "--mount-proc",
            "sh", "-c", supervisor_script("ab12")]
    proc = subprocess.run(argv, input=f"{script}\nexit\n",
                          capture_output=True, text=True, check=False, timeout=30)
    assert "\x1eab12 rc 4 2\n" in proc.stdout


def test_step_wrapper_whole_text() -> None:
    """One step: cd, exports (never argv), PATH before the image's, shell with fallback."""
    text = step_wrapper(shell=("bash", "-e", "{0}"), fallback=("sh", "-e", "{0}"),
                        body="/.runner/s1/script.sh", workdir="/builds/p/sub dir",
                        env=[("A", "x y"), ("HOME", "/github/home"), ("bad-name", "v")],
                        path=("/opt/a", "/opt/b"))
    assert text == (
        "cd -- '/builds/p/sub dir' 2>/dev/null || { printf '%s\\n' "
        "'runner: working directory /builds/p/sub dir does not exist' >&2; exit 1; }\n"
        "export A='x y'\n"
        "export HOME=/github/home\n"
        "export PATH=/opt/a:/opt/b:\"$PATH\"\n"
        'mkdir -p -- "$HOME" 2>/dev/null || :\n'
        "if command -v bash >/dev/null 2>&1; then\n"
        "  exec bash -e /.runner/s1/script.sh\n"
        "fi\n"
        "exec sh -e /.runner/s1/script.sh\n"
    )
