"""``runner exec .gitlab-ci.yml`` with the conveniences gitlab-ci-local users expect."""

from __future__ import annotations

import json
import textwrap
from pathlib import Path

import pytest

from tests.integration.harness import Project, said

pytestmark = pytest.mark.podman

PIPELINE = """\
image: localhost/busybox:latest
variables: {GREETING: hello}
build:
  stage: build
  script:
    - echo "$GREETING from $CI_JOB_NAME in $CI_JOB_STAGE"
    - mkdir -p out && echo bin > out/app
  artifacts: {paths: [out/]}
test:
  stage: test
  script: [cat out/app, 'echo "token=$API_TOKEN"', 'cat "$KUBECONFIG"']
deploy:
  stage: deploy
  script: [echo deploying]
  when: manual
"""


def _write(project: Project, text: str = PIPELINE, **files: str) -> None:
    (project.root / ".gitlab-ci.yml").write_text(textwrap.dedent(text))
    for name, content in files.items():
        (project.root / name).write_text(content)


def _statuses(project: Project) -> dict[str, str]:
    result = json.loads((project.state / "result.json").read_text())
    return {job["name"]: job["status"] for job in result["jobs"]}


def test_list_and_preview_run_nothing(project: Project) -> None:
    """--list shows stage, when and needs; --preview the expanded YAML; no job runs."""
    _write(project, PIPELINE + ".tpl: {script: [echo tpl]}\nlate:\n  extends: .tpl\n")
    listed = project.run(".gitlab-ci.yml", "--list")
    assert listed.code == 0, listed.err
    rows = [line.split() for line in listed.out.splitlines()]
    assert rows[0] == ["name", "stage", "when", "allow_failure", "needs"]
    assert rows[1][:4] == ["build", "build", "on_success", "false"]
    assert rows[-1][:4] == ["deploy", "deploy", "manual", "true"]
    preview = project.run(".gitlab-ci.yml", "--preview")
    assert preview.code == 0, preview.err
    assert "late:\n  script:\n  - echo tpl\n" in preview.out
    assert not (project.state / "result.json").exists()


def test_secret_file_variable_and_manual_job(project: Project, tmp_path: Path) -> None:
    """A variables file's masked value never shows; a file variable is a path; manual is skipped."""
    varsfile = tmp_path / "vars.yml"
    varsfile.write_text("API_TOKEN: {value: s3cr3t-t0ken, masked: true}\n"
                        "KUBECONFIG: {value: 'cluster: local', file: true}\n")
    _write(project)
    run = project.run(".gitlab-ci.yml", "--variables-file", str(varsfile))
    assert run.code == 0, run.out + run.err
    assert said(run.out, "build", "hello from build in build")
    assert said(run.out, "test", "token=[MASKED]")
    assert said(run.out, "test", "cluster: local")
    assert "s3cr3t-t0ken" not in run.out + run.err + project.log("test")
    assert _statuses(project) == {"build": "success", "test": "success", "deploy": "skipped"}


def test_named_job_with_needs_variable_override_and_manual(project: Project) -> None:
    """`JOB --needs` runs it after what it needs; --variable wins; --manual runs a manual job."""
    _write(project)
    run = project.run(".gitlab-ci.yml", "deploy", "--needs", "--manual", "deploy",
                      "--variable", "GREETING=hi", "--secret", "API_TOKEN",
                      "--variable", "KUBECONFIG=/dev/null", API_TOKEN="env-t0ken-value")
    assert run.code == 0, run.out + run.err
    assert said(run.out, "build", "hi from build in build")
    assert said(run.out, "test", "token=[MASKED]")
    assert _statuses(project) == {"build": "success", "test": "success", "deploy": "success"}


def test_unsupported_keywords_stop_before_anything_runs(project: Project) -> None:
    """Every unsupported keyword is named with file:line in one paragraph; exit 2, no run."""
    _write(project, """\
        image: localhost/busybox:latest
        db:
          release: {tag_name: v1, description: x}
          script: [echo db]
        cloud:
          identity: google_cloud
          script: [echo cloud]
        """)
    run = project.run(".gitlab-ci.yml")
    assert run.code == 2, run.out + run.err
    assert "release" in run.err and "identity" in run.err
    assert ".gitlab-ci.yml:3" in run.err and ".gitlab-ci.yml:6" in run.err
    assert "Traceback" not in run.err
    assert not (project.state / "result.json").exists()
