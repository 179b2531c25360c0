"""The executor runs stepped jobs (GitHub's model) for real: one process per step, files back.

Jobs are model objects driven by the tiny dialect in ``stepprogram`` through
``model_exec``, exactly as ``runner exec`` drives the executor, in real
rootless containers.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest

from runner.execute.layout import tenant_key
from runner.pipeline.model import Job, Need, SecretSource
from runner.pipeline.steps import (
    Checkout,
    DownloadArtifact,
    MatrixGroup,
    RestoreCache,
    SaveCache,
    StepStatus,
    UploadArtifact,
)
from tests.integration.harness import Project
from tests.integration.stepprogram import OnlyIf, TProgram, TStep, sh
from tests.integration.test_exec_model_features import log_of, results, run_model

pytestmark = pytest.mark.podman

IMAGE = "localhost/busybox:latest"


def stepped(name: str, *steps: TStep, outputs: tuple[str, ...] = (), **fields: object) -> Job:
    return Job(name=name, image=IMAGE, script=(), steps=TProgram(steps, outputs),
               **fields)  # type: ignore[arg-type]


def test_each_step_is_its_own_process_and_env_files_carry_over(project: Project) -> None:
    """GITHUB_ENV/PATH/OUTPUT written by a step reach the next steps and the jobs that
    need it; a shell variable does not; a failure skips what follows except ``always``."""
    tool = "mkdir -p /opt/tool && printf '#!/bin/sh\\necho TOOL-RAN\\n' > /opt/tool/mytool"
    first = stepped(
        "first",
        sh("set", "echo GREETING=hello >> $GITHUB_ENV\necho v=42 >> $GITHUB_OUTPUT\n"
                  f"{tool} && chmod +x /opt/tool/mytool\necho /opt/tool >> $GITHUB_PATH\n"
                  "export LOCALVAR=x"),
        sh("use", 'echo "greeting=$GREETING local=${LOCALVAR:-unset}"; mytool; '
                  'test -f "$RUNNER_TEMP/event.json" && echo EVENT-FILE'),
        sh("break", "echo BREAKING; exit 3"),
        sh("after", "echo SHOULD-NOT-RUN"),
        sh("cleanup", "echo ALWAYS-RAN", always=True),
        outputs=("s0.v",),
    )
    on_failure = stepped("on failure", sh("report", "echo got=$needs.first.v"),
                         needs=(Need("first", artifacts=False),),
                         condition=OnlyIf("first", StepStatus.FAILURE))
    on_success = stepped("on success", sh("never", "echo SUCCESS-BRANCH"),
                         needs=(Need("first", artifacts=False),),
                         condition=OnlyIf("first", StepStatus.SUCCESS))
    run = run_model(project, [first, on_failure, on_success])
    assert run.code == 1, run.out + run.err
    log = log_of(project, "first")
    assert "greeting=hello local=unset" in log
    assert "TOOL-RAN" in log
    assert "EVENT-FILE" in log
    assert "BREAKING" in log
    assert "SHOULD-NOT-RUN" not in log
    assert "step 'after' skipped" in log
    assert "ALWAYS-RAN" in log
    got = results(project)
    assert got["first"]["status"] == "failed"
    assert got["first"]["exit_code"] == 3
    assert "got=42" in log_of(project, "on failure")
    assert got["on failure"]["status"] == "success"
    assert got["on success"]["status"] == "skipped"
    assert "SUCCESS-BRANCH" not in run.out


def test_masks_added_mid_step_hold_for_every_later_line(project: Project) -> None:
    """``::add-mask::`` masks the value from then on, and the secrets the job may see too."""
    job = stepped(
        "masking",
        sh("mask", "echo ::add-mask::swordfish-42\necho the value is swordfish-42"),
        sh("later", "echo again swordfish-42; echo token $TOKEN_VALUE"),
        sh("annotate", "echo ::error::it broke here"),
        secrets=("TOKEN",),
    )
    secrets = (SecretSource("TOKEN", value="hunter2-secret"),)
    run = run_model(project, [job], secrets=secrets)
    assert run.code == 0, run.out + run.err
    log = log_of(project, "masking")
    assert "swordfish-42" not in log + run.out
    assert "the value is [MASKED]" in log
    assert "again [MASKED]" in log
    assert "error: it broke here" in log
    assert "annotations:\n  masking: error: it broke here" in run.out


def test_a_symlinked_env_file_is_never_followed_on_the_host(project: Project,
                                                            tmp_path: Path) -> None:
    """A step that turns GITHUB_OUTPUT into a link to a host file gets nothing from it."""
    planted = tmp_path / "host-file"
    planted.write_text("v=LEAKED-HOST-CONTENT\n")
    planted.chmod(0o644)
    job = stepped("sneaky", sh("link", f"ln -sf {planted} $GITHUB_OUTPUT"),
                  sh("show", "echo got=$needs.none.v"), outputs=("s0.v",))
    reader = stepped("reader", sh("print", "echo value=[$needs.sneaky.v]"),
                     needs=(Need("sneaky", artifacts=False),))
    run = run_model(project, [job, reader])
    assert run.code == 0, run.out + run.err
    assert "LEAKED-HOST-CONTENT" not in run.out
    assert "value=[]" in log_of(project, "reader")


def test_artifacts_go_by_name_from_their_common_directory(project: Project) -> None:
    """upload-artifact keeps files under their least common ancestor, minus ``!`` excludes;
    a link stays a link; download-artifact puts them where asked, in another job."""
    make = ("mkdir -p dist/sub && echo A > dist/a.txt && echo B > dist/sub/b.txt && "
            "echo MAP > dist/a.map && ln -s /etc/passwd dist/link")
    up = stepped("up", sh("build", make),
                 TStep("upload", UploadArtifact(name="dist", paths=("dist/", "!dist/*.map"))))
    down = stepped("down",
                   TStep("download", DownloadArtifact(path="got", name="dist")),
                   sh("look", "find got | sort; cat got/a.txt got/sub/b.txt; "
                              "readlink got/link; test ! -e got/a.map && echo NO-MAP"),
                   needs=(Need("up", artifacts=False),))
    missing = stepped("missing", TStep("download", DownloadArtifact(path=".", name="nope")),
                      needs=(Need("up", artifacts=False),))
    run = run_model(project, [up, down, missing])
    assert run.code == 1, run.out + run.err
    log = log_of(project, "down")
    assert "got/sub/b.txt" in log
    assert "A\nB\n" in log
    assert "/etc/passwd" in log  # the link's target, as a link
    assert "NO-MAP" in log
    stored = project.state / "latest" / "artifacts" / "dist"
    assert (stored / "link").is_symlink()
    assert "Artifact not found for name: nope" in log_of(project, "missing")
    assert results(project)["missing"]["status"] == "failed"


def test_caches_restore_by_key_and_prefix_and_save_once(project: Project) -> None:
    """actions/cache semantics: a miss saves at the end; the next run hits; a restore key
    finds the newest entry by prefix; entries are immutable."""
    def job(key: str) -> Job:
        return stepped(
            "cached",
            TStep("restore", RestoreCache(key=key, paths=("~/.cache/thing", "deps"),
                                          restore_keys=("deps-",))),
            sh("use", "ls ~/.cache/thing deps 2>&1 || true; mkdir -p ~/.cache/thing deps; "
                      "echo DATA > ~/.cache/thing/data.txt; echo LOCAL > deps/l.txt"),
            TStep("save", SaveCache(key=key, paths=("~/.cache/thing", "deps"))),
        )
    run = run_model(project, [job("deps-1")])
    assert run.code == 0, run.out + run.err
    assert "Cache not found for input keys: deps-1, deps-" in log_of(project, "cached")
    assert "Cache saved with key: deps-1" in log_of(project, "cached")
    entries = list((project.cache / tenant_key(project.root) / "@github").iterdir())
    assert len(entries) == 1
    run = run_model(project, [job("deps-1")])
    assert run.code == 0, run.out + run.err
    log = log_of(project, "cached")
    assert "Cache restored from key: deps-1" in log
    assert "data.txt" in log and "l.txt" in log
    assert "not saving cache" in log
    run = run_model(project, [job("deps-2")])
    log = log_of(project, "cached")
    assert "Cache restored from key: deps-1" in log  # the prefix "deps-"
    assert "Cache saved with key: deps-2" in log


def test_hash_files_and_step_timeouts_and_summary(project: Project) -> None:
    """hashFiles is GitHub's digest of digests; a step timeout fails that step only;
    the step summary is shown and kept."""
    project.write("version: 1\n", **{"a.txt": "alpha\n", "sub/b.txt": "beta\n"})
    job = stepped(
        "misc",
        sh("hash", "echo hash=$hash"),
        TStep("slow", sh("", "sleep 30").action, timeout_s=1.0, continue_on_error=True),
        sh("summary", "echo '### Done' >> $GITHUB_STEP_SUMMARY; echo AFTER-TIMEOUT"),
    )
    run = run_model(project, [job])
    assert run.code == 0, run.out + run.err
    total = hashlib.sha256()
    for name in ("a.txt", "sub/b.txt"):
        total.update(hashlib.sha256((project.root / name).read_bytes()).digest())
    log = log_of(project, "misc")
    assert f"hash={total.hexdigest()}" in log
    assert "timed out" in log
    assert "AFTER-TIMEOUT" in log
    summary = project.state / "latest" / "misc.summary.md"
    assert summary.read_text() == "### Done\n"
    assert json.loads((project.state / "result.json").read_text())["jobs"][0]["status"] == \
        "success"


def test_checkout_path_moves_the_project_there(project: Project) -> None:
    """actions/checkout's ``path``: the workspace then holds only that directory."""
    project.write("version: 1\n", **{"src/main.txt": "code\n", ".hidden": "h\n"})
    job = stepped("co", TStep("checkout", Checkout(path="repo")),
                  sh("look", "ls -A; ls -A repo; cat repo/src/main.txt"))
    run = run_model(project, [job])
    assert run.code == 0, run.out + run.err
    log = log_of(project, "co")
    assert "the project is now in /builds/proj/repo" in log
    assert "repo\n" in log
    assert ".hidden" in log and "code" in log


def test_fail_fast_cancels_the_running_instances_of_the_matrix(project: Project) -> None:
    """GitHub's fail-fast: one instance fails, the others still running are cancelled (their
    running step stopped, ``always`` steps still run); another matrix is not touched."""
    fast, other = MatrixGroup("test"), MatrixGroup("lint", fail_fast=False)
    jobs = [
        stepped("test (1)", sh("fail", "sleep 5; exit 1"), group=fast),
        stepped("test (2)", sh("slow", "echo SLOW-START; sleep 60; echo SLOW-END"),
                sh("cleanup", "echo CLEANUP-RAN", always=True), group=fast),
        stepped("lint (1)", sh("fail", "sleep 1; exit 1"), group=other),
        stepped("lint (2)", sh("slow", "sleep 3; echo LINT-DONE"), group=other),
    ]
    run = run_model(project, jobs)
    assert run.code == 1, run.out + run.err
    got = results(project)
    assert got["test (1)"]["status"] == "failed"
    assert got["test (2)"]["status"] == "canceled"
    assert got["test (2)"]["note"] == "fail-fast: another instance of its matrix failed"
    log = log_of(project, "test (2)")
    assert "SLOW-START" in log and "SLOW-END" not in log
    assert "CLEANUP-RAN" in log
    assert got["lint (2)"]["status"] == "success"
    assert "LINT-DONE" in log_of(project, "lint (2)")
