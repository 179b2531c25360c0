"""Cache and artifact paths outside the project: skipped with a warning, never refused.

Real files cache ``/var/cache/apt/archives/`` (apt's download directory) or keep
``../x``. GitLab accepts them; gitlab-runner's archiver (commands/helpers,
``findRelativePathInProject``) logs ``processPath: artifact path is not a subpath
of project directory: PATH`` when it saves and goes on with the other paths.
"""

from __future__ import annotations

import textwrap

import pytest

from tests.integration.harness import Project, said

pytestmark = pytest.mark.podman

PIPELINE = """\
build:
  image: localhost/busybox:latest
  script:
    - mkdir -p dist .cache
    - echo built > dist/app
    - echo cached > .cache/c
  cache:
    - key: apt
      paths: [/var/cache/apt/archives/]
    - key: mixed
      paths: [.cache/, ../up]
  artifacts:
    paths: [dist/, ../x]
use:
  image: localhost/busybox:latest
  needs: [build]
  script:
    - test "$(cat dist/app)" = built
"""

WARNING = "runner: warning: processPath: artifact path is not a subpath of project directory: "


def test_outside_paths_are_skipped_with_gitlab_runners_warning(project: Project) -> None:
    """The file runs; the job log warns once per outside path; in-project paths are kept."""
    (project.root / ".gitlab-ci.yml").write_text(textwrap.dedent(PIPELINE))
    run = project.run(".gitlab-ci.yml")
    assert run.code == 0, run.out + run.err
    for path in ("/var/cache/apt/archives/", "../up", "../x"):
        assert said(run.out, "build", WARNING + path), run.out
    assert (project.state / "artifacts" / "build" / "dist" / "app").read_text() == "built\n"
