"""A job builds and pushes an image with buildah inside its own container, unprivileged.

The recipes of docs/in-job-builds.md, run for real: the job's image has
buildah in it (``deploy/buildah-image.sh`` makes it: plain Debian plus
packages, with no config that would make buildah work where an upstream
buildah image would not), the job container gets runner's usual settings (own
UID slice, no-new-privileges, default capabilities) and nothing more, and the
pipeline passes every buildah option itself. The base image comes from the
test registry, the password from a pipeline secret (or a masked variable),
and the pushed image is pulled back and run to prove the ``RUN`` step's work
is in it.
"""

from __future__ import annotations

import json
import re
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.integration.harness import REPO, Project, said
from tests.registry import Registry, push_image

pytestmark = pytest.mark.podman

BUILDAH_IMAGE = "localhost/runner-buildah:bookworm"
BUILD_HINT = "sudo RUNNER_USER=$(id -un) deploy/buildah-image.sh  (or: make test)"
SLIRP_HOST = "10.0.2.2"  # the host's loopback as a job on slirp4netns sees it
NETWORK = "slirp4netns:allow_host_loopback=true"
BASE_REPO = "in-job/base"
PULLED = "localhost/runner-test-in-job:pulled"
PODMAN_TIMEOUT = 300
RUN_TIMEOUT = 900
DOC = REPO / "docs/in-job-builds.md"
DOC_IMAGE = "quay.io/buildah/stable:latest"

# What a RUN step leaves in the image, checked after pulling it back. The base
# is our busybox image, pushed to the registry first: the job's buildah store
# starts empty, and FROM must pull with the credentials and CA the job got.
CONTAINERFILE = f"""\
FROM {SLIRP_HOST}:PORT/{BASE_REPO}
RUN echo "made by RUN as uid $(id -u)" > /built.txt
"""
BUILT = ["made by RUN as uid 0", "0:0 644"]

# Test id -> (driver, buildah's global options for it).
STORES = {
    "vfs": ("vfs", "--storage-driver vfs"),
    "overlay-in-workspace": ("overlay", '--storage-driver overlay'
                             ' --root "$CI_PROJECT_DIR/.buildah/root"'
                             ' --runroot "$CI_PROJECT_DIR/.buildah/run"'),
}

PIPELINE = """\
    version: 1
    secrets:
      REGISTRY_PASSWORD: {{env: REGISTRY_PASSWORD}}
    jobs:
      image:
        image: {image}
        variables:
          REGISTRY: "{registry}"
          TARGET: "{registry}/{repo}:1"
        secrets: [REGISTRY_PASSWORD]
        timeout: 10m
        script:
          - mkdir -p "/etc/containers/certs.d/$REGISTRY"
          - cp ca.crt "/etc/containers/certs.d/$REGISTRY/ca.crt"
          - printf '%s' "$REGISTRY_PASSWORD" | buildah login -u {user} --password-stdin "$REGISTRY"
          - buildah {store} build --isolation chroot -t "$TARGET" .
          - buildah {store} push "$TARGET"
          - echo "driver=$(buildah {store} info --format '{{{{.store.GraphDriverName}}}}')"
"""


def _podman(*args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["podman", *args], capture_output=True, text=True,
                          timeout=PODMAN_TIMEOUT, check=check)


@pytest.fixture
def buildah_image() -> str:
    """The local image with buildah in it; skips (saying how to build it) when missing."""
    if _podman("image", "exists", BUILDAH_IMAGE, check=False).returncode != 0:
        pytest.skip(f"{BUILDAH_IMAGE} missing; build it with: {BUILD_HINT}")
    return BUILDAH_IMAGE


@pytest.fixture
def base(registry: Registry, busybox_image: str) -> str:
    """Our busybox image in the test registry, as a job sees it (``10.0.2.2:PORT/...``)."""
    push_image(registry, busybox_image, f"{BASE_REPO}:latest")
    return _inside(registry)


@pytest.fixture
def pulled() -> Iterator[str]:
    """A local name for the pushed image pulled back; removed afterwards."""
    yield PULLED
    _podman("rmi", "--force", "--ignore", PULLED, check=False)


def _inside(registry: Registry) -> str:
    """The registry's address from inside a job."""
    return registry.host.replace("127.0.0.1", SLIRP_HOST)


def _containerfile(registry: Registry) -> str:
    return CONTAINERFILE.replace("PORT", registry.host.rsplit(":", 1)[1])


def _assert_pushed_and_works(registry: Registry, repo: str, tag: str, local: str) -> None:
    """``repo:tag`` is in the registry, and the image pulled back holds the RUN step's file."""
    assert registry.tags(repo) == [tag], registry.catalog()
    digest = registry.manifest_digest(repo, tag)
    assert digest is not None and digest.startswith("sha256:")
    # skopeo, not podman pull: the copy gets only the name ``local``, so removing
    # that name removes the image (a pull by digest would leave a dangling name).
    got = subprocess.run(["skopeo", "copy", "--quiet", "--src-authfile", str(registry.authfile),
                          "--src-cert-dir", str(registry.cert_dir),
                          f"docker://{registry.host}/{repo}@{digest}",
                          f"containers-storage:{local}"],
                         capture_output=True, text=True, timeout=PODMAN_TIMEOUT, check=False)
    assert got.returncode == 0, got.stderr
    shown = _podman("run", "--rm", "--network", "none", local,
                    "sh", "-c", "cat /built.txt; stat -c '%u:%g %a' /built.txt")
    assert shown.stdout.splitlines() == BUILT


@pytest.mark.parametrize("store", STORES)
def test_native_job_builds_and_pushes(project: Project, registry: Registry, buildah_image: str,
                                      base: str, pulled: str, store: str) -> None:
    """No extra privilege: pull the base, RUN, push with a secret password; the image works."""
    repo = f"in-job/native-{store}"
    driver, options = STORES[store]
    project.write(PIPELINE.format(image=buildah_image, registry=base, user=registry.username,
                                  repo=repo, store=options),
                  Containerfile=_containerfile(registry),
                  **{"ca.crt": registry.ca_file.read_text()})

    run = project.run("--network", NETWORK, timeout=RUN_TIMEOUT,
                      REGISTRY_PASSWORD=registry.password)

    assert run.code == 0, f"{run.out}\n{run.err}\nregistry log:\n{registry.log_text()[-1500:]}"
    log = project.log("image")
    assert registry.password not in log + run.out + run.err
    assert "Login Succeeded" in log
    assert said(run.out, "image", f"driver={driver}")
    _assert_pushed_and_works(registry, repo, "1", pulled)


def _doc_recipe() -> str:
    """The ``.gitlab-ci.yml`` block of docs/in-job-builds.md, exactly as users copy it."""
    text = DOC.read_text()
    found = re.search(r"<!-- recipe: gitlab[^>]*-->\n```yaml\n(.*?)```", text, re.DOTALL)
    assert found, f"no '<!-- recipe: gitlab -->' yaml block in {DOC}"
    recipe = found.group(1)
    assert f"image: {DOC_IMAGE}" in recipe, f"the recipe no longer uses {DOC_IMAGE}"
    return recipe


def test_gitlab_recipe_from_the_docs(project: Project, registry: Registry, buildah_image: str,
                                     base: str, pulled: str, tmp_path: Path) -> None:
    """The documented .gitlab-ci.yml, given GitLab's registry variables, builds and pushes."""
    recipe = _doc_recipe().replace(DOC_IMAGE, buildah_image)
    (project.root / ".gitlab-ci.yml").write_text(recipe)
    (project.root / "Containerfile").write_text(_containerfile(registry))
    git = ["git", "-C", str(project.root), "-c", "user.name=t", "-c", "user.email=t@example.com"]
    subprocess.run([*git, "add", "-A"], check=True, timeout=30)
    subprocess.run([*git, "commit", "-qm", "image"], check=True, timeout=30)
    sha = subprocess.run([*git, "rev-parse", "HEAD"], capture_output=True, text=True,
                         check=True, timeout=30).stdout.strip()
    # What a GitLab project's settings would hold: the CA as a File variable.
    varsfile = tmp_path / "vars.yml"
    varsfile.write_text(json.dumps({"REGISTRY_CA": {"value": registry.ca_file.read_text(),
                                                    "file": True}}))
    repo = "in-job/gitlab"

    run = project.run(".gitlab-ci.yml", "--network", NETWORK, "--variables-file", str(varsfile),
                      "--variable", f"CI_REGISTRY={base}",
                      "--variable", f"CI_REGISTRY_USER={registry.username}",
                      "--variable", f"CI_REGISTRY_IMAGE={base}/{repo}",
                      "--secret", "CI_REGISTRY_PASSWORD", timeout=RUN_TIMEOUT,
                      CI_REGISTRY_PASSWORD=registry.password)

    assert run.code == 0, f"{run.out}\n{run.err}\nregistry log:\n{registry.log_text()[-1500:]}"
    log = project.log("build-image")
    assert registry.password not in log + run.out + run.err
    assert "Login Succeeded" in log
    _assert_pushed_and_works(registry, repo, sha[:8], pulled)
