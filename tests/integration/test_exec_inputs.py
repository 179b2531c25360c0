"""``spec:inputs`` end to end: ``runner exec --list`` and a run in busybox.

The project's ``.gitlab-ci.yml`` has a header of its own (pipeline inputs, ``--input``)
and includes a local file with a header, giving it ``inputs:`` as GitLab's docs show
(docs.gitlab.com/ci/inputs: "Set input values when using include"). Expected
values follow lib/gitlab/ci/config/interpolation (see tests/unit/.../test_inputs.py).
"""

from __future__ import annotations

import json

import pytest

from tests.integration.harness import Project, said

pytestmark = pytest.mark.podman

MAIN = """\
spec:
  inputs:
    environment:
      default: staging
      options: [staging, production]
---
include:
  - local: ci/deploy.yml
    inputs:
      stage: test
      target: $[[ inputs.environment ]]
      retries: 2
image: localhost/busybox:latest
build:
  stage: build
  script: [echo building]
"""

DEPLOY = """\
spec:
  inputs:
    stage:
    target:
      regex: ^(staging|production)$
    retries:
      type: number
    label:
      default: "it's a \\"label\\""
---
deploy-$[[ inputs.target ]]:
  stage: $[[ inputs.stage ]]
  retry: $[[ inputs.retries ]]
  script:
    - echo "target=$[[ inputs.target ]] retries=$[[ inputs.retries ]]"
    - echo $[[ inputs.label | posix_escape ]]
"""


def _write(project: Project) -> None:
    (project.root / ".gitlab-ci.yml").write_text(MAIN)
    (project.root / "ci").mkdir()
    (project.root / "ci/deploy.yml").write_text(DEPLOY)


def test_list_shows_jobs_named_and_staged_by_inputs(project: Project) -> None:
    _write(project)
    listed = project.run(".gitlab-ci.yml", "--list")
    assert listed.code == 0, listed.err
    rows = [line.split()[:2] for line in listed.out.splitlines()[1:]]
    assert rows == [["build", "build"], ["deploy-staging", "test"]]
    listed = project.run(".gitlab-ci.yml", "--list", "--input", "environment=production")
    assert listed.code == 0, listed.err
    assert "deploy-production" in listed.out


def test_bad_input_exits_2_naming_file_line_and_key(project: Project) -> None:
    _write(project)
    run = project.run(".gitlab-ci.yml", "--list", "--input", "environment=qa")
    assert run.code == 2
    assert ".gitlab-ci.yml:3:5 (key 'spec.inputs.environment')" in run.err
    assert "`qa` cannot be used because it is not in the list of allowed options" in run.err
    assert "Traceback" not in run.err


def test_interpolated_values_reach_the_job(project: Project) -> None:
    _write(project)
    run = project.run(".gitlab-ci.yml", "--input", "environment=production")
    assert run.code == 0, run.out + run.err
    assert said(run.out, "deploy-production", "target=production retries=2")
    assert said(run.out, "deploy-production", "it's a \"label\"")
    result = json.loads((project.state / "result.json").read_text())
    assert {job["name"]: job["status"] for job in result["jobs"]} == {
        "build": "success", "deploy-production": "success"}


