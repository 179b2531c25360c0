"""What a person sees when runner refuses something (issue 15, "output people can act on").

Every error reads ``runner: error: ...`` (and ``runner: hint: ...`` where there is
one), never a Python class name; and a file's problems come in one run, not one
run each.
"""

from __future__ import annotations

import re

import pytest

from tests.integration.harness import Project

pytestmark = pytest.mark.podman

IMAGE = "localhost/busybox:latest"


def test_three_typos_in_three_jobs_are_reported_in_one_run(project: Project) -> None:
    project.write(f"""
        version: 1
        image: {IMAGE}
        jobs:
          build:
            scirpt: [make]
          test:
            needz: [build]
            script: [make test]
          deploy:
            script: [./deploy]
            when: sometimes
        """)
    run = project.run()
    assert run.code == 2, run.err
    lines = run.err.splitlines()
    assert lines[0] == "runner: error: 3 problems in pipeline.yml:", run.err
    assert lines[1].startswith("  pipeline.yml:6:5 (key 'jobs.build.scirpt'): unknown key"
                               " 'scirpt' in job 'build'; did you mean 'script'?"), run.err
    assert lines[2].startswith("  pipeline.yml:8:5 (key 'jobs.test.needz'): unknown key"), run.err
    assert lines[3].startswith("  pipeline.yml:12:11 (key 'jobs.deploy.when'): "), run.err
    assert len(lines) == 4, run.err


def test_every_unknown_key_of_one_job_at_once(project: Project) -> None:
    project.write(f"""
        version: 1
        jobs:
          build:
            imgae: {IMAGE}
            scirpt: [make]
        """)
    run = project.run()
    assert run.code == 2
    assert "runner: error: 2 problems in pipeline.yml:" in run.err
    assert "'imgae'" in run.err and "'scirpt'" in run.err


def test_no_error_names_a_python_class(project: Project) -> None:
    """Bad usage, a bad file and a missing file alike."""
    project.write("version: 1\njobs: {a: {image: '--privileged', script: [x]}}\n")
    for run in (project.run(), project.run("--concurrency", "0"), project.run("missing.yml")):
        assert run.code == 2, run.err
        assert run.err.startswith("runner: error: "), run.err
        assert not re.search(r"\b[A-Z][A-Za-z]*(Error|Failed)\b", run.err), run.err
