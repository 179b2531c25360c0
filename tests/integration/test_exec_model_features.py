"""The executor honours the model fields the GitLab dialect needs: real podman, real containers.

Pipelines are built as model objects and run through ``model_exec`` (the
executor, driven exactly as ``runner exec`` drives it), since no file format
can express all of these fields yet.
"""

from __future__ import annotations

import json
import pickle
import re
import subprocess
import sys
from pathlib import Path

import pytest

from runner.execute.layout import safe_name, tenant_key
from runner.pipeline.model import (
    Artifacts,
    Cache,
    CachePolicy,
    Job,
    Need,
    Pipeline,
    RetryOn,
    SecretSource,
    When,
)
from tests.integration.harness import Project, Run, said

pytestmark = pytest.mark.podman

IMAGE = "localhost/busybox:latest"


def job(name: str, *script: str, **fields: object) -> Job:
    return Job(name=name, image=IMAGE, script=script, **fields)


def run_model(project: Project, jobs: list[Job], *manual: str,
              secrets: tuple[SecretSource, ...] = (), timeout: float = 180) -> Run:
    """Run ``jobs`` as a pipeline of ``project`` through the executor, as ``runner exec`` does."""
    pipeline = Pipeline(source=project.root / "pipeline.yml", root=project.root,
                        jobs=tuple(jobs), secrets=secrets, dialect="gitlab")
    spec = project.cache.parent / "pipeline.pickle"  # outside the project: not in its snapshot
    spec.write_bytes(pickle.dumps(pipeline))
    argv = [sys.executable, "-m", "tests.integration.model_exec", str(spec), str(project.cache)]
    for name in manual:
        argv += ["--manual", name]
    proc = subprocess.run(argv, cwd=project.root, env=project.env(), capture_output=True,
                          text=True, timeout=timeout, check=False)
    return Run(proc.returncode, proc.stdout, proc.stderr)


def results(project: Project) -> dict[str, dict[str, object]]:
    doc = json.loads((project.state / "result.json").read_text())
    return {entry["name"]: entry for entry in doc["jobs"]}


def log_of(project: Project, name: str) -> str:
    return (project.state / "latest" / f"{safe_name(name)}.log").read_text()


def cache_dir(project: Project, key: str) -> Path:
    return project.cache / tenant_key(project.root) / safe_name(key)


def test_manual_jobs_skip_and_block_unless_asked_for(project: Project) -> None:
    """Manual jobs run only when named; a blocking one holds up its dependents, with a note."""
    jobs = [
        job("deploy", "echo DEPLOYED", when=When.MANUAL),
        job("smoke", "echo SMOKE-RAN", needs=(Need("deploy"),)),
        job("report", "echo REPORT-RAN", needs=(Need("smoke"),)),
        job("optional", "echo OPTIONAL-JOB-RAN", when=When.MANUAL, allow_failure=True),
        job("after optional", "echo AFTER-OPTIONAL-RAN", needs=(Need("optional"),)),
    ]
    run = run_model(project, jobs)
    assert run.code == 0, run.out + run.err
    for text in ("DEPLOYED", "SMOKE-RAN", "REPORT-RAN", "OPTIONAL-JOB-RAN"):
        assert text not in run.out
    assert said(run.out, "after optional", "AFTER-OPTIONAL-RAN")
    got = results(project)
    assert got["deploy"]["status"] == "skipped"
    assert got["deploy"]["note"] == "manual job; run it with --manual deploy"
    assert got["smoke"]["status"] == "skipped"
    assert "blocked by manual job 'deploy'" in str(got["smoke"]["note"])
    assert "blocked by manual job 'deploy'" in str(got["report"]["note"])
    assert got["optional"]["status"] == "skipped"
    assert got["optional"]["passed"] is True
    assert got["deploy"]["passed"] is False
    assert got["after optional"]["status"] == "success"

    run = run_model(project, jobs, "deploy")
    assert run.code == 0, run.out + run.err
    assert said(run.out, "deploy", "DEPLOYED")
    assert said(run.out, "report", "REPORT-RAN")
    assert "OPTIONAL-JOB-RAN" not in run.out
    assert results(project)["smoke"]["status"] == "success"


def test_delayed_job_runs_at_once_with_a_notice(project: Project) -> None:
    """A delayed job runs like on_success; its log says the delay is not applied."""
    run = run_model(project, [job("later", "echo LATER-RAN", when=When.DELAYED)])
    assert run.code == 0, run.out + run.err
    assert said(run.out, "later", "LATER-RAN")
    assert "the delay is not applied locally" in log_of(project, "later")


def test_allow_failure_exit_codes(project: Project) -> None:
    """Only the listed exit codes are allowed; another code or a timeout fails the pipeline."""
    codes = {"allow_failure": True, "allow_failure_codes": (3, 5)}
    run = run_model(project, [
        job("listed", "exit 3", **codes),
        job("unlisted", "exit 4", **codes),
        job("slow", "sleep 30", timeout_s=1.0, **codes),
        job("any code", "exit 9", allow_failure=True),
    ])
    assert run.code == 1
    got = results(project)
    assert (got["listed"]["status"], got["listed"]["passed"]) == ("failed", True)
    assert (got["unlisted"]["status"], got["unlisted"]["passed"]) == ("failed", False)
    assert (got["slow"]["status"], got["slow"]["passed"]) == ("timed out", False)
    assert got["any code"]["passed"] is True
    assert re.search(r"listed\s+failed \(allowed\)", run.out)
    assert re.search(r"unlisted\s+failed\s", run.out)


def test_retry_only_for_listed_failure_kinds(project: Project) -> None:
    """retry_on limits retries to script failures, timeouts or system failures as listed."""
    missing = "localhost/does-not-exist:1"
    run = run_model(project, [
        job("script retried", "exit 1", retry=1, retry_on=(RetryOn.SCRIPT_FAILURE,)),
        job("script not retried", "exit 1", retry=2, retry_on=(RetryOn.SYSTEM_FAILURE,)),
        job("timeout retried", "sleep 30", retry=1, timeout_s=1.0,
            retry_on=(RetryOn.TIMEOUT,)),
        Job("system retried", missing, ("true",), retry=1,
            retry_on=(RetryOn.SYSTEM_FAILURE,)),
        Job("system not retried", missing, ("true",), retry=1,
            retry_on=(RetryOn.SCRIPT_FAILURE, RetryOn.TIMEOUT)),
        job("any kind", "exit 1", retry=1),
    ])
    assert run.code == 1
    attempts = {name: entry["attempts"] for name, entry in results(project).items()}
    assert attempts == {"script retried": 2, "script not retried": 1, "timeout retried": 2,
                        "system retried": 2, "system not retried": 1, "any kind": 2}
    assert "not retrying: script_failure" in log_of(project, "script not retried")
    assert "not retrying: runner_system_failure" in log_of(project, "system not retried")


def test_cache_policy_when_and_fallback_keys(project: Project) -> None:
    """pull never saves, push never restores, when decides saving, fallbacks restore."""
    first = run_model(project, [
        job("seed", "mkdir -p c && echo seed > c/v",
            cache=(Cache("main", ("c/",)), Cache("second", ("c/",)))),
        job("failing saver", "mkdir -p c && echo failed-run > c/v", "exit 1",
            cache=(Cache("on-failure", ("c/",), when=When.ON_FAILURE),)),
        job("failing non-saver", "mkdir -p c && echo x > c/v", "exit 1",
            cache=(Cache("on-success", ("c/",)),)),
    ])
    assert first.code == 1
    assert (cache_dir(project, "main") / "c" / "v").read_text() == "seed\n"
    assert (cache_dir(project, "second") / "c" / "v").read_text() == "seed\n"
    assert (cache_dir(project, "on-failure") / "c" / "v").read_text() == "failed-run\n"
    assert not cache_dir(project, "on-success").exists()

    second = run_model(project, [
        job("puller", "cat c/v", "echo changed > c/v",
            cache=(Cache("second", ("c/",), policy=CachePolicy.PULL),)),
        job("pusher", "test ! -e c/v && echo NOT-RESTORED", "mkdir -p c && echo pushed > c/v",
            cache=(Cache("main", ("c/",), policy=CachePolicy.PUSH),)),
        job("feature", "cat c/v", cache=(Cache("feature", ("c/",),
                                               fallback_keys=("nope", "on-failure")),)),
    ])
    assert second.code == 0, second.out + second.err
    assert said(second.out, "puller", "seed")
    assert (cache_dir(project, "second") / "c" / "v").read_text() == "seed\n"
    assert said(second.out, "pusher", "NOT-RESTORED")
    assert (cache_dir(project, "main") / "c" / "v").read_text() == "pushed\n"
    assert said(second.out, "feature", "failed-run")
    assert "restoring fallback key 'on-failure'" in log_of(project, "feature")
    assert (cache_dir(project, "feature") / "c" / "v").read_text() == "failed-run\n"
    assert not cache_dir(project, "nope").exists()


def test_artifacts_exclude_and_untracked(project: Project) -> None:
    """exclude drops matches (``**`` included), untracked adds files not in the snapshot."""
    (project.root / "tracked.txt").write_text("T\n")
    subprocess.run(["git", "-C", str(project.root), "add", "tracked.txt"], check=True)
    build = job(
        "build",
        "mkdir -p out/sub && for f in a.txt b.o sub/c.o sub/d.txt; do echo $f > out/$f; done",
        "echo new > new.txt && echo debug > debug.log && echo changed > tracked.txt",
        artifacts=Artifacts(("out/",), exclude=("out/**/*.o", "*.log"), untracked=True),
    )
    use = job("use", "cat out/a.txt out/sub/d.txt new.txt tracked.txt",
              "test ! -e out/b.o && test ! -e out/sub/c.o && test ! -e debug.log && echo CLEAN",
              needs=(Need("build"),))
    run = run_model(project, [build, use])
    assert run.code == 0, run.out + run.err
    kept = project.state / "artifacts" / "build"
    names = sorted(str(p.relative_to(kept)) for p in kept.rglob("*") if not p.is_dir())
    assert names == ["new.txt", "out/a.txt", "out/sub/d.txt"]
    assert said(run.out, "use", "CLEAN")
    assert said(run.out, "use", "T")  # tracked.txt is the checkout's: tracked files are not kept


def test_dotenv_variables_reach_jobs_that_take_the_artifacts(project: Project, tmp_path) -> None:
    """Dotenv values beat job variables, reach only artifact takers, are masked, limits hold."""
    host_file = tmp_path / "host.env"
    host_file.write_text("STOLEN=yes\n")
    token = SecretSource("TOKEN", value="tok-abcdef-123456")
    lines = ["VERSION=1.2.3", 'QUOTED="kept quotes"', " SPACED =  padded value  ", "",
             "# comment", "not a pair", "1BAD=x"]
    produce = job("produce", *(f"echo '{line}' >> build.env" for line in lines),
                  'echo "COPY=$TOKEN" >> build.env', "echo VERSION=1.2.4 >> build.env",
                  artifacts=Artifacts((), dotenv=("build.env",)), secrets=("TOKEN",))
    show = ('echo "version=$VERSION quoted=$QUOTED spaced=[$SPACED] copy=$COPY '
            'stolen=${STOLEN:-unset}"')
    consume = job("consume", show, "test ! -e build.env && echo NO-REPORT-FILE",
                  variables=(("VERSION", "from-yaml"),), needs=(Need("produce"),))
    no_artifacts = job("no artifacts", show, needs=(Need("produce", artifacts=False),))
    big = job("big", "head -c 6000 /dev/zero | tr '\\0' x | sed 's/^/BIG=/' > big.env",
              artifacts=Artifacts((), dotenv=("big.env",)))
    many = job("many", "for i in $(seq 1 21); do echo V$i=$i >> many.env; done",
               artifacts=Artifacts((), dotenv=("many.env",)))
    evil = job("evil", f"ln -s {host_file} evil.env",
               artifacts=Artifacts((), dotenv=("evil.env",)))
    limits = job("limits", 'echo "big=${BIG:-unset} v1=${V1:-unset}"', show,
                 needs=(Need("big"), Need("many"), Need("evil")))
    run = run_model(project, [produce, consume, no_artifacts, big, many, evil, limits],
                    secrets=(token,))
    assert run.code == 0, run.out + run.err
    assert said(run.out, "consume", 'version=1.2.4 quoted="kept quotes" spaced=[padded value] '
                "copy=[MASKED] stolen=unset")
    assert said(run.out, "consume", "NO-REPORT-FILE")
    assert said(run.out, "no artifacts", "version= quoted= spaced=[] copy= stolen=unset")
    assert said(run.out, "limits", "big=unset v1=unset")
    assert said(run.out, "limits", "version= quoted= spaced=[] copy= stolen=unset")
    produced = log_of(project, "produce")
    assert "build.env:6: not KEY=VALUE" in produced
    assert "build.env:7: not KEY=VALUE" in produced
    assert "2 blank or comment line(s) skipped" in produced
    assert "VERSION, QUOTED, SPACED, COPY" in produced
    assert "larger than 5 KiB" in log_of(project, "big")
    assert "more than the 20 GitLab accepts" in log_of(project, "many")
    assert "never followed" in log_of(project, "evil")
    for text in [run.out, run.err, *(p.read_text() for p in (project.state / "latest").iterdir())]:
        assert "tok-abcdef-123456" not in text


def test_file_variables_and_file_secrets(project: Project) -> None:
    """File variables and file-type secrets are paths to 0600 files; the secret stays masked."""
    secret = SecretSource("KEYFILE", value="super-secret-key-value", as_file=True)
    files = job(
        "files",
        'echo "config=$CONFIG key=$KEYFILE"', 'cat "$CONFIG"',
        'stat -c "%a %u" "$KEYFILE" "$CONFIG"', 'cat "$KEYFILE"; echo',
        file_variables=(("CONFIG", "line one\nline two\n"),), secrets=("KEYFILE",),
    )
    run = run_model(project, [files], secrets=(secret,))
    assert run.code == 0, run.out + run.err
    assert said(run.out, "files", "config=/.runner/var-CONFIG key=/.runner/secret-KEYFILE")
    assert said(run.out, "files", "line one")
    assert said(run.out, "files", "line two")
    assert re.search(r"files \| 600 0\nfiles \| 600 0\n", run.out)
    assert said(run.out, "files", "[MASKED]")
    texts = [run.out, run.err, *(p.read_text() for p in (project.state / "latest").iterdir()),
             (project.state / "result.json").read_text()]
    for text in texts:
        assert "super-secret-key-value" not in text


def test_coverage_figure_in_summary_and_result(project: Project) -> None:
    """The last match of the coverage regex is the job's figure, in result.json and the table."""
    run = run_model(project, [
        job("cov", "echo 'Coverage: 50.0%'", "echo 'noise'", "echo 'Coverage: 87.5% of lines'",
            coverage=r"Coverage: (\d+\.\d+)%"),
        job("no match", "echo nothing", coverage=r"Coverage: (\d+)%"),
        job("plain", "true"),
    ])
    assert run.code == 0, run.out + run.err
    got = results(project)
    assert got["cov"]["coverage"] == "87.5"
    assert got["no match"]["coverage"] is None
    assert got["plain"]["coverage"] is None
    assert re.search(r"^job\s+status\s+duration\s+coverage\s+note$", run.out, re.M)
    assert re.search(r"^cov\s+success\s+\S+s\s+87\.5$", run.out, re.M)


def test_gitlab_style_names_stage_and_cache_keys(project: Project) -> None:
    """Names with spaces, ':', '/' and brackets get their own files; keys cannot escape."""
    names = ["test 1/3", "test_1_3", "build: [linux, amd64]"]
    jobs = [job(name, f"echo 'I am {name}' > me.txt", "cat me.txt", stage="test",
                artifacts=Artifacts(("me.txt",)))
            for name in names]
    jobs.append(job("check", "cat me.txt", 'echo "stage=$CI_JOB_STAGE"',
                    "mkdir -p c && echo kept > c/f", stage="verify",
                    needs=(Need("build: [linux, amd64]"),),
                    cache=(Cache("../../escape", ("c/",)),)))
    run = run_model(project, jobs)
    assert run.code == 0, run.out + run.err
    for name in names:
        assert f"I am {name}" in log_of(project, name)
        kept = project.state / "artifacts" / safe_name(name) / "me.txt"
        assert kept.read_text() == f"I am {name}\n"
    assert len({safe_name(name) for name in names}) == 3
    assert said(run.out, "check", "I am build: [linux, amd64]")
    assert said(run.out, "check", "stage=verify")
    tenant = project.cache / tenant_key(project.root)
    assert [p.name for p in tenant.iterdir()] == [safe_name("../../escape")]
    assert sorted(p.name for p in project.cache.iterdir()) == [tenant.name,
                                                               f"{tenant.name}.project"]
    assert not (project.cache.parent / "escape").exists()
