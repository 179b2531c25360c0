"""Tests of job keywords in the GitLab translation: image, artifacts, cache, retry and the rest."""

from __future__ import annotations

import hashlib
import subprocess
from pathlib import Path

from runner.errors import SourceSpot
from runner.pipeline.gitlab.cache import dir_key
from runner.pipeline.model import Artifacts, Cache, CachePolicy, RetryOn, When
from tests.unit.pipeline.gitlab.test_translate import FILE, error, translated

# ---------------------------------------------------------------- image


def test_image_string_or_map_expanded(tmp_path: Path) -> None:
    pipeline = translated(
        """\
        variables: {TAG: "3.19"}
        a: {image: "alpine:$TAG", script: x}
        b:
          image: {name: "alpine:${TAG}", entrypoint: [""], pull_policy: if-not-present}
          script: x
        c: {image: {name: busybox, entrypoint: [/bin/sh, -c]}, script: x}
        """,
        tmp_path,
    )
    assert [j.image for j in pipeline.jobs] == ["alpine:3.19", "alpine:3.19", "busybox"]
    assert [j.pull_policy for j in pipeline.jobs] == [(), ("if-not-present",), ()]
    assert pipeline.notes == (
        "these keywords have no effect in a local run and were ignored:"
        " 'image:entrypoint' (1 job)",
    )


def test_image_pull_policy_lists_keep_their_order(tmp_path: Path) -> None:
    """gitlab-runner tries the policies in order: [always, if-not-present] falls back."""
    pipeline = translated(
        """\
        a: {image: {name: alpine, pull_policy: [always, if-not-present]}, script: x}
        b: {image: {name: alpine, pull_policy: never}, script: x}
        """,
        tmp_path,
    )
    assert [j.pull_policy for j in pipeline.jobs] == [("always", "if-not-present"), ("never",)]


def test_an_unknown_pull_policy_names_its_line(tmp_path: Path) -> None:
    exc = error("j:\n  image: {name: alpine, pull_policy: [always, sometimes]}\n  script: x\n",
                tmp_path)
    assert exc.spot.line == 2
    assert "sometimes" in exc.message and "if-not-present" in exc.message


def test_job_without_image_anywhere(tmp_path: Path) -> None:
    exc = error("build:\n  script: make\n", tmp_path, no_image_hint="HINT")
    assert exc.spot == SourceSpot(FILE, 1, 1, "build")
    assert exc.message == (
        "job 'build' has no image and no default image is set; HINT, or add 'image: <name>'"
        " to the job or 'default: image: <name>' to the file (runner runs each job in a"
        " container)"
    )


def test_job_without_image_runs_in_the_default_image(tmp_path: Path) -> None:
    """As on a docker runner with ``[runners.docker] image``; the job's own image wins."""
    pipeline = translated("a: {script: x}\nb: {image: alpine, script: x}\n", tmp_path,
                          default_image=("busybox:1", "--image"))
    assert [(j.image, j.image_from) for j in pipeline.jobs] == [("busybox:1", "--image"),
                                                                ("alpine", None)]


def test_listing_keeps_jobs_that_need_a_default_image(tmp_path: Path) -> None:
    pipeline = translated("a: {script: x}\n", tmp_path, listing=True)
    assert [(j.name, j.image, j.image_from) for j in pipeline.jobs] == [("a", "", None)]


def test_image_empty_after_expansion(tmp_path: Path) -> None:
    exc = error("j: {image: $NOPE, script: x}", tmp_path)
    assert exc.spot == SourceSpot(FILE, 1, 12, "j.image")
    assert exc.message == "the image of job 'j' is empty after expanding '$NOPE'"


def test_image_map_needs_a_name(tmp_path: Path) -> None:
    exc = error("j: {image: {entrypoint: ['']}, script: x}", tmp_path)
    assert exc.spot == SourceSpot(FILE, 1, 12, "j.image.name")
    assert exc.message == "'image' of job 'j' has no 'name'"


# ---------------------------------------------------------------- script


def test_missing_or_empty_script(tmp_path: Path) -> None:
    exc = error("j: {image: a}", tmp_path)
    assert exc.spot == SourceSpot(FILE, 1, 1, "j.script")
    assert exc.message == "job 'j' has no 'script'; add the commands it runs"
    exc = error("j: {image: a, script: []}", tmp_path)
    assert exc.message == "'script' of job 'j' is empty"


# ---------------------------------------------------------------- artifacts


def test_artifacts_every_supported_key(tmp_path: Path) -> None:
    pipeline = translated(
        """\
        j:
          image: a
          script: x
          variables: {OUT: dist}
          artifacts:
            name: "$CI_JOB_NAME"
            paths: [$OUT/, "$CI_PROJECT_DIR/report.txt", "build/**/*.o"]
            exclude: [$OUT/tmp/**]
            when: always
            untracked: true
            expire_in: 1 week
            expose_as: Report
            public: false
            access: developer
            reports:
              dotenv: [build.env]
              junit: report.xml
        """,
        tmp_path,
    )
    assert pipeline.jobs[0].artifacts == Artifacts(
        paths=("dist/", "report.txt", "build/**/*.o"),
        when=When.ALWAYS,
        exclude=("dist/tmp/**",),
        untracked=True,
        dotenv=("build.env",),
    )
    assert pipeline.notes == (
        "these keywords have no effect in a local run and were ignored:"
        " 'artifacts:reports:junit' (1 job)",
    )


def test_artifacts_with_nothing_to_keep_are_none(tmp_path: Path) -> None:
    pipeline = translated("j: {image: a, script: x, artifacts: {expire_in: 1d}}", tmp_path)
    assert pipeline.jobs[0].artifacts is None
    pipeline = translated(
        "j: {image: a, script: x, artifacts: {reports: {dotenv: a.env}}}", tmp_path
    )
    assert pipeline.jobs[0].artifacts == Artifacts(paths=(), dotenv=("a.env",))


def test_artifact_paths_leaving_the_project_are_skipped_not_refused(tmp_path: Path) -> None:
    """gitlab-runner's archiver skips them with a warning when it saves; GitLab accepts the file."""
    pipeline = translated(
        "j:\n  image: a\n  script: x\n  artifacts:\n"
        "    paths: [/etc/passwd, a/../../x, dist/, $CI_PROJECT_DIR/out]\n"
        "    exclude: [../*.log]\n    reports: {dotenv: ../b.env}\n",
        tmp_path,
    )
    assert pipeline.jobs[0].artifacts == Artifacts(
        paths=("dist/", "out"), skipped=("/etc/passwd", "a/../../x", "../b.env")
    )
    only_outside = translated("j: {image: a, script: x, artifacts: {paths: [../x]}}", tmp_path)
    assert only_outside.jobs[0].artifacts == Artifacts(paths=(), skipped=("../x",))


def test_artifacts_when_is_checked(tmp_path: Path) -> None:
    exc = error("j: {image: a, script: x, artifacts: {paths: [a], when: manual}}", tmp_path)
    assert exc.message == (
        "'when' of 'artifacts' of job 'j' cannot be 'manual'; use one of 'on_success',"
        " 'on_failure', 'always'"
    )


# ---------------------------------------------------------------- cache


def test_cache_keys_become_safe_directory_names(tmp_path: Path) -> None:
    pipeline = translated(
        """\
        j:
          image: a
          script: x
          cache:
            - key: $CI_COMMIT_REF_SLUG
              paths: [node_modules/]
              policy: pull
              when: always
              fallback_keys: [main/x, plain]
            - paths: [.m2/]
            - key: "deps: $CI_JOB_NAME"
              paths: [vendor]
              policy: $POLICY
          variables: {POLICY: push}
        """,
        tmp_path,
    )
    digest = hashlib.sha256(b"main/x").hexdigest()[:8]
    odd = hashlib.sha256(b"deps: j").hexdigest()[:8]
    assert pipeline.jobs[0].cache == (
        Cache(
            "main",
            ("node_modules/",),
            CachePolicy.PULL,
            When.ALWAYS,
            (f"main_x-{digest}", "plain"),
        ),
        Cache("default", (".m2/",)),
        Cache(f"deps__j-{odd}", ("vendor",), CachePolicy.PUSH),
    )


def test_dir_key_never_collides_or_escapes() -> None:
    assert dir_key("a/b") != dir_key("a_b")
    assert dir_key("a_b") == "a_b"
    assert dir_key("..").startswith("__-")
    assert dir_key("") == "default-" + hashlib.sha256(b"").hexdigest()[:8]
    long = dir_key("x" * 300)
    assert len(long) == 109
    assert long.startswith("x" * 100 + "-")


def _git(root: Path, *args: str) -> str:
    env = {"GIT_AUTHOR_NAME": "a", "GIT_AUTHOR_EMAIL": "a@x", "GIT_COMMITTER_NAME": "a",
           "GIT_COMMITTER_EMAIL": "a@x", "HOME": str(root), "PATH": "/usr/bin:/bin"}
    done = subprocess.run(["git", "-C", str(root), *args], env=env, capture_output=True,
                          text=True, check=True, timeout=30)
    return done.stdout.strip()


def _sha1(text: str) -> str:
    return hashlib.sha1(text.encode()).hexdigest()


CACHE_BY_FILES = """\
    j:
      image: a
      script: x
      cache:
        - key: {files: [package-lock.json, yarn.lock], prefix: $CI_JOB_NAME}
          paths: [node_modules/]
        - key: {files: [absent.lock]}
          paths: [x/]
        - key: {files_commits: [package-lock.json, Gemfile.lock], prefix: c}
          paths: [y/]
        - key: {files: ["*.lock"]}
          paths: [z/]
    """


def test_cache_keys_from_files_are_gitlabs(tmp_path: Path) -> None:
    """GitLab's Seed::Build::Cache: prefix-SHA1 of the sorted blob ids (files) or of the
    last commits that changed the files (files_commits); 'default' when there is none."""
    _git(tmp_path, "init", "-q")
    (tmp_path / "package-lock.json").write_text("{}")
    (tmp_path / "Gemfile.lock").write_text("gems\n")
    _git(tmp_path, "add", ".")
    _git(tmp_path, "commit", "-qm", "one")
    first_commit = _git(tmp_path, "rev-parse", "HEAD")
    (tmp_path / "Gemfile.lock").write_text("gems 2\n")
    _git(tmp_path, "commit", "-qam", "two")
    second_commit = _git(tmp_path, "rev-parse", "HEAD")
    lock_blob = _git(tmp_path, "rev-parse", "HEAD:package-lock.json")
    gem_blob = _git(tmp_path, "rev-parse", "HEAD:Gemfile.lock")
    keys = [c.key for c in translated(CACHE_BY_FILES, tmp_path).jobs[0].cache]
    assert keys == [
        f"j-{_sha1(lock_blob)}",
        "default",
        "c-" + _sha1("-".join(sorted({first_commit, second_commit}))),
        _sha1(gem_blob),
    ]
    # Another run of the same commit shares the caches; editing a file changes its keys.
    assert [c.key for c in translated(CACHE_BY_FILES, tmp_path).jobs[0].cache] == keys
    (tmp_path / "package-lock.json").write_text('{"a": 1}')
    edited = [c.key for c in translated(CACHE_BY_FILES, tmp_path).jobs[0].cache]
    assert edited[0] != keys[0]
    assert edited[1:] == keys[1:]


def test_cache_key_files_without_git_hash_the_files(tmp_path: Path) -> None:
    """No repository: blob ids still come from the files; no commits, so 'default'."""
    (tmp_path / "package-lock.json").write_text("{}")
    keys = [c.key for c in translated(CACHE_BY_FILES, tmp_path).jobs[0].cache]
    blob = hashlib.sha1(b"blob 2\0{}").hexdigest()
    assert keys == [f"j-{_sha1(blob)}", "default", "c-default", "default"]


def test_cache_key_files_limits(tmp_path: Path) -> None:
    exc = error("j: {image: a, script: x, cache: {key: {files: [a, b, c]}, paths: [x]}}", tmp_path)
    assert exc.spot == SourceSpot(FILE, 1, 47, "j.cache.key.files")
    assert exc.message == "'files' of 'key' of 'cache' of job 'j' must list 1 or 2 files, not 3"
    exc = error("j: {image: a, script: x, cache: {key: {files: [a], files_commits: [a]},"
                " paths: [x]}}", tmp_path)
    assert exc.message == (
        "'key' of 'cache' of job 'j' must have one of 'files' and 'files_commits', not both"
    )


def test_cache_paths_outside_the_project_are_skipped_not_refused(tmp_path: Path) -> None:
    """/var/cache/apt/archives/ (seen in real files) is kept aside for the save-time warning."""
    pipeline = translated(
        "j:\n  image: a\n  script: x\n  cache:\n"
        "    - {key: apt, paths: [/var/cache/apt/archives/]}\n"
        "    - {key: mixed, paths: [.cache/, ../up]}\n",
        tmp_path,
    )
    assert pipeline.jobs[0].cache == (
        Cache("apt", (), skipped=("/var/cache/apt/archives/",)),
        Cache("mixed", (".cache/",), skipped=("../up",)),
    )


def test_cache_without_paths_is_left_out_and_untracked_is_noted(tmp_path: Path) -> None:
    pipeline = translated("j: {image: a, script: x, cache: {untracked: true}}", tmp_path)
    assert pipeline.jobs[0].cache == ()
    assert pipeline.notes == (
        "these keywords have no effect in a local run and were ignored: 'cache:untracked' (1 job)",
    )


def test_too_many_caches_and_bad_policy(tmp_path: Path) -> None:
    five = ", ".join(f"{{key: k{i}, paths: [p]}}" for i in range(5))
    exc = error(f"j: {{image: a, script: x, cache: [{five}]}}", tmp_path)
    assert exc.message == "'cache' of job 'j' lists 5 caches; GitLab allows 4"
    exc = error(
        "j: {image: a, script: x, variables: {P: pul}, cache: {paths: [p], policy: $P}}", tmp_path
    )
    assert exc.spot == SourceSpot(FILE, 1, 75, "j.cache.policy")
    assert exc.message == "cache policy 'pul' (from '$P') must be one of pull, push, pull-push"


# ---------------------------------------------------------------- timeout, retry, when


def test_timeout_in_gitlab_words(tmp_path: Path) -> None:
    pipeline = translated(
        """\
        a: {image: i, script: x, timeout: 1h 30m}
        b: {image: i, script: x, timeout: 10 minutes}
        c: {image: i, script: x, timeout: 3h}
        """,
        tmp_path,
    )
    assert [j.timeout_s for j in pipeline.jobs] == [5400.0, 600.0, 10800.0]
    exc = error("a: {image: i, script: x, timeout: soon}", tmp_path)
    assert exc.spot == SourceSpot(FILE, 1, 35, "a.timeout")


def test_retry_forms_and_kinds(tmp_path: Path) -> None:
    pipeline = translated(
        """\
        plain: {image: i, script: x, retry: 2}
        kinds:
          image: i
          script: x
          retry: {max: 1, when: [script_failure, stuck_or_timeout_failure, api_failure]}
        always: {image: i, script: x, retry: {max: 2, when: [always, script_failure]}}
        one: {image: i, script: x, retry: {max: 2, when: unknown_failure, exit_codes: [137]}}
        impossible: {image: i, script: x, retry: {max: 2, when: [archived_failure]}}
        codes: {image: i, script: x, retry: {max: 1, exit_codes: 137}}
        every: {image: i, script: x, retry: {max: 1, when: always, exit_codes: [1, 1, 2]}}
        """,
        tmp_path,
    )
    got = [(j.retry, j.retry_on, j.retry_exit_codes) for j in pipeline.jobs]
    assert got == [
        (2, (), ()),
        (1, (RetryOn.SCRIPT_FAILURE, RetryOn.TIMEOUT, RetryOn.SYSTEM_FAILURE), ()),
        (2, (), ()),
        (2, (RetryOn.SYSTEM_FAILURE,), (137,)),
        (0, (), ()),
        (1, (), (137,)),
        (1, tuple(RetryOn), (1, 2)),
    ]
    assert pipeline.notes == (
        "these keywords have no effect in a local run and were ignored:"
        " 'retry:when:archived_failure' (1 job)",
    )


def test_retry_limits(tmp_path: Path) -> None:
    exc = error("j: {image: i, script: x, retry: 3}", tmp_path)
    assert exc.message == "'retry' of job 'j' (or a mapping with 'max') must be from 0 to 2, got 3"
    exc = error("j: {image: i, script: x, retry: {max: 1, when: script_failur}}", tmp_path)
    assert exc.spot == SourceSpot(FILE, 1, 48, "j.retry.when")
    assert exc.message == (
        "a 'when' of 'retry' of job 'j' cannot be 'script_failur'; did you mean 'script_failure'?"
    )


def test_allow_failure_forms(tmp_path: Path) -> None:
    pipeline = translated(
        """\
        a: {image: i, script: x, allow_failure: true}
        b: {image: i, script: x, allow_failure: {exit_codes: 137}}
        c: {image: i, script: x, allow_failure: {exit_codes: [1, 2]}}
        """,
        tmp_path,
    )
    assert [(j.allow_failure, j.allow_failure_codes) for j in pipeline.jobs] == [
        (True, ()),
        (True, (137,)),
        (True, (1, 2)),
    ]
    exc = error("a: {image: i, script: x, allow_failure: 'yes'}", tmp_path)
    assert exc.message == (
        "'allow_failure' of job 'a' must be a boolean (true or false), got a string"
    )


def test_when_values(tmp_path: Path) -> None:
    pipeline = translated(
        """\
        a: {image: i, script: x, when: on_failure}
        b: {image: i, script: x, when: always}
        c: {image: i, script: x, when: delayed, start_in: 30 minutes}
        """,
        tmp_path,
    )
    assert [j.when for j in pipeline.jobs] == [When.ON_FAILURE, When.ALWAYS, When.DELAYED]
    exc = error("a: {image: i, script: x, when: never}", tmp_path)
    assert exc.spot == SourceSpot(FILE, 1, 32, "a.when")
    assert exc.message == (
        "'when' of job 'a' cannot be 'never' (GitLab allows it only in rules); to leave the job"
        " out write 'rules: [{when: never}]'"
    )
    exc = error("a: {image: i, script: x, when: delayed}", tmp_path)
    assert exc.message == "job 'a' is delayed but has no 'start_in'"
    exc = error("a: {image: i, script: x, start_in: 1m}", tmp_path)
    assert exc.message == "'start_in' of job 'a' goes with 'when: delayed' only"


def test_coverage_regex_becomes_python(tmp_path: Path) -> None:
    pipeline = translated(r"j: {image: i, script: x, coverage: '/Total: \d+\.\d+%/'}", tmp_path)
    assert pipeline.jobs[0].coverage == r"Total: \d+\.\d+%"
    exc = error(r"j: {image: i, script: x, coverage: 'Total: \d+'}", tmp_path)
    assert exc.message == (
        "'coverage' of job 'j' must be a regex between slashes, like '/Total: \\d+%/'"
    )
    exc = error("j: {image: i, script: x, coverage: '/(?<=a)b/'}", tmp_path)
    assert exc.message.startswith("'coverage' of job 'j' is not a valid regex: ")


# ---------------------------------------------------------------- keyword table


def test_unsupported_keywords_are_reported_together(tmp_path: Path) -> None:
    exc = error(
        """\
        default:
          id_tokens: {ID_TOKEN: {aud: https://example.com}}
        a:
          image: i
          script: x
          identity: google_cloud
        b:
          image: i
          script: x
          secrets: {T: {vault: x}}
          release: {tag_name: v1}
        """,
        tmp_path,
    )
    assert exc.spot == SourceSpot(FILE, 2, 3, "default.id_tokens")
    assert exc.message == (
        "this pipeline uses 4 keywords runner does not support:"
        f" 'default.id_tokens' at {FILE}:2 (OIDC ID tokens are not supported);"
        f" 'a.identity' at {FILE}:6 (identity federation is not supported);"
        f" 'b.secrets' at {FILE}:10 (external secrets (Vault and others) are not supported;"
        " pass them with --secret or a variables file);"
        f" 'b.release' at {FILE}:11 (creating GitLab releases is not supported);"
        " remove them (or move the jobs that need them out of the file) to run it locally"
    )


def test_keywords_without_local_effect_make_one_note(tmp_path: Path) -> None:
    pipeline = translated(
        """\
        a: {image: i, script: x, tags: [docker], environment: prod, interruptible: true}
        b: {image: i, script: x, tags: [docker], resource_group: deploy}
        """,
        tmp_path,
    )
    assert pipeline.notes == (
        "these keywords have no effect in a local run and were ignored: 'environment' (1 job),"
        " 'interruptible' (1 job), 'resource_group' (1 job), 'tags' (2 jobs)",
    )


def test_unknown_keys_get_a_suggestion(tmp_path: Path) -> None:
    exc = error("j: {image: i, script: x, artefacts: {paths: [a]}}", tmp_path)
    assert exc.spot == SourceSpot(FILE, 1, 26, "j.artefacts")
    assert exc.message == "unknown key 'artefacts' in job 'j'; did you mean 'artifacts'?"
    exc = error("stage: [a]\nj: {image: i, script: x}", tmp_path)
    assert exc.spot == SourceSpot(FILE, 1, 1, "stage")
    assert exc.message == "unknown key 'stage' at the top level; did you mean 'stages'?"


def test_unknown_default_key_is_not_silently_dropped(tmp_path: Path) -> None:
    exc = error("default: {imgae: a}\nj: {image: i, script: x}", tmp_path)
    assert exc.spot == SourceSpot(FILE, 1, 11, "default.imgae")
    assert exc.message == "unknown key 'imgae' in 'default'; did you mean 'image'?"


def test_deprecated_types_and_type(tmp_path: Path) -> None:
    exc = error("types: [build]\nj: {image: i, script: x}", tmp_path)
    assert exc.spot == SourceSpot(FILE, 1, 1, "types")
    assert exc.message == (
        "'types' is a deprecated name for 'stages' that GitLab no longer reads; rename it to"
        " 'stages'"
    )
    exc = error("j: {image: i, script: x, type: build}", tmp_path)
    assert exc.spot == SourceSpot(FILE, 1, 26, "j.type")


def test_unknown_stage_suggests_the_closest(tmp_path: Path) -> None:
    exc = error("stages: [build, deploy]\nj: {image: i, script: x, stage: biuld}", tmp_path)
    assert exc.spot == SourceSpot(FILE, 2, 33, "j.stage")
    assert exc.message == (
        "'stage' of job 'j' is 'biuld', which is not in 'stages'; did you mean 'build'?"
    )
    exc = error("stages: [build]\nj: {image: i, script: x}", tmp_path)
    assert exc.message == (
        "job 'j' has no 'stage', and the default stage 'test' is not in 'stages'; give the job"
        " a 'stage'"
    )


def test_odd_yaml_types_are_errors_not_tracebacks(tmp_path: Path) -> None:
    cases = [
        "j: {image: [a], script: x}",
        "j: {image: a, script: {a: b}}",
        "j: {image: a, script: x, variables: [A]}",
        "j: {image: a, script: x, needs: a}",
        "j: {image: a, script: x, rules: {if: $A}}",
        "j: {image: a, script: x, rules: [[{if: 1}]]}",
        "j: {image: a, script: x, cache: [a]}",
        "j: {image: a, script: x, artifacts: [a]}",
        "j: {image: a, script: x, parallel: {matrix: {A: b}}}",
        "j: {image: a, script: x, only: 3}",
        "j: {image: a, script: x, inherit: [variables]}",
        "j: {image: a, script: x, retry: {max: true}}",
        "j: {image: a, script: x, timeout: [1]}",
        "j: {image: a, script: x, coverage: 5}",
        "j: {image: a, script: x, stage: 5}",
        "j: {image: a, script: x, dependencies: {a: b}}",
        "j: {image: a, script: x, allow_failure: {exit_codes: [x]}}",
        "workflow: [a]\nj: {image: a, script: x}",
        "variables: [a]\nj: {image: a, script: x}",
        "stages: {a: b}\nj: {image: a, script: x}",
    ]
    for text in cases:
        exc = error(text, tmp_path)
        assert exc.spot.file == FILE, text
        assert exc.spot.line is not None, text
