"""How a hook job's mounts are shared with its slice: pure sorting and path mapping."""

from __future__ import annotations

import os
import stat
from pathlib import Path

from runner.engine.hookargv import Bind
from runner.ghhook import workdirs

RUNNER = "/home/gh/actions-runner"
JOB_BINDS = (
    Bind(f"{RUNNER}/_work", "/__w"), Bind(f"{RUNNER}/externals", "/__e", True),
    Bind(f"{RUNNER}/_work/_temp", "/__w/_temp"),
    Bind(f"{RUNNER}/_work/_actions", "/__w/_actions"),
    Bind(f"{RUNNER}/_work/_tool", "/__w/_tool"),
    Bind(f"{RUNNER}/_work/_temp/_github_home", "/github/home"),
    Bind(f"{RUNNER}/_work/_temp/_github_workflow", "/github/workflow"),
)
STEP_BINDS = (
    Bind(f"{RUNNER}/_work/_temp", "/github/runner_temp"),
    Bind(f"{RUNNER}/_work/_temp/_github_home", "/github/home"),
    Bind(f"{RUNNER}/_work/_temp/_github_workflow", "/github/workflow"),
    Bind(f"{RUNNER}/_work/_temp/_runner_file_commands", "/github/file_commands"),
    Bind(f"{RUNNER}/_work/demo/demo", "/github/workspace"),
)


def test_job_container_hands_workspace_home_and_tools_and_shares_temp() -> None:
    dirs = workdirs.plan(JOB_BINDS, "/__w/demo/demo")
    assert dirs.handed == (f"{RUNNER}/_work/_tool", f"{RUNNER}/_work/_temp/_github_home",
                           f"{RUNNER}/_work/demo")  # runner.workspace, github.workspace in it
    assert workdirs.plan(JOB_BINDS, "/__w/demo/demo/sub").handed[-1] == f"{RUNNER}/_work/demo"
    assert dirs.shared == (f"{RUNNER}/_work/_temp",)


def test_container_step_hands_its_workspace_and_home_never_the_file_commands() -> None:
    dirs = workdirs.plan(STEP_BINDS)
    assert dirs.handed == (f"{RUNNER}/_work/_temp/_github_home", f"{RUNNER}/_work/demo/demo")
    assert dirs.shared == (f"{RUNNER}/_work/_temp",)


def test_work_dir_that_is_all_of_work_or_another_mount_is_not_handed() -> None:
    for workdir in ("/__w", "/__w/_temp/x", "/__w/_actions/a", "/github/home", "/opt/x",
                    "/__w/_PipelineMapping/o/r", "/__w/../etc"):
        assert f"{RUNNER}/_work" not in workdirs.plan(JOB_BINDS, workdir).handed
        assert len(workdirs.plan(JOB_BINDS, workdir).handed) == 2, workdir


def test_host_path_takes_the_longest_mount_and_refuses_dot_dot() -> None:
    mounts = workdirs.plan(JOB_BINDS).mounts
    assert workdirs.host_path(mounts, "/__w/_temp/a.sh") == Path(f"{RUNNER}/_work/_temp/a.sh")
    assert workdirs.host_path(mounts, "/__w/demo/demo") == Path(f"{RUNNER}/_work/demo/demo")
    assert workdirs.host_path(mounts, "/__w") == Path(f"{RUNNER}/_work")
    assert workdirs.host_path(mounts, "/__wx/a") is None
    assert workdirs.host_path(mounts, "/__w/_temp/../../etc") is None
    assert workdirs.host_path(mounts, "relative") is None


def _job(tmp_path: Path) -> tuple[Path, Path]:
    """A job dir whose record shares ``temp`` (as ``hand_over`` leaves it); both paths."""
    temp = tmp_path / "_temp"
    (temp / "_runner_file_commands").mkdir(parents=True)
    job = tmp_path / "job"
    job.mkdir()
    workdirs._record(job, workdirs.plan((Bind(str(temp), "/__w/_temp"),)), 65537)
    return job, temp


def test_step_files_are_opened_to_other_by_mode_and_links_are_left(tmp_path: Path) -> None:
    job, temp = _job(tmp_path)
    script = temp / "s.sh"
    script.write_text("true\n")
    script.chmod(0o600)
    env_file = temp / "_runner_file_commands" / "set_env_1"
    env_file.write_text("")
    env_file.chmod(0o644)
    outside = tmp_path / "outside"
    outside.write_text("")
    outside.chmod(0o600)
    (temp / "_runner_file_commands" / "set_output_1").symlink_to(outside)
    workdirs.open_step_files(job, [
        ("GITHUB_ENV", "/__w/_temp/_runner_file_commands/set_env_1"),
        ("GITHUB_OUTPUT", "/__w/_temp/_runner_file_commands/set_output_1"),
        ("NOT_A_COMMAND", "/__w/_temp/s.sh")], ["-e", "/__w/_temp/s.sh"])
    assert stat.S_IMODE(script.stat().st_mode) == 0o644
    assert stat.S_IMODE(env_file.stat().st_mode) == 0o666
    assert stat.S_IMODE(outside.stat().st_mode) == 0o600  # a link is never followed


def test_files_outside_shared_dirs_are_left_alone(tmp_path: Path) -> None:
    job, _ = _job(tmp_path)
    elsewhere = tmp_path / "elsewhere.sh"
    elsewhere.write_text("")
    elsewhere.chmod(0o600)
    workdirs.open_step_files(job, [("GITHUB_ENV", str(elsewhere))], [str(elsewhere)])
    assert stat.S_IMODE(elsewhere.stat().st_mode) == 0o600


def test_record_keeps_every_call_and_the_shared_dirs_first_modes(tmp_path: Path) -> None:
    job, temp = _job(tmp_path)
    os.chmod(temp, 0o1777)  # as hand_over leaves it: the recorded mode stays the first one
    workdirs._record(job, workdirs.plan(STEP_BINDS), 65537)
    doc = workdirs.load(job)
    assert doc["uid"] == 65537 and workdirs.slice_root(job) == 65537
    assert doc["shared"] == [str(temp), f"{RUNNER}/_work/_temp"]
    assert doc["handed"] == [f"{RUNNER}/_work/_temp/_github_home", f"{RUNNER}/_work/demo/demo"]
    assert isinstance(doc["modes"], dict) and doc["modes"][str(temp)] == 0o755
