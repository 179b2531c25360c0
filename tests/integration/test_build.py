"""Build jobs end to end: ``buildah build`` on the host in a tenant store, push, outputs.

Every test builds for real as the unprivileged user and pushes (when it
pushes) to the session's TLS + htpasswd registry, each under its own
repository names. The tenant stores the tests create are deleted afterwards.
"""

from __future__ import annotations

import gzip
import re
import secrets
import shutil
import subprocess
from pathlib import Path

import pytest

from tests.integration.harness import (
    BASE,
    BUILD_TIMEOUT,
    OUTPUT_DIGEST,
    OUTPUT_IMAGE,
    Project,
    Run,
    Tenants,
    buildah,
    job_results,
    new_project,
    podman,
    runtime_dir_mode,
    said,
    tenant_store,
    with_registry,
)
from tests.registry import Registry, unused_registry_host

pytestmark = pytest.mark.podman



@pytest.fixture
def built(project: Project, tenants: Tenants) -> Project:
    """The test's project, whose tenant build store is deleted afterwards."""
    return tenants.add(project)



def _run(project: Project, **env: str) -> Run:
    """``runner exec`` in ``project`` with the time a build may take."""
    return project.run(timeout=BUILD_TIMEOUT, **env)


def _pw(registry: Registry) -> dict[str, str]:
    return {"REG_PW": registry.password}


def _unique() -> str:
    """A word that makes a Containerfile's instruction new to every cache."""
    return secrets.token_hex(8)


def test_build_and_push_with_auth_and_tls(built: Project, registry: Registry) -> None:
    """The image lands in the registry under its tag; result.json and the summary say where."""
    shutil.copyfile(registry.ca_file, built.root / "ca.crt")  # ca_file relative to the pipeline
    ref = f"{registry.host}/build/push:1"
    built.write(with_registry(f"""
        version: 1
        jobs:
          img:
            build:
              tags: [{ref}]
              push: true
        """, registry, ca_file="ca.crt"), Containerfile=f"FROM {BASE}\nRUN echo pushed > /hello\n")
    run = _run(built, **_pw(registry))
    assert run.code == 0, run.out + run.err
    assert registry.tags("build/push") == ["1"]
    digest = registry.manifest_digest("build/push", "1")
    assert digest is not None and digest.startswith("sha256:")
    result = job_results(built)["img"]
    assert result["status"] == "success"
    assert result["digest"] == digest
    assert result["image"] == f"{ref}@{digest}"
    assert re.search(rf"img\s+success\s.*image {re.escape(ref)}@{digest}", run.out), run.out
    log = built.log("img")
    assert f"base image {BASE} copied from the user's image store" in log
    assert f"runner: pushed {ref}@{digest}" in log
    assert tenant_store(built.root).root.is_dir()


def test_wrong_password_is_refused_clearly(built: Project, registry: Registry) -> None:
    """A wrong password fails the job (exit 1) naming the registry; nothing is pushed."""
    ref = f"{registry.host}/build/wrongpw:1"
    built.write(with_registry(f"""
        version: 1
        jobs:
          img:
            build: {{tags: [{ref}], push: true}}
        """, registry), Containerfile=f"FROM {BASE}\nRUN true\n")
    run = _run(built, REG_PW="not-the-password")
    assert run.code == 1, run.out + run.err
    log = built.log("img")
    assert f"runner: registry {registry.host} refused the credentials for {ref}" in log, log
    assert "check the password in secret 'REG_PW' for user 'runner-test'" in log
    result = job_results(built)["img"]
    assert result["status"] == "failed"
    assert result["exit_code"] == 1
    assert registry.tags("build/wrongpw") == []
    assert "build/wrongpw" not in registry.catalog()
    assert "Traceback" not in run.err


def test_unreachable_registry_retries_then_says_so(built: Project) -> None:
    """A push to a registry that is down is retried by buildah, then reported clearly."""
    host = unused_registry_host()
    ref = f"{host}/build/down:1"
    built.write(f"""
        version: 1
        jobs:
          img:
            build: {{tags: [{ref}], push: true}}
        """, Containerfile=f"FROM {BASE}\nRUN true\n")
    run = _run(built)
    assert run.code == 1, run.out + run.err
    log = built.log("img")
    retries = [line for line in log.splitlines() if "retrying" in line.lower()]
    assert len(retries) == 3, log
    assert "connection refused" in retries[0]
    message = f"runner: registry {host} could not be reached to push {ref} (tried 4 times)"
    assert message in log
    assert log.index(message) > log.index(retries[-1])
    assert job_results(built)["img"]["exit_code"] == 1


FAILING_RUN = f"""\
# syntax is plain: comments and blank lines count as lines
FROM {BASE}

RUN echo step-one
RUN echo about-to-fail && \\
    exit 3
RUN echo never-run
"""


def test_failing_run_step_names_its_line(built: Project) -> None:
    """A failing RUN is reported with its Containerfile line (a continued one) and buildah's
    own error."""
    built.write("""
        version: 1
        jobs:
          img:
            build: {}
        """, Containerfile=FAILING_RUN)
    run = _run(built)
    assert run.code == 1, run.out + run.err
    log = built.log("img")
    assert "step-one" in log
    assert "never-run" not in log.replace("RUN echo never-run", "")
    found = re.search(r"runner: buildah build failed \(exit \d+\) at Containerfile:(\d+): (.*)",
                      log)
    assert found, log
    assert found[1] == "5"
    assert found[2].startswith("RUN echo about-to-fail")
    said_line = next(line for line in log.splitlines() if line.startswith("buildah said: "))
    assert "exit status 3" in said_line
    result = job_results(built)["img"]
    assert (result["status"], result["exit_code"]) == ("failed", 1)


def test_timed_out_build_leaves_no_working_container(built: Project) -> None:
    """buildah killed at the job's timeout leaves its working container; the runner sweeps
    it (and any left by an earlier killed build) once no other build uses the store."""
    built.write("""
        version: 1
        jobs:
          img:
            timeout: 2s
            build: {}
        """, Containerfile=f"FROM {BASE}\nRUN sleep 60\n")
    run = _run(built)
    assert run.code == 1, run.out + run.err
    assert job_results(built)["img"]["status"] == "timed out"
    store = tenant_store(built.root)
    left = buildah("containers", "--quiet", store=store).stdout.split()
    assert left == []
    assert "sleep 60" not in subprocess.run(["ps", "-eo", "args"], capture_output=True,
                                            text=True, check=True, timeout=30).stdout


@pytest.mark.parametrize(("containerfile", "line", "reason"), [
    (f"FROM {BASE}\nRUN true\nFETCH http://example.invalid/x /x\n", 3,
     'Unknown instruction: "FETCH"'),
    (f"FROM {BASE}\n\nCOPY only-one-argument\n", 3, "COPY requires at least one argument"),
], ids=["unknown-instruction", "missing-argument"])
def test_containerfile_syntax_error_is_a_clear_build_error(built: Project, containerfile: str,
                                                           line: int, reason: str) -> None:
    """A Containerfile buildah cannot parse fails the job at that line with buildah's reason."""
    built.write("""
        version: 1
        jobs:
          img:
            build: {}
        """, Containerfile=containerfile)
    run = _run(built)
    assert run.code == 1, run.out + run.err
    log = built.log("img")
    notice = re.search(r"^runner: buildah build failed \(exit \d+\) at Containerfile:(\d+): ",
                       log, re.MULTILINE)
    assert notice, log
    assert int(notice[1]) == line
    said_line = next(text for text in log.splitlines() if text.startswith("buildah said: "))
    assert reason in said_line
    assert job_results(built)["img"]["status"] == "failed"
    assert "Traceback" not in run.err + log


MULTI_STAGE = f"""\
FROM {BASE} AS one
RUN echo one > /one
FROM {BASE} AS two
RUN echo two > /two
FROM two AS three
RUN echo three > /three
"""


def test_target_builds_only_up_to_that_stage(built: Project) -> None:
    """``target`` picks the stage: its files are in the image, other stages' are not."""
    built.write(f"""
        version: 1
        jobs:
          img:
            build: {{target: two}}
          use:
            image: {OUTPUT_IMAGE}
            script:
              - cat /two
              - test ! -e /one && test ! -e /three && echo only-two
        """, Containerfile=MULTI_STAGE)
    run = _run(built)
    assert run.code == 0, run.out + run.err
    assert said(run.out, "use", "two")
    assert said(run.out, "use", "only-two")


def test_build_args_reach_run_steps(built: Project) -> None:
    """``args`` (with the job's $VARIABLES expanded) are seen by RUN steps."""
    built.write(f"""
        version: 1
        jobs:
          img:
            variables: {{WHO: build-args}}
            build:
              args: {{GREETING: "hello-from-$WHO", PLAIN: plain-value}}
          use:
            image: {OUTPUT_IMAGE}
            script: ["cat /greeting /plain"]
        """, Containerfile=f"FROM {BASE}\nARG GREETING\nARG PLAIN=default\n"
                           "RUN echo \"$GREETING\" > /greeting && echo \"$PLAIN\" > /plain\n")
    run = _run(built)
    assert run.code == 0, run.out + run.err
    assert said(run.out, "use", "hello-from-build-args")
    assert said(run.out, "use", "plain-value")


IGNORE_PIPELINE = f"""
    version: 1
    jobs:
      img:
        build: {{}}
      use:
        image: {OUTPUT_IMAGE}
        script: ["echo files: $(ls -A /ctx)"]
    """
COPY_ALL = f"FROM {BASE}\nCOPY . /ctx\n"


def _copied_files(project: Project) -> set[str]:
    run = _run(project)
    assert run.code == 0, run.out + run.err
    found = re.search(r"^use\s*\| files: (.*)$", run.out, re.MULTILINE)
    assert found, run.out
    return set(found[1].split())


def test_containerignore_is_respected(built: Project) -> None:
    """Files matched by .containerignore stay out of the build context."""
    built.write(IGNORE_PIPELINE, Containerfile=COPY_ALL, **{
        ".containerignore": "*.secret\nskipdir/\n", "keep.txt": "k\n", "a.secret": "a\n",
        "skipdir/x": "x\n"})
    files = _copied_files(built)
    assert "keep.txt" in files
    assert "Containerfile" in files
    assert "a.secret" not in files
    assert "skipdir" not in files


def test_dockerignore_is_respected_and_containerignore_wins(built: Project) -> None:
    """.dockerignore works alone; with both files buildah reads only .containerignore."""
    built.write(IGNORE_PIPELINE, Containerfile=COPY_ALL, **{
        ".dockerignore": "b.secret\n", "keep.txt": "k\n", "a.secret": "a\n", "b.secret": "b\n"})
    files = _copied_files(built)
    assert {"keep.txt", "a.secret"} <= files
    assert "b.secret" not in files
    (built.root / ".containerignore").write_text("a.secret\n")
    files = _copied_files(built)
    assert "keep.txt" in files
    assert "a.secret" not in files
    assert "b.secret" in files  # .dockerignore is not read when .containerignore exists


def test_digest_and_image_flow_to_a_dependent_job(built: Project, registry: Registry) -> None:
    """The dependent job gets the pushed digest and runs the image from the tenant store,
    which the user's default store never sees (no pull)."""
    repo = "build/digest"
    ref = f"{registry.host}/{repo}:1"
    built.write(with_registry(f"""
        version: 1
        jobs:
          img:
            build: {{tags: [{ref}], push: true}}
          use:
            image: {OUTPUT_IMAGE}
            variables: {{D: "{OUTPUT_DIGEST}"}}
            script: ["echo digest=$D", "cat /made-here"]
        """, registry), Containerfile=f"FROM {BASE}\nRUN echo made-here > /made-here\n")
    run = _run(built, **_pw(registry))
    assert run.code == 0, run.out + run.err
    digest = registry.manifest_digest(repo, "1")
    assert digest is not None
    assert said(run.out, "use", f"digest={digest}")
    assert said(run.out, "use", "made-here")
    assert "Trying to pull" not in built.log("use")
    assert podman("image", "exists", ref, check=False).returncode == 1
    assert podman("image", "exists", ref, store=tenant_store(built.root),
                  check=False).returncode == 0
    access = registry.log_text()
    assert f'"PUT /v2/{repo}/manifests/1 HTTP' in access  # the push, in the access log
    assert f'"GET /v2/{repo}/manifests/' not in access  # and no pull


CACHED = """\
FROM {base}
RUN echo {nonce} && cat /proc/sys/kernel/random/uuid > /stamp
"""


def test_registry_cache_feeds_an_empty_store(tmp_path: Path, built: Project, tenants: Tenants,
                                             registry: Registry) -> None:
    """Project A pushes its layer cache; project B, with an empty store, reuses it."""
    cache_repo = f"{registry.host}/cachetest/cache"
    containerfile = CACHED.format(base=BASE, nonce=_unique())

    def pipeline(cache: str) -> str:
        return with_registry(f"""
            version: 1
            jobs:
              img:
                build: {{cache: {cache}}}
              use:
                image: {OUTPUT_IMAGE}
                script: ["echo stamp=$(cat /stamp)"]
            """, registry)

    first = built
    first.write(pipeline(f"{{to: {cache_repo}}}"), Containerfile=containerfile)
    second = tenants.add(new_project(tmp_path / "second", tmp_path / "cache2"))
    second.write(pipeline(f"{{from: [{cache_repo}]}}"), Containerfile=containerfile)
    stamps = []
    for project in (first, second):
        run = _run(project, **_pw(registry))
        assert run.code == 0, run.out + run.err
        stamps.append(re.search(r"use\s*\| stamp=([0-9a-f-]{36})", run.out))
    assert stamps[0] and stamps[1]
    assert "Pushing cache" in first.log("img")
    assert registry.tags("cachetest/cache") != []
    log = second.log("img")
    assert f"Cache pulled from remote {cache_repo}" in log, log
    assert "Using cache" in log
    assert stamps[0][1] == stamps[1][1]
    work = second.state / "work"
    assert not work.exists() or list(work.iterdir()) == []


def _image_bytes(store_image: str, project: Project, dest: Path) -> list[bytes]:
    """Every blob of image ``store_image`` of ``project``'s tenant store, layers unpacked."""
    buildah("push", "--quiet", store_image, f"dir:{dest}", store=tenant_store(project.root))
    blobs = []
    for path in sorted(dest.iterdir()):
        data = path.read_bytes()
        blobs.append(gzip.decompress(data) if data[:2] == b"\x1f\x8b" else data)
    return blobs


def test_build_secret_is_usable_but_kept_out(tmp_path: Path, built: Project) -> None:
    """A RUN step reads the job's secret; the image, its history and the log never hold it."""
    value = f"build-secret-{_unique()}"
    built.write(f"""
        version: 1
        secrets: {{X: {{env: BUILD_SECRET}}}}
        jobs:
          img:
            secrets: [X]
            build: {{}}
          use:
            image: {OUTPUT_IMAGE}
            script: ["echo length=$(cat /length)", "test ! -e /run/secrets/X && echo no-file"]
        """, Containerfile=(
            f"FROM {BASE}\n"
            "RUN --mount=type=secret,id=X cat /run/secrets/X > /dev/null && echo secret-ok\n"
            "RUN --mount=type=secret,id=X wc -c < /run/secrets/X > /length\n"))
    run = _run(built, BUILD_SECRET=value)
    assert run.code == 0, run.out + run.err
    assert "secret-ok" in built.log("img")
    assert said(run.out, "use", f"length={len(value)}")
    assert said(run.out, "use", "no-file")
    image_id = str(job_results(built)["img"]["digest"])
    blobs = _image_bytes(image_id, built, tmp_path / "image")
    assert len(blobs) >= 3  # manifest, config, layers
    assert all(value.encode() not in blob for blob in blobs)
    texts = [run.out, run.err]
    texts += [p.read_text(errors="replace") for p in built.state.rglob("*") if p.is_file()]
    assert all(value not in text for text in texts)


def test_running_a_built_image_keeps_the_runtime_dir_private(built: Project) -> None:
    """Running a built image must not stop the next run.

    podman adds search bits (0711) to every parent of a container's run dir
    when the container has its own uid slice, up to $XDG_RUNTIME_DIR for a
    tenant store's run root. That must neither open the dir to reading nor
    make runner's host check refuse the next run (it once did, with exit 3).
    """
    built.write(f"""
        version: 1
        jobs:
          img:
            build: {{}}
          use:
            image: {OUTPUT_IMAGE}
            script: ["true"]
        """, Containerfile=f"FROM {BASE}\nRUN true\n")
    first = built.run(timeout=BUILD_TIMEOUT)
    assert first.code == 0, first.out + first.err
    assert runtime_dir_mode() & 0o066 == 0, f"{runtime_dir_mode():04o}"
    second = built.run(timeout=BUILD_TIMEOUT)
    assert second.code == 0, second.err


def test_built_image_runs_with_a_service_in_its_own_store(built: Project) -> None:
    """A job running a built image may have services: its pod and the service join the job
    in the project's store (a pod cannot span stores), and nothing lands in the user's."""
    built.write(f"""
        version: 1
        jobs:
          img:
            build: {{}}
          use:
            image: {OUTPUT_IMAGE}
            services:
              - image: {BASE}
                alias: web
                command: ["sh", "-c", "mkdir /s && echo up > /s/i && exec httpd -f -p 8080 -h /s"]
                ports: [8080]
            script: ["cat /made-here", "wget -qO- http://web:8080/i"]
        """, Containerfile=f"FROM {BASE}\nRUN echo made-here > /made-here\n")
    run = _run(built)
    assert run.code == 0, run.out + run.err
    assert said(run.out, "use", "made-here") and said(run.out, "use", "up"), run.out
    assert "ready on port 8080" in built.log("use")
