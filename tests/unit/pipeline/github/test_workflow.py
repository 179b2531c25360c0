"""Tests of reading a GitHub workflow into the model (runner.pipeline.github.translate)."""

from __future__ import annotations

import subprocess
import textwrap
from pathlib import Path

import pytest

from runner.errors import PipelineError, PipelineErrors, UsageError
from runner.pipeline.github.translate import GithubOptions, Workflow, load_workflow
from runner.pipeline.load import detect_dialect
from runner.pipeline.model import Health, Need, Registry, SecretSource
from runner.pipeline.steps import MatrixGroup

IMAGE = "localhost/busybox:latest"
PLATFORMS = (("ubuntu-latest", IMAGE),)


def write(root: Path, text: str) -> Path:
    path = root / ".github" / "workflows" / "ci.yml"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(textwrap.dedent(text))
    return path


def load(root: Path, text: str, **given: object) -> Workflow:
    options = GithubOptions(**{"platforms": PLATFORMS, **given})  # type: ignore[arg-type]
    return load_workflow(write(root, text), root, options)


def problems(root: Path, text: str, **given: object) -> list[str]:
    with pytest.raises(PipelineError) as caught:
        load(root, text, **given)
    error = caught.value
    found = error.errors if isinstance(error, PipelineErrors) else (error,)
    return [str(e) for e in found]


SIMPLE = """\
    on: push
    jobs:
      build:
        runs-on: ubuntu-latest
        steps:
          - run: make
      test:
        needs: build
        runs-on: ubuntu-latest
        strategy:
          matrix:
            python: [3.10, "3.11"]
            os: [ubuntu]
        steps:
          - uses: actions/checkout@v4
          - run: pytest
"""


def test_jobs_and_matrix_instances_become_model_jobs(tmp_path: Path) -> None:
    workflow = load(tmp_path, SIMPLE)
    jobs = workflow.pipeline.jobs
    assert [j.name for j in jobs] == ["build", "test (3.1, ubuntu)", "test (3.11, ubuntu)"]
    assert workflow.pipeline.dialect == "github"
    test = jobs[1]
    assert test.image == IMAGE and test.script == ()
    assert test.needs == (Need("build", artifacts=False),)
    assert test.group == MatrixGroup("test", fail_fast=True, max_parallel=None)
    assert jobs[0].group is None
    assert test.steps is not None and test.condition is not None
    assert test.timeout_s == 360 * 60


def test_on_is_a_key_not_boolean_true(tmp_path: Path) -> None:
    """pyyaml reads ``on`` as true; GitHub reads it as the key "on"."""
    workflow = load(tmp_path, "on:\n  push:\n    branches: ['**']\njobs:\n  a:\n"
                    "    runs-on: ubuntu-latest\n    steps: [{run: x}]\n")
    assert [j.name for j in workflow.pipeline.jobs] == ["a"]


def test_needs_of_a_matrix_job_wait_for_every_instance(tmp_path: Path) -> None:
    workflow = load(tmp_path, SIMPLE + """\
      deploy:
        needs: [test]
        runs-on: ubuntu-latest
        steps: [{run: deploy}]
    """)
    deploy = workflow.pipeline.job("deploy")
    assert [n.job for n in deploy.needs] == ["test (3.1, ubuntu)", "test (3.11, ubuntu)"]


def test_every_problem_in_one_report_with_line_and_key(tmp_path: Path) -> None:
    found = problems(tmp_path, """\
        on: push
        jobs:
          build:
            runs-on: ubuntu-latest
            timeout-minute: 5
            steps:
              - run: make
                shel: bash
              - uses: someone/action@v1
          other:
            uses: org/repo/.github/workflows/x.yml@main
    """)
    text = "\n".join(found)
    assert "ci.yml:5:5 (key 'jobs.build.timeout-minute'): unknown key 'timeout-minute'" in text
    assert "did you mean 'timeout-minutes'?" in text
    assert "(key 'jobs.build.steps[0].shel')" in text and "did you mean 'shell'?" in text
    assert "ci.yml:9:" in text and "someone/action@v1" in text
    assert "ci.yml:11:" in text and "reusable workflows" in text
    assert len(found) == 4


def test_duplicate_keys_are_errors_as_in_github(tmp_path: Path) -> None:
    found = problems(tmp_path, "on: push\non: pull_request\njobs: {}\n")
    assert "ci.yml:2" in found[0]


def test_unmapped_label_names_the_label_and_both_ways(tmp_path: Path) -> None:
    found = problems(tmp_path, "on: push\njobs:\n  a:\n    runs-on: [self-hosted, gpu]\n"
                     "    steps: [{run: x}]\n", platforms=())
    assert len(found) == 1
    assert "ci.yml:4" in found[0] and "'self-hosted'" in found[0]
    assert "--platform self-hosted=IMAGE" in found[0] and "platforms:" in found[0]
    assert "container:" in found[0]


def test_runs_on_list_takes_the_first_mapped_label_and_group_form(tmp_path: Path) -> None:
    workflow = load(tmp_path, """\
        on: push
        jobs:
          a:
            runs-on: [self-hosted, gpu]
            steps: [{run: x}]
          b:
            runs-on: {group: big, labels: gpu}
            steps: [{run: x}]
    """, platforms=(("gpu", "localhost/gpu:1"),))
    assert [j.image for j in workflow.pipeline.jobs] == ["localhost/gpu:1", "localhost/gpu:1"]


def test_container_overrides_the_platform_and_brings_credentials(tmp_path: Path) -> None:
    workflow = load(tmp_path, """\
        on: push
        jobs:
          a:
            runs-on: nowhere
            container:
              image: ghcr.io/org/img:1
              env: {A: "1"}
              credentials:
                username: ${{ github.actor }}
                password: ${{ secrets.TOKEN }}
            steps: [{run: x}]
    """, secrets=(SecretSource("TOKEN", env="TOKEN"),))
    job = workflow.pipeline.jobs[0]
    assert job.image == "ghcr.io/org/img:1"
    assert job.variables == (("A", "1"),)
    spec = workflow.rows[0].spec
    assert spec is not None and ("A", "1") in spec.env  # steps see the container's env
    (registry,) = workflow.pipeline.registries
    assert registry.host == "ghcr.io" and registry.password_secret == "TOKEN"
    assert isinstance(registry, Registry) and registry.username
    assert job.secrets == ("TOKEN",)


def test_literal_password_and_host_volume_are_refused(tmp_path: Path) -> None:
    found = problems(tmp_path, """\
        on: push
        jobs:
          a:
            runs-on: ubuntu-latest
            container:
              image: ghcr.io/org/img:1
              credentials: {username: me, password: hunter2}
              volumes: [/etc:/host-etc]
            steps: [{run: x}]
    """)
    assert any("password must be a secret" in f for f in found)
    assert any("host path" in f and "ci.yml:8" in f for f in found)


def test_services_with_ports_env_and_health(tmp_path: Path) -> None:
    workflow = load(tmp_path, """\
        on: push
        jobs:
          a:
            runs-on: ubuntu-latest
            services:
              postgres:
                image: docker.io/library/postgres:16
                env: {POSTGRES_PASSWORD: postgres}
                ports: ["5432:5432"]
                options: >-
                  --health-cmd pg_isready --health-interval 10s
                  --health-timeout 5s --health-retries 5
            steps: [{run: x}]
    """)
    (service,) = workflow.pipeline.jobs[0].services
    assert service.image == "docker.io/library/postgres:16"
    assert service.aliases == ("postgres",) and service.ports == (5432,)
    assert service.variables == (("POSTGRES_PASSWORD", "postgres"),)
    assert service.health == Health("pg_isready", interval_s=10.0, timeout_s=5.0, retries=5)


def test_refused_container_option_is_named(tmp_path: Path) -> None:
    found = problems(tmp_path, """\
        on: push
        jobs:
          a:
            runs-on: ubuntu-latest
            container: {image: "localhost/x:1", options: --privileged}
            steps: [{run: x}]
    """)
    assert "--privileged" in found[0] and "ci.yml:5" in found[0]


def test_expression_syntax_and_context_availability(tmp_path: Path) -> None:
    found = problems(tmp_path, """\
        on: push
        jobs:
          a:
            runs-on: ${{ secrets.LABEL }}
            steps:
              - run: echo ${{ github.sha
              - run: echo hi
                if: steps.x.outputs == 'y' && secrets.A
    """)
    text = "\n".join(found)
    assert "ci.yml:4" in text and "'secrets' context" in text
    assert "ci.yml:6" in text and "jobs.a.steps[0].run" in text
    assert "ci.yml:8" in text and "jobs.a.steps[1].if" in text


def test_matrix_names_from_name_expression_and_strategy_settings(tmp_path: Path) -> None:
    workflow = load(tmp_path, """\
        on: push
        jobs:
          t:
            name: Test on ${{ matrix.os }}
            runs-on: ubuntu-latest
            strategy:
              fail-fast: false
              max-parallel: 2
              matrix:
                os: [a, b]
            steps: [{run: x}]
    """)
    jobs = workflow.pipeline.jobs
    assert [j.name for j in jobs] == ["Test on a", "Test on b"]
    assert jobs[0].group == MatrixGroup("t", fail_fast=False, max_parallel=2)


def test_matrix_from_inputs_expression_and_needs_refused(tmp_path: Path) -> None:
    text = """\
        on:
          workflow_dispatch:
            inputs:
              versions: {default: '["1", "2"]'}
        jobs:
          t:
            runs-on: ubuntu-latest
            strategy:
              matrix:
                v: ${{ fromJSON(inputs.versions) }}
            steps: [{run: x}]
    """
    workflow = load(tmp_path, text, event="workflow_dispatch")
    assert [j.name for j in workflow.pipeline.jobs] == ["t (1)", "t (2)"]
    found = problems(tmp_path, text.replace("inputs.versions", "needs.a.outputs.v"),
                     event="workflow_dispatch")
    assert any("depends on 'needs'" in f or "'needs' context" in f for f in found)


def test_event_not_in_on_is_a_usage_error_listing_the_events(tmp_path: Path) -> None:
    with pytest.raises(UsageError, match="runs on: pull_request, push"):
        load(tmp_path, "on: [push, pull_request]\njobs:\n  a:\n    runs-on: ubuntu-latest\n"
             "    steps: [{run: x}]\n", event="release")


DISPATCH = """\
    on:
      workflow_dispatch:
        inputs:
          level: {type: choice, options: [low, high], default: low}
          dry: {type: boolean, default: true}
          count: {type: number, required: true}
    jobs:
      a:
        runs-on: ubuntu-latest
        steps: [{run: x}]
"""


def test_dispatch_inputs_are_typed_and_in_the_event(tmp_path: Path) -> None:
    workflow = load(tmp_path, DISPATCH, event="workflow_dispatch",
                    inputs=(("count", "3"), ("level", "high")))
    spec = workflow.rows[0].spec
    assert spec is not None
    assert spec.inputs == {"level": "high", "dry": True, "count": 3.0}
    assert spec.github["event"]["inputs"] == {"level": "high", "dry": "true", "count": "3"}
    assert spec.github["event_name"] == "workflow_dispatch"


@pytest.mark.parametrize(("inputs", "message"), [
    ((), "input 'count' of .* is required"),
    ((("count", "x"),), "is a number"),
    ((("count", "1"), ("level", "mid")), "must be one of: low, high"),
    ((("count", "1"), ("dry", "yes")), "is a boolean"),
    ((("count", "1"), ("nope", "1")), "declares no input 'nope'"),
])
def test_bad_inputs_are_usage_errors(tmp_path: Path, inputs: tuple[tuple[str, str], ...],
                                     message: str) -> None:
    with pytest.raises(UsageError, match=message):
        load(tmp_path, DISPATCH, event="workflow_dispatch", inputs=inputs)


def _git(root: Path, *args: str) -> str:
    return subprocess.run(["git", "-C", str(root), *args], check=True, capture_output=True,
                          text=True).stdout.strip()


def test_github_context_from_a_real_repository(tmp_path: Path) -> None:
    _git(tmp_path, "init", "-q", "-b", "feature")
    _git(tmp_path, "config", "user.name", "Ada Lovelace")
    _git(tmp_path, "config", "user.email", "ada@example.com")
    _git(tmp_path, "remote", "add", "origin", "git@github.com:octo/hello-world.git")
    write(tmp_path, SIMPLE)
    _git(tmp_path, "add", ".")
    _git(tmp_path, "commit", "-qm", "first")
    sha = _git(tmp_path, "rev-parse", "HEAD")
    workflow = load(tmp_path, SIMPLE)
    spec = workflow.rows[1].spec
    assert spec is not None
    github = spec.github
    assert github["sha"] == sha and github["ref"] == "refs/heads/feature"
    assert github["ref_name"] == "feature" and github["ref_type"] == "branch"
    assert github["repository"] == "octo/hello-world" and github["repository_owner"] == "octo"
    assert github["actor"] == "Ada Lovelace" and github["job"] == "test"
    assert github["event_name"] == "push" and github["event"]["after"] == sha
    assert github["workspace"] == f"/builds/{tmp_path.name}"
    assert github["server_url"] == "https://github.com" and github["token"] == ""
    assert github["workflow"] == ".github/workflows/ci.yml"  # no name: the path, as GitHub
    assert spec.matrix == {"python": 3.1, "os": "ubuntu"}
    pr = load(tmp_path, SIMPLE.replace("on: push", "on: pull_request"), event="pull_request")
    github = pr.rows[0].spec.github  # type: ignore[union-attr]
    assert github["ref"] == "refs/pull/1/merge" and github["head_ref"] == "feature"


def test_branch_filter_mismatch_is_a_note(tmp_path: Path) -> None:
    _git(tmp_path, "init", "-q", "-b", "topic")
    workflow = load(tmp_path, "on:\n  push:\n    branches: [main, 'release/**']\njobs:\n  a:\n"
                    "    runs-on: ubuntu-latest\n    steps: [{run: x}]\n")
    assert any("does not match 'topic'" in n for n in workflow.pipeline.notes)


def test_dialect_is_detected_from_workflow_directories() -> None:
    for base in (".github", ".forgejo", ".gitea"):
        assert detect_dialect(Path(f"/p/{base}/workflows/ci.yml")) == "github"
    assert detect_dialect(Path("/p/workflows/ci.yml")) == "native"


def test_a_bad_job_if_is_reported_with_the_other_problems(tmp_path: Path) -> None:
    """A job ``if:`` that does not parse used to stop the report at that one problem."""
    found = problems(tmp_path, """\
        on: push
        jobs:
          a:
            runs-on: ubuntu-latest
            if: ${{ github.ref ==
            env: [1]
            steps: [{run: x}]
    """)
    assert len(found) == 2
    assert "ci.yml:5" in found[0] and "jobs.a.if" in found[0]
    assert "ci.yml:6" in found[1] and "jobs.a.env" in found[1]


def test_empty_file_names_the_keys_a_workflow_needs(tmp_path: Path) -> None:
    assert "needs at least 'on' and 'jobs'" in problems(tmp_path, "")[0]


def test_eventpath_payload_is_github_event_and_gives_pull_request_refs(tmp_path: Path) -> None:
    event = tmp_path / "event.json"
    event.write_text('{"number": 7, "pull_request": {"head": {"ref": "fix"},'
                     ' "base": {"ref": "develop"}}}')
    workflow = load(tmp_path, SIMPLE.replace("on: push", "on: pull_request"),
                    event="pull_request", event_path=event)
    github = workflow.rows[0].spec.github  # type: ignore[union-attr]
    assert github["event"]["number"] == 7
    assert github["ref"] == "refs/pull/7/merge" and github["ref_name"] == "7/merge"
    assert github["head_ref"] == "fix" and github["base_ref"] == "develop"
    event.write_text("[1]")
    with pytest.raises(UsageError, match="must hold a JSON object"):
        load(tmp_path, SIMPLE.replace("on: push", "on: pull_request"), event="pull_request",
             event_path=event)


def test_matrix_problems_point_at_the_key_written(tmp_path: Path) -> None:
    found = problems(tmp_path, """\
        on: push
        jobs:
          t:
            runs-on: ubuntu-latest
            strategy:
              matrix:
                python: ["3.11"]
                exclude:
                  - os: x
                    pyhton: "3.11"
            steps: [{run: x}]
    """)
    assert found == [f"{tmp_path}/.github/workflows/ci.yml:9:13 (key "
                     "'jobs.t.strategy.matrix.exclude[0].os'): exclude key 'os' does not "
                     "match any key of the matrix"]
