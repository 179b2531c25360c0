"""The runner's dirs are the job slice's while it runs, and the runner user's after.

Root of a hook job's containers is an id of the job's own slice, so the
workspace, ``HOME`` and the tool cache are handed to it at ``prepare_job`` and
given back at ``cleanup_job`` (or the sweep of an abandoned job, or the end of
a container action without a job container). These tests play
actions/runner: they read what the job wrote, then delete ``_work`` as the
runner does, and check that nothing the job planted (a link, a set-uid file,
a 0700 dir) changes what the user owns.
"""

from __future__ import annotations

import os
import shutil
import stat
from pathlib import Path

import pytest

from tests.integration.github_hook.harness import BUSYBOX, FakeRunner, state_of

pytestmark = pytest.mark.podman

PLANT = """
echo more >> old.txt && rm -r olddir && echo handed-ok
mkdir deep && echo x > deep/f && chmod 600 deep/f && chmod 700 deep
touch suid && chmod 4755 suid
ln -s {creds} link-to-creds
ln -s {creds} "$RUNNER_TEMP/link-in-temp"
mkdir -p "$RUNNER_TEMP/jobtmp/sub" && echo t > "$RUNNER_TEMP/jobtmp/sub/f"
mkdir -p "$HOME/.cache/tool" && echo h > "$HOME/.cache/tool/f"
mkdir -p /__w/_tool/node/20.0.0 && touch /__w/_tool/node/20.0.0/x64.complete
mkdir /__w/demo/build && echo b > /__w/demo/build/out
echo "OUT=from-job" >> "$GITHUB_OUTPUT"
cat /__w/secret600 2>/dev/null && echo secret-read || echo secret-denied
echo "uidmap=$(tr -s ' ' < /proc/self/uid_map | tr '\\n' ';')"
"""


def _owners(top: Path) -> dict[str, int]:
    """Every entry under ``top`` (links themselves) and its owner."""
    found = {}
    for dirpath, dirnames, filenames in os.walk(top):
        for name in dirnames + filenames:
            path = Path(dirpath) / name
            found[str(path.relative_to(top))] = path.lstat().st_uid
    return found


def _runner_with_leftovers(fake: FakeRunner) -> Path:
    """An earlier job's files in the workspace, a 0600 file of the runner's in ``_work``
    and the runner's credentials outside it; the credentials' path."""
    (fake.workspace / "old.txt").write_text("old\n")
    (fake.workspace / "olddir").mkdir()
    (fake.workspace / "olddir" / "f").write_text("f\n")
    secret = fake.work / "secret600"
    secret.write_text("runner-only\n")
    secret.chmod(0o600)
    creds = fake.root / ".credentials"
    creds.write_text("token\n")
    creds.chmod(0o600)
    return creds


def _step(fake: FakeRunner, text: str) -> dict[str, object]:
    outputs = fake.temp / "_runner_file_commands" / "set_output_1"
    outputs.write_text("")
    outputs.chmod(0o644)  # as a runner with umask 022 makes it: not writable to "other"
    step = fake.script(text, shell="sh")
    step["environmentVariables"]["GITHUB_OUTPUT"] = (  # type: ignore[index]
        "/__w/_temp/_runner_file_commands/set_output_1")
    return step


def test_job_writes_as_its_slice_and_the_runner_owns_and_deletes_everything_after(
        fake: FakeRunner) -> None:
    creds = _runner_with_leftovers(fake)
    state = state_of(fake.prepare({"container": fake.container(BUSYBOX), "services": []}))
    try:
        done = fake.call("run_script_step", _step(fake, PLANT.format(creds=creds)), state)
        assert done.code == 0, done.output
        assert "handed-ok" in done.output  # an earlier job's files are this job's now
        assert "secret-denied" in done.output  # the runner's 0600 file is not the job's
        maps = [line for line in done.output.splitlines() if line.startswith("uidmap=")]
        assert len(maps) == 1 and ";" in maps[0], done.output
        for line in filter(None, maps[0][7:].split(";")):  # podman's id 0 is the user
            _, outside, size = (int(word) for word in line.split())
            assert not outside <= 0 < outside + size, maps
        # actions/runner reads the file command, and what the job wrote, meanwhile
        outputs = fake.temp / "_runner_file_commands" / "set_output_1"
        assert outputs.read_text() == "OUT=from-job\n"
        assert outputs.stat().st_uid == os.getuid()
        assert (fake.workspace / "old.txt").stat().st_uid != os.getuid()
        assert (fake.workspace / "old.txt").read_text() == "old\nmore\n"
        outputs.unlink()  # as the runner does after each step
    finally:
        done = fake.call("cleanup_job", {}, state)
    assert done.code == 0, done.output
    owners = _owners(fake.work)
    assert {path: uid for path, uid in owners.items() if uid != os.getuid()} == {}
    assert {"demo/demo/deep/f", "demo/demo/link-to-creds", "_temp/jobtmp/sub/f", "demo/build/out",
            "_temp/_github_home/.cache/tool/f", "_tool/node/20.0.0/x64.complete"} <= set(owners)
    assert not (fake.workspace / "suid").stat().st_mode & stat.S_ISUID
    assert stat.S_IMODE(fake.temp.stat().st_mode) == 0o755  # its mode back
    assert creds.stat().st_uid == os.getuid() and creds.read_text() == "token\n"
    assert (fake.workspace / "link-to-creds").is_symlink()
    shutil.rmtree(fake.work)  # the runner cleans _work as after a Docker job


def test_an_abandoned_jobs_dirs_are_given_back_and_handed_to_the_next_job(
        fake: FakeRunner) -> None:
    first = state_of(fake.prepare({"container": fake.container(BUSYBOX), "services": []}))
    made = fake.call("run_script_step", fake.script(
        "mkdir -p built/sub && echo 1 > built/sub/f && chmod 700 built/sub\n", shell="sh"),
        first)
    assert made.code == 0, made.output
    # the runner died: no cleanup_job; its next prepare_job sweeps the job
    second = state_of(fake.prepare({"container": fake.container(BUSYBOX), "services": []}))
    fake.jobs.append(second)
    redo = fake.call("run_script_step", fake.script(
        "rm -r built && mkdir built && echo 2 > built/f && cat built/f\n", shell="sh"), second)
    assert redo.code == 0, redo.output
    assert "2" in redo.output
    done = fake.call("cleanup_job", {}, second)
    assert done.code == 0, done.output
    fake.jobs.remove(second)
    assert {p: uid for p, uid in _owners(fake.work).items() if uid != os.getuid()} == {}


def test_container_action_without_a_job_container_gives_its_dirs_back_when_it_ends(
        fake: FakeRunner) -> None:
    commands = fake.temp / "_runner_file_commands"
    (commands / "set_env_1").write_text("")
    step = {"image": BUSYBOX, "dockerfile": None, "entryPoint": "sh",
            "entryPointArgs": ["-c", '"mkdir', "-p", "out/d", "&&", "echo", "x", ">",
                               "out/d/f", "&&", "echo", "A=1", ">>", '$GITHUB_ENV"'],
            "workingDirectory": "/github/workspace", "createOptions": None, "registry": None,
            "environmentVariables": {"GITHUB_ENV": "/github/file_commands/set_env_1"},
            "portMappings": [], "systemMountVolumes": fake.step_mounts(),
            "userMountVolumes": []}
    done = fake.call("run_container_step", step, None)
    assert done.code == 0, done.output
    assert (commands / "set_env_1").read_text() == "A=1\n"
    assert (fake.workspace / "out" / "d" / "f").read_text() == "x\n"
    assert {p: uid for p, uid in _owners(fake.work).items() if uid != os.getuid()} == {}


def test_job_container_with_a_non_root_user_writes_its_workspace_and_file_commands(
        fake: FakeRunner) -> None:
    state = state_of(fake.prepare({"container": fake.container(BUSYBOX, options="--user 1000"),
                                   "services": []}))
    fake.jobs.append(state)
    step = _step(fake, 'id -u\necho w > mine.txt\necho "X=1" >> "$GITHUB_OUTPUT"\n')
    done = fake.call("run_script_step", step, state)
    assert done.code == 0, done.output
    assert done.output.startswith("1000\n")
    assert (fake.workspace / "mine.txt").read_text() == "w\n"
    assert (fake.temp / "_runner_file_commands" / "set_output_1").read_text() == "X=1\n"


def test_container_action_in_a_services_only_jobs_pod_uses_the_jobs_slice(
        fake: FakeRunner, web_image: str) -> None:
    service = fake.container(web_image, ports=[], job=False)
    state = state_of(fake.prepare({"container": None, "services": [service]}))
    fake.jobs.append(state)
    step = {"image": BUSYBOX, "dockerfile": None, "entryPoint": "sh",
            "entryPointArgs": ["-c", '"mkdir', "made", "&&", "echo", "s", ">", "made/f", "&&",
                               "wget", "-qO-", 'http://runner-hook-web/index.html"'],
            "workingDirectory": "/github/workspace", "createOptions": None, "registry": None,
            "environmentVariables": {}, "portMappings": [],
            "systemMountVolumes": fake.step_mounts(), "userMountVolumes": []}
    done = fake.call("run_container_step", step, state)
    assert done.code == 0, done.output
    assert "hello from web" in done.output  # in the job's pod
    assert (fake.workspace / "made" / "f").stat().st_uid != os.getuid()  # the slice's, for now
    assert fake.call("cleanup_job", {}, state).code == 0
    fake.jobs.remove(state)
    assert {p: uid for p, uid in _owners(fake.work).items() if uid != os.getuid()} == {}
