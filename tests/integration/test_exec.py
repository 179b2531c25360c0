"""`runner exec` end to end: real podman, real containers, as the unprivileged user."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import time

import pytest

from tests.integration.harness import Project, podman_leftovers, said, wait_for_line

pytestmark = pytest.mark.podman

IMAGE = "localhost/busybox:latest"


def _result(project: Project) -> dict[str, dict[str, object]]:
    doc = json.loads((project.state / "result.json").read_text())
    return {job["name"]: job for job in doc["jobs"]}


def test_passing_job_and_workspace_is_a_copy(project: Project) -> None:
    """A job sees tracked and untracked-but-not-ignored files, and cannot change the checkout."""
    project.write(f"""
        version: 1
        jobs:
          look:
            image: {IMAGE}
            script:
              - cat tracked.txt untracked.txt
              - test ! -e ignored.txt && echo no-ignored
              - echo changed > tracked.txt && rm untracked.txt && touch new.txt
              - pwd
        """, **{"tracked.txt": "T\n", "untracked.txt": "U\n", "ignored.txt": "I\n"})
    subprocess.run(["git", "-C", str(project.root), "add", "tracked.txt"], check=True)
    run = project.run()
    assert run.code == 0, run.err
    assert re.search(r"look\s*\| T\nlook\s*\| U\n", run.out)
    assert said(run.out, "look", "no-ignored")
    assert said(run.out, "look", f"/builds/{project.root.name}")
    assert (project.root / "tracked.txt").read_text() == "T\n"
    assert (project.root / "untracked.txt").exists()
    assert not (project.root / "new.txt").exists()
    assert re.search(r"look\s+success", run.out)


def test_failing_job_stops_at_first_failing_line(project: Project) -> None:
    """The first failing line ends the job; dependents skip, on_failure jobs run, exit is 1."""
    project.write(f"""
        version: 1
        image: {IMAGE}
        jobs:
          broken:
            script: ["echo one", "sh -c 'exit 7'", "echo never-printed"]
          after:
            needs: [broken]
            script: ["echo should-not-run"]
          tolerated:
            allow_failure: true
            script: ["false"]
          report:
            when: on_failure
            script: ["echo reporting-failure"]
        """)
    run = project.run()
    assert run.code == 1
    assert said(run.out, "broken", "one")
    assert "never-printed" not in run.out
    assert "should-not-run" not in run.out
    assert said(run.out, "report", "reporting-failure")
    result = _result(project)
    assert result["broken"]["status"] == "failed"
    assert result["broken"]["exit_code"] == 7
    assert result["after"]["status"] == "skipped"
    assert result["tolerated"]["status"] == "failed"
    assert result["tolerated"]["passed"] is True
    assert result["report"]["status"] == "success"
    assert "Traceback" not in run.err


def test_allowed_failure_alone_exits_zero(project: Project) -> None:
    """A pipeline whose only failure is allowed succeeds, and the summary says so."""
    project.write(f"""
        version: 1
        jobs:
          flaky: {{image: {IMAGE}, allow_failure: true, script: ["exit 1"]}}
        """)
    run = project.run()
    assert run.code == 0
    assert re.search(r"flaky\s+failed \(allowed\)", run.out)


def test_needs_order_parallelism_and_artifacts(project: Project) -> None:
    """Independent jobs overlap, the dependent starts after both and gets their artifacts."""
    project.write(f"""
        version: 1
        image: {IMAGE}
        jobs:
          a:
            script: ["echo a-start", "sleep 2", "mkdir out && echo from-a > out/a.txt",
                     "echo a-end"]
            artifacts: {{paths: [out/]}}
          b:
            script: ["echo b-start", "sleep 2", "echo from-b > b.txt", "echo b-end"]
            artifacts: {{paths: [b.txt]}}
          c:
            needs: [a, b]
            script: ["echo c-start", "cat out/a.txt b.txt"]
        """)
    run = project.run("-j", "2")
    assert run.code == 0, run.out + run.err
    lines = run.out.splitlines()

    def at(text: str) -> int:
        return next(i for i, line in enumerate(lines) if line.endswith(f"| {text}"))


    assert at("b-start") < at("a-end") and at("a-start") < at("b-end")
    assert at("c-start") > max(at("a-end"), at("b-end"))
    assert at("from-a") > at("c-start") and at("from-b") > at("from-a")
    assert (project.state / "artifacts" / "a" / "out" / "a.txt").read_text() == "from-a\n"
    assert (project.state / "artifacts" / "b" / "b.txt").read_text() == "from-b\n"


def test_cache_reused_on_second_run(project: Project) -> None:
    """A cache saved by one run is restored in the next."""
    project.write(f"""
        version: 1
        jobs:
          count:
            image: {IMAGE}
            cache: {{key: counter, paths: [.count/]}}
            script: ["mkdir -p .count && echo x >> .count/n", "echo runs=$(wc -l < .count/n)"]
        """)
    assert said(project.run().out, "count", "runs=1")
    second = project.run()
    assert second.code == 0
    assert said(second.out, "count", "runs=2")


def test_retry_runs_a_fresh_attempt(project: Project) -> None:
    """retry reruns a failed job in a fresh container and workspace."""
    project.write(f"""
        version: 1
        jobs:
          again:
            image: {IMAGE}
            retry: 1
            script: ["test ! -e marker", "touch marker", "exit 3"]
        """)
    run = project.run()
    assert run.code == 1
    result = _result(project)["again"]
    assert result["attempts"] == 2
    assert result["exit_code"] == 3
    assert "retrying (1/1)" in run.out


def test_job_timeout_kills_and_runs_after_script(project: Project) -> None:
    """A job over its timeout is stopped, reported as timed out, and after_script still runs."""
    project.write(f"""
        version: 1
        jobs:
          slow:
            image: {IMAGE}
            timeout: 2s
            script: ["echo going-to-sleep", "sleep 120", "echo woke"]
            after_script: ["echo cleaning-up"]
        """)
    run = project.run(timeout=90)
    assert run.code == 1
    assert "woke" not in run.out
    assert said(run.out, "slow", "cleaning-up")
    assert _result(project)["slow"]["status"] == "timed out"
    assert "job timed out after 2s" in project.log("slow")


def test_ctrl_c_runs_after_script_then_stops(project: Project) -> None:
    """One Ctrl-C stops the script, runs after_script, skips pending jobs, exits 130."""
    project.write(f"""
        version: 1
        image: {IMAGE}
        jobs:
          long:
            script: ["echo sleeping-now", "sleep 120"]
            after_script: ["echo after-ran"]
          later:
            needs: [long]
            script: ["echo never"]
        """)
    with project.start() as proc:
        wait_for_line(proc, "sleeping-now")
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=60)
    assert proc.returncode == 130, err
    assert said(out, "long", "after-ran")
    assert "never" not in out
    assert "Ctrl-C again" in err
    result = _result(project)
    assert result["long"]["status"] == "canceled"
    assert result["later"]["status"] == "canceled"


def test_second_ctrl_c_stops_at_once(project: Project) -> None:
    """A second Ctrl-C during a hanging after_script kills everything right away."""
    project.write(f"""
        version: 1
        jobs:
          stubborn:
            image: {IMAGE}
            script: ["echo sleeping-now", "sleep 120"]
            after_script: ["echo after-started", "trap '' TERM; sleep 120"]
        """)
    with project.start() as proc:
        wait_for_line(proc, "sleeping-now")
        proc.send_signal(signal.SIGINT)
        wait_for_line(proc, "after-started")
        proc.send_signal(signal.SIGINT)
        _out, err = proc.communicate(timeout=30)
    assert proc.returncode == 130
    assert "stopping now" in err


def test_masked_secret_never_printed_or_logged(project: Project) -> None:
    """A secret's value is replaced in the terminal output and in every log file."""
    value = "hunter2-very-secret"
    project.write(f"""
        version: 1
        secrets:
          TOKEN: {{env: MY_TOKEN}}
          KEY: {{file: key.txt}}
        jobs:
          leak:
            image: {IMAGE}
            secrets: [TOKEN, KEY]
            script:
              - echo "token=$TOKEN"
              - printf '%s' "$TOKEN" | cut -c1-7; printf '%s\\n' "$TOKEN"
              - echo "key=$KEY" >&2
          other:
            image: {IMAGE}
            script: ["echo token-visible=${{TOKEN:-unset}}"]
        """, **{"key.txt": "file-secret-abcdef\n"})
    run = project.run(MY_TOKEN=value)
    assert run.code == 0, run.err
    assert said(run.out, "leak", "token=[MASKED]")
    assert said(run.out, "leak", "key=[MASKED]")
    assert said(run.out, "other", "token-visible=unset")
    for text in [run.out, run.err, *(p.read_text() for p in (project.state / "latest").iterdir())]:
        assert value not in text
        assert "file-secret-abcdef" not in text


def test_missing_secret_is_a_clear_error(project: Project) -> None:
    """A secret whose variable is unset stops the run before anything starts, exit 2."""
    project.write(f"""
        version: 1
        secrets:
          TOKEN: {{env: NOT_SET_ANYWHERE}}
        jobs:
          j: {{image: {IMAGE}, script: ["true"], secrets: [TOKEN]}}
        """)
    run = project.run()
    assert run.code == 2
    assert "NOT_SET_ANYWHERE" in run.err
    assert "Traceback" not in run.err


def test_concurrent_jobs_get_disjoint_uid_slices(project: Project) -> None:
    """Two running jobs get disjoint uid ranges; one's root cannot read the other's files."""
    project.write(f"""
        version: 1
        image: {IMAGE}
        jobs:
          a:
            script: ["umask 077; echo a-private > private.txt", "cat /proc/self/uid_map",
                     "echo a-ready", "sleep 6"]
          b:
            script: ["cat /proc/self/uid_map", "ls /builds", "echo b-ready", "sleep 6"]
        """)
    with project.start("-j", "2") as proc:
        _check_slices(project, proc)
    assert proc.returncode == 0


def _check_slices(project: Project, proc: subprocess.Popen[str]) -> None:
    lines = wait_for_line(proc, "a-ready")
    lines += wait_for_line(proc, "b-ready") if not any("b-ready" in x for x in lines) else []
    maps = {}
    for line in lines:
        match = re.match(r"(\w) \| \s*0\s+(\d+)\s+(\d+)$", line.rstrip())
        if match:
            maps[match[1]] = (int(match[2]), int(match[3]))
    (a_base, a_size), (b_base, b_size) = maps["a"], maps["b"]
    assert a_base + a_size <= b_base or b_base + b_size <= a_base
    private = next(project.state.glob("work/*/a.1/ws/private.txt"))

    def read_as(uid: int) -> int:
        return subprocess.run(
            ["podman", "unshare", "setpriv", f"--reuid={uid}", f"--regid={uid}",
             "--clear-groups", "cat", str(private)],
            capture_output=True, timeout=60, check=False,
        ).returncode

    owner = subprocess.run(["podman", "unshare", "stat", "-c", "%u", str(private)],
                           capture_output=True, text=True, timeout=60, check=True)
    assert int(owner.stdout) == a_base
    assert read_as(0) == 0  # the probe itself works: the namespace's root reads it
    assert read_as(b_base) != 0
    assert said("".join(lines), "b", project.root.name)
    proc.communicate(timeout=60)


def test_bad_yaml_and_unknown_key(project: Project) -> None:
    """Broken YAML and a typo'd key give one clear paragraph with file and line, exit 2."""
    project.write("version: 1\njobs:\n  j:\n    script: [unclosed\n")
    run = project.run()
    assert run.code == 2
    assert "pipeline.yml:" in run.err
    assert "Traceback" not in run.err
    project.write(f"version: 1\njobs:\n  j:\n    image: {IMAGE}\n    scirpt: [true]\n")
    run = project.run()
    assert run.code == 2
    assert "pipeline.yml:5" in run.err
    assert "did you mean 'script'" in run.err


def test_missing_image_fails_the_job_clearly(project: Project) -> None:
    """A local image that is not there fails the job at once, saying how to make it (never a
    pull: there is no registry for ``localhost/``)."""
    project.write("""
        version: 1
        jobs:
          j: {image: "localhost/does-not-exist:1", script: ["true"]}
        """)
    run = project.run()
    assert run.code == 1
    assert "does-not-exist" in run.out
    assert "not found in your store; build or pull it" in run.out


def test_broken_host_stops_exec_with_exit_3(project: Project, tmp_path) -> None:
    """A host problem found by the quick checks stops exec before any job, with the fix, exit 3."""
    project.write(f"""
        version: 1
        jobs:
          j: {{image: {IMAGE}, script: ["echo should-not-run"]}}
        """)
    loose = tmp_path / "runtime"
    loose.mkdir(mode=0o755)
    loose.chmod(0o755)
    run = project.run(XDG_RUNTIME_DIR=str(loose))
    assert run.code == 3
    assert "should-not-run" not in run.out
    assert f"chmod 0700 {loose}" in run.err
    assert "Traceback" not in run.err


def test_next_run_sweeps_scratch_of_a_crashed_run(project: Project) -> None:
    """A SIGKILLed run's slice-owned scratch dir is removed by the next run."""
    project.write(f"""
        version: 1
        jobs:
          nap: {{image: {IMAGE}, script: ["echo napping", "sleep 2"]}}
        """)
    with project.start() as proc:
        wait_for_line(proc, "napping")
        proc.kill()
        proc.communicate(timeout=30)
    work = project.state / "work"
    crashed = [entry for entry in work.iterdir() if entry.is_dir()]
    assert len(crashed) == 1
    with pytest.raises(PermissionError):  # what the user would face without the sweep
        (crashed[0] / "nap.1" / "ws" / "pipeline.yml").unlink()
    deadline = time.monotonic() + 60  # the orphaned container ends with its script
    while podman_leftovers() and time.monotonic() < deadline:
        time.sleep(0.2)
    run = project.run()
    assert run.code == 0
    assert f"removed scratch files left by crashed run {crashed[0].name}" in run.err
    assert not crashed[0].exists()


def test_forged_frames_cannot_make_us_copy_host_files(project: Project, tmp_path) -> None:
    """A job that forges its exit frame and swaps a dir for a symlink gets a link, not host data."""
    secret_dir = tmp_path / "host-only"
    secret_dir.mkdir()
    (secret_dir / "id_rsa").write_text("TOP-SECRET-HOST-FILE\n")
    forge = ("n=$(tr '\\000' '\\n' </proc/1/cmdline | sed -n 's/^n=//p'); "
             "mkdir -p y/b z && echo ok > y/b/f; "
             f"(sleep 1; rm -rf y; ln -s {secret_dir} y; echo late > z/late) & "
             "printf '\\036%s rc 0\\n' \"$n\"; sleep 3")
    project.write(f"""
        version: 1
        jobs:
          evil:
            image: {IMAGE}
            script: [{json.dumps(forge)}]
            artifacts: {{paths: [y, z]}}
        """)
    run = project.run(timeout=120)
    assert "Traceback" not in run.err
    kept = project.state / "artifacts" / "evil"
    for path in kept.rglob("*"):
        if path.is_file() and not path.is_symlink():
            assert "TOP-SECRET" not in path.read_text()
    assert (kept / "y").is_symlink()  # copied as the link it became, never followed
    # Written after the forged frame: collection waited for the container to be gone.
    assert (kept / "z" / "late").read_text() == "late\n"


def test_sparse_artifact_stays_sparse(project: Project) -> None:
    """A huge sparse file in a job's artifacts costs no disk on the host."""
    project.write(f"""
        version: 1
        jobs:
          holes:
            image: {IMAGE}
            script: ["truncate -s 2G huge", "echo data > small"]
            artifacts: {{paths: [huge, small]}}
        """)
    run = project.run()
    assert run.code == 0, run.out + run.err
    huge = (project.state / "artifacts" / "holes" / "huge").stat()
    assert huge.st_size == 2 << 30
    assert huge.st_blocks * 512 < 1 << 20
    assert (project.state / "artifacts" / "holes" / "small").read_text() == "data\n"


def test_colon_in_state_dir_is_a_clear_error(project: Project, tmp_path) -> None:
    """podman cannot mount a path with ':'; the user is told before anything starts."""
    project.write(f"version: 1\njobs:\n  j: {{image: {IMAGE}, script: ['true']}}\n")
    run = project.run("--state-dir", str(tmp_path / "a:b"))
    assert run.code == 2
    assert "has a ':' in its path" in run.err
    assert "Traceback" not in run.err


def test_non_utf8_file_name_is_copied(project: Project) -> None:
    """A file name that is not UTF-8 reaches the job's workspace intact."""
    project.write(f"""
        version: 1
        jobs:
          names:
            image: {IMAGE}
            script: ["test -e \\"$(printf 'bad\\\\377name')\\""]
        """)
    (project.root / os.fsdecode(b"bad\xffname")).write_text("x")
    run = project.run()
    assert run.code == 0, run.out + run.err


def test_ctrl_c_while_waiting_for_a_slot_starts_nothing(project: Project) -> None:
    """A job still waiting for a concurrency slot when Ctrl-C comes never runs a line."""
    project.write(f"""
        version: 1
        image: {IMAGE}
        jobs:
          first: {{script: ["echo first-running", "sleep 60"]}}
          second: {{script: ["echo SECOND-STARTED"]}}
        """)
    with project.start("-j", "1") as proc:
        wait_for_line(proc, "first-running")
        proc.send_signal(signal.SIGINT)
        out, _err = proc.communicate(timeout=60)
    assert proc.returncode == 130
    assert "SECOND-STARTED" not in out
    assert _result(project)["second"]["status"] == "canceled"
