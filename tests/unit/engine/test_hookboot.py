"""The hook supervisor's step scripts, run by a real ``sh`` (no container needed)."""

from __future__ import annotations

import subprocess
from pathlib import Path

from runner.engine.hookboot import HOOK_SUPERVISOR, split_args, step_script


def _run(script: str, tmp_path: Path) -> subprocess.CompletedProcess[str]:
    path = tmp_path / "step.sh"
    path.write_text(script)
    return subprocess.run(["/bin/sh", str(path)], capture_output=True, text=True, timeout=30,
                          check=False, env={"PATH": "/usr/bin:/bin"})


def test_step_script_cds_exports_prepends_path_and_execs(tmp_path: Path) -> None:
    script = step_script("sh", ["-c", 'echo "$PWD|$A|$PATH"'],
                         [("A", "it's\n$(two)"), ("PATH", "ignored")],
                         ["/opt/x/bin", "/opt/y bin"], str(tmp_path))
    done = _run(script, tmp_path)
    assert done.returncode == 0, done.stderr
    assert done.stdout == f"{tmp_path}|it's\n$(two)|/opt/x/bin:/opt/y bin:/usr/bin:/bin\n"


def test_a_name_the_shell_cannot_export_reaches_the_entry_point(tmp_path: Path) -> None:
    done = _run(step_script("env", [], [("INPUT_MY-KEY", "dashed"), ("A", "1")], [], "/"),
                tmp_path)
    assert done.returncode == 0, done.stderr
    assert "INPUT_MY-KEY=dashed\n" in done.stdout and "A=1\n" in done.stdout


def test_step_script_fails_on_a_missing_working_directory(tmp_path: Path) -> None:
    done = _run(step_script("true", [], [], [], str(tmp_path / "nowhere")), tmp_path)
    assert done.returncode != 0


def test_step_exit_status_is_the_entry_points(tmp_path: Path) -> None:
    assert _run(step_script("sh", ["-c", "exit 9"], [], [], "/"), tmp_path).returncode == 9


def test_entry_point_args_resplit_as_the_docker_hook_does() -> None:
    assert split_args(['"/__w/_actions/o/r/v', '1/dist/index.js"']) == [
        "/__w/_actions/o/r/v 1/dist/index.js"]
    assert split_args(["--noprofile", "--norc", "-e", "-o", "pipefail", "/__w/_temp/x.sh"]) == [
        "--noprofile", "--norc", "-e", "-o", "pipefail", "/__w/_temp/x.sh"]
    assert split_args(['"unbalanced']) == ['"unbalanced']


def test_supervisor_is_posix_sh() -> None:
    done = subprocess.run(["/bin/sh", "-n", "-c", HOOK_SUPERVISOR], capture_output=True,
                          timeout=30, check=False)
    assert done.returncode == 0
