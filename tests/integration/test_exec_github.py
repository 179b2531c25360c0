"""``runner exec .github/workflows/ci.yml``: a real workflow run end to end (issue 17)."""

from __future__ import annotations

import json
import textwrap

import pytest

from tests.integration.harness import Project, said

pytestmark = pytest.mark.podman

WORKFLOW = """\
name: CI
on:
  push:
  workflow_dispatch:
    inputs:
      flavour: {type: choice, options: [plain, fancy], default: plain}
env:
  GREETING: hello
jobs:
  build:
    runs-on: ubuntu-latest
    outputs:
      version: ${{ steps.v.outputs.version }}
    steps:
      - id: v
        run: echo "version=1.2.${{ github.run_number }}" >> "$GITHUB_OUTPUT"
      - run: echo "$GREETING from ${{ github.job }} (${{ github.event_name }})"
  test:
    needs: build
    runs-on: ubuntu-latest
    strategy:
      matrix:
        n: [1, 2]
    steps:
      - run: echo "test ${{ matrix.n }} of ${{ needs.build.outputs.version }} ${{ inputs.flavour }}"
"""
PLATFORM = ("--platform", "ubuntu-latest=localhost/busybox:latest")


def _write(project: Project) -> str:
    path = project.root / ".github" / "workflows" / "ci.yml"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(textwrap.dedent(WORKFLOW))
    return ".github/workflows/ci.yml"


def test_two_jobs_with_a_matrix_and_job_outputs_run_for_real(project: Project) -> None:
    run = project.run(_write(project), *PLATFORM)
    assert run.code == 0, run.out + run.err
    assert said(run.out, "build", "hello from build (push)")
    assert said(run.out, "test (1)", "test 1 of 1.2.1")
    assert said(run.out, "test (2)", "test 2 of 1.2.1")
    result = json.loads((project.state / "latest" / "result.json").read_text())
    assert {job["name"]: job["status"] for job in result["jobs"]} == {
        "build": "success", "test (1)": "success", "test (2)": "success"}


def test_dispatch_input_and_one_matrix_instance_with_its_needs(project: Project) -> None:
    run = project.run(_write(project), "test (2)", "--needs", "--event", "workflow_dispatch",
                      "--input", "flavour=fancy", *PLATFORM)
    assert run.code == 0, run.out + run.err
    assert said(run.out, "test (2)", "test 2 of 1.2.1 fancy")
    assert "test (1)" not in run.out
