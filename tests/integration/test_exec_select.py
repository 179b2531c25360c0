"""Running one job as gitlab-ci-local does: needs' kept results, manual and matrix jobs by name,
and the project found from a subdirectory (issue 16)."""

from __future__ import annotations

import json
import subprocess
import textwrap
from pathlib import Path

import pytest

from tests.integration.harness import Project, Run, said

pytestmark = pytest.mark.podman

PIPELINE = """\
image: localhost/busybox:latest
build:
  stage: build
  script:
    - mkdir -p out && echo "app built" > out/app
    - echo VERSION=4.0.0 > build.env
  artifacts:
    paths: [out/]
    reports: {dotenv: build.env}
test:
  stage: test
  script: [cat out/app, 'echo "version=$VERSION"']
"""


def _write(root: Path, text: str, name: str = ".gitlab-ci.yml") -> None:
    path = root / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(textwrap.dedent(text))


def _statuses(state: Path) -> dict[str, str]:
    result = json.loads((state / "result.json").read_text())
    return {job["name"]: job["status"] for job in result["jobs"]}


def _run_in(project: Project, cwd: Path, *args: str) -> Run:
    proc = subprocess.run(project.argv(*args), cwd=cwd, env=project.env(), capture_output=True,
                          text=True, timeout=180, check=False)
    return Run(proc.returncode, proc.stdout, proc.stderr)


def test_named_job_refuses_when_a_need_never_succeeded(project: Project) -> None:
    """No kept run of 'build': exit 2 naming it and --needs, before any job runs."""
    _write(project.root, PIPELINE)
    run = project.run(".gitlab-ci.yml", "test")
    assert run.code == 2, run.out + run.err
    assert "'build'" in run.err and "--needs" in run.err
    assert "Traceback" not in run.err
    assert not (project.state / "result.json").exists()


def test_named_job_takes_artifacts_and_dotenv_of_the_last_successful_run(
        project: Project) -> None:
    """After a full run, `exec FILE test` runs test alone with build's artifacts and dotenv."""
    _write(project.root, PIPELINE)
    full = project.run(".gitlab-ci.yml")
    assert full.code == 0, full.out + full.err
    alone = project.run(".gitlab-ci.yml", "test")
    assert alone.code == 0, alone.out + alone.err
    assert said(alone.out, "test", "app built")
    assert said(alone.out, "test", "version=4.0.0")
    assert _statuses(project.state) == {"test": "success"}
    assert "takes the artifacts and dotenv variables of 'build' from its run" in alone.err


def test_a_failed_run_that_replaced_the_kept_files_is_not_taken(project: Project) -> None:
    """A need whose last run failed and kept its files anyway (artifacts:when: always) is not
    taken from; one whose failed run kept nothing still gives its last passing run's."""
    flaky = PIPELINE.replace("    - echo VERSION=4.0.0 > build.env\n",
                             "    - echo VERSION=4.0.0 > build.env\n    - test -z \"$BREAK\"\n")
    _write(project.root, flaky)
    assert project.run(".gitlab-ci.yml").code == 0
    assert project.run(".gitlab-ci.yml", "build", "--variable", "BREAK=1").code == 1
    still = project.run(".gitlab-ci.yml", "test")
    assert still.code == 0, still.out + still.err
    assert said(still.out, "test", "version=4.0.0")
    _write(project.root, flaky.replace("    paths: [out/]\n",
                                       "    paths: [out/]\n    when: always\n"))
    assert project.run(".gitlab-ci.yml", "build", "--variable", "BREAK=1").code == 1
    refused = project.run(".gitlab-ci.yml", "test")
    assert refused.code == 2, refused.out + refused.err
    assert "'build' (needed by 'test') failed in its last run" in refused.err
    assert "--needs" in refused.err
    assert _statuses(project.state) == {"build": "failed"}


def test_a_named_manual_job_runs(project: Project) -> None:
    """Naming a `when: manual` job is its manual action."""
    _write(project.root, """\
        image: localhost/busybox:latest
        deploy:
          needs: []
          when: manual
          script: [echo deploying]
        """)
    run = project.run(".gitlab-ci.yml", "deploy")
    assert run.code == 0, run.out + run.err
    assert said(run.out, "deploy", "deploying")
    assert _statuses(project.state) == {"deploy": "success"}


def test_a_parallel_job_is_selected_by_its_base_name(project: Project) -> None:
    """`unit` selects each `unit: [...]` job of a matrix, `shard` each `shard i/N`."""
    _write(project.root, """\
        image: localhost/busybox:latest
        unit:
          needs: []
          parallel:
            matrix: [{PY: ['3.11', '3.12']}]
          script: ['echo "py=$PY"']
        shard:
          needs: []
          parallel: 2
          script: [echo shard]
        """)
    listed = project.run(".gitlab-ci.yml", "shard", "--list")
    assert listed.code == 0, listed.err
    assert [line.split()[:2] for line in listed.out.splitlines()[1:]] == [
        ["shard", "1/2"], ["shard", "2/2"]]
    run = project.run(".gitlab-ci.yml", "unit")
    assert run.code == 0, run.out + run.err
    assert said(run.out, "unit: [3.11]", "py=3.11")
    assert said(run.out, "unit: [3.12]", "py=3.12")
    assert _statuses(project.state) == {"unit: [3.11]": "success", "unit: [3.12]": "success"}


def test_project_is_the_git_top_level_from_a_subdirectory(project: Project) -> None:
    """`runner exec` in a subdirectory finds the top's .gitlab-ci.yml; a GitLab file in a
    subdirectory still runs with the whole repository as its project."""
    _write(project.root, """\
        image: localhost/busybox:latest
        include: {local: ci/jobs.yml}
        """)
    _write(project.root, """\
        top:
          script: [cat top.txt, 'echo "dir=$CI_PROJECT_DIR"']
        """, "ci/jobs.yml")
    _write(project.root, """\
        image: localhost/busybox:latest
        other:
          script: [cat top.txt]
        """, "ci/other.gitlab-ci.yml")
    (project.root / "top.txt").write_text("at the top\n")
    sub = project.root / "src" / "deep"
    sub.mkdir(parents=True)
    run = _run_in(project, sub)
    assert run.code == 0, run.out + run.err
    assert said(run.out, "top", "at the top")
    assert said(run.out, "top", f"dir=/builds/{project.root.name}")
    assert _statuses(project.state) == {"top": "success"}
    assert not (sub / ".runner").exists()
    other = _run_in(project, project.root, "ci/other.gitlab-ci.yml")
    assert other.code == 0, other.out + other.err
    assert said(other.out, "other", "at the top")
    assert not (project.root / "ci" / ".runner").exists()
