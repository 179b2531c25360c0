"""GitLab jobs without ``image:`` run in the runner's default image, as on a docker runner."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.integration.harness import BASE, Project, said

pytestmark = pytest.mark.podman

CI = """\
build:
  script: [echo built-in-default]
test:
  image: localhost/busybox:latest
  script: [echo own-image]
"""


def _config_home(tmp_path: Path, text: str | None) -> str:
    """An XDG_CONFIG_HOME with ``runner/config.yml`` (if any) and the user's podman config."""
    home = tmp_path / "config"
    (home / "runner").mkdir(parents=True)
    containers = Path.home() / ".config" / "containers"
    if containers.exists():
        (home / "containers").symlink_to(containers)
    if text is not None:
        (home / "runner" / "config.yml").write_text(text)
    return str(home)


def test_the_default_image_comes_from_the_flag_or_the_config(project: Project,
                                                             tmp_path: Path) -> None:
    project.write("", **{".gitlab-ci.yml": CI})
    config = _config_home(tmp_path, f"image: {BASE}\n")
    run = project.run(".gitlab-ci.yml", XDG_CONFIG_HOME=config)
    assert run.code == 0, run.out + run.err
    assert said(run.out, "build", f"runner: Using default image {BASE} (from {config}"
                f"/runner/config.yml)"), run.out
    assert said(run.out, "build", "built-in-default")
    assert not said(run.out, "test", "runner: Using default image")
    run = project.run(".gitlab-ci.yml", "build", "--image", BASE,
                      XDG_CONFIG_HOME=_config_home(tmp_path / "none", None))
    assert run.code == 0, run.out + run.err
    assert said(run.out, "build", f"runner: Using default image {BASE} (from --image)")


def test_without_a_default_image_the_file_is_listed_but_not_run(project: Project,
                                                                tmp_path: Path) -> None:
    """``--list`` shows every job and says which need an image; running says how to set one."""
    project.write("", **{".gitlab-ci.yml": CI})
    config = _config_home(tmp_path, None)
    listed = project.run(".gitlab-ci.yml", "--list", XDG_CONFIG_HOME=config)
    assert listed.code == 0, listed.err
    assert [line.split()[0] for line in listed.out.splitlines()[1:]] == ["build", "test"]
    assert "jobs without an image need a default image to run: build" in listed.err
    run = project.run(".gitlab-ci.yml", XDG_CONFIG_HOME=config)
    assert run.code == 2
    assert ("runner: error: .gitlab-ci.yml:1:1 (key 'build'): job 'build' has no image and no "
            "default image is set; give one with --image IMAGE or 'image: IMAGE' in "
            f"{config}/runner/config.yml") in run.err, run.err
    assert "Traceback" not in run.err


def test_a_bad_config_names_its_file_and_line(project: Project, tmp_path: Path) -> None:
    project.write("", **{".gitlab-ci.yml": CI})
    config = _config_home(tmp_path, "image: alpine\npull_policy: sometimes\n")
    run = project.run(".gitlab-ci.yml", "--list", XDG_CONFIG_HOME=config)
    assert run.code == 2
    assert (f"{config}/runner/config.yml:2:14 (key 'pull_policy'): 'pull_policy' of the runner "
            "config cannot be 'sometimes'") in run.err, run.err
