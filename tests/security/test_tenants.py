"""One tenant (project) attacks another through what the runner keeps between jobs.

The classic shared-runner attack: a tenant saves a cache under a key another
tenant's pipeline also uses (``deps``, ``node_modules``, ``pip``) and waits
for the victim to restore and run it. Caches live under
``<cache root>/<tenant key>/<key>``, the tenant key being a hash of the
project directory, so keys never meet across tenants; artifacts and logs
live in each project's own state directory. Build jobs' image layers are
kept per tenant too: tests/integration/test_build_security.py
(``test_tenants_share_no_layers_unless_asked``) covers that attack.
"""

from __future__ import annotations

import re
import subprocess
import textwrap
from pathlib import Path

import pytest

from runner.execute.layout import tenant_key
from tests.integration.harness import Project, new_project, said
from tests.registry import Registry, push_image
from tests.security.conftest import IMAGE, TOOL_TIMEOUT, token

pytestmark = pytest.mark.podman

PIPELINE = """
    version: 1
    jobs:
      build:
        image: {image}
        cache: {{key: deps, paths: [deps/]}}
        artifacts: [out/]
        script:
          - echo "restored=$(cat deps/marker 2>/dev/null || echo nothing)"
          - 'mkdir -p deps out && [ -e deps/marker ] || echo {marker} > deps/marker'
          - echo {marker} > out/artifact
      use:
        image: {image}
        needs: [build]
        script: ['echo "artifact=$(cat out/artifact)"']
    """


def test_same_cache_key_never_crosses_tenants(tmp_path: Path, project: Project) -> None:
    """Tenant B uses tenant A's cache key and job names on the same runner: it restores
    nothing of A's, gets only its own artifacts, and its poisoned cache never reaches A."""
    victim, attacker = project, new_project(tmp_path / "attacker", project.cache)
    mine, poison = token("victim-deps"), token("poison")
    victim.write(PIPELINE.format(image=IMAGE, marker=mine))
    attacker.write(PIPELINE.format(image=IMAGE, marker=poison))
    first = victim.run()
    assert first.code == 0, first.out + first.err
    assert said(first.out, "build", "restored=nothing")
    attack = attacker.run()
    assert attack.code == 0, attack.out + attack.err
    assert said(attack.out, "build", "restored=nothing")
    assert "cache 'deps' has no saved copy" in attacker.log("build")
    assert said(attack.out, "use", f"artifact={poison}")  # its own artifacts, not the victim's
    assert mine not in attack.out + attacker.log("build") + attacker.log("use")
    again = victim.run()
    assert again.code == 0, again.out + again.err
    assert said(again.out, "build", f"restored={mine}")  # the victim's own cache, unpoisoned
    assert poison not in again.out
    again_attacker = attacker.run()
    assert said(again_attacker.out, "build", f"restored={poison}")  # control: caches do work
    tenants = {path.name for path in project.cache.iterdir() if path.is_dir()}
    assert tenants == {tenant_key(victim.root), tenant_key(attacker.root)}


def test_cache_key_cannot_climb_into_another_tenant(tmp_path: Path, project: Project) -> None:
    """A GitLab pipeline (where cache keys are free text) names the victim tenant's cache by a
    relative path: it restores nothing of the victim's and writes nothing into it."""
    victim = project
    mine, poison = token("victim-deps"), token("poison")
    victim.write(PIPELINE.format(image=IMAGE, marker=mine))
    assert victim.run().code == 0
    cache_dir = project.cache / tenant_key(victim.root) / "deps"
    before = sorted(str(path.relative_to(cache_dir)) for path in cache_dir.rglob("*"))
    attacker = new_project(tmp_path / "attacker", project.cache)
    keys = [f"../{tenant_key(victim.root)}/deps", f"../../cache/{tenant_key(victim.root)}/deps",
            f"{cache_dir}", "..", "deps/../../" + tenant_key(victim.root) + "/deps"]
    jobs = "".join(textwrap.dedent(f"""
        climb{i}:
          image: {IMAGE}
          cache: {{key: "{key}", paths: [deps/]}}
          script:
            - echo "restored=$(cat deps/marker 2>/dev/null || echo nothing)"
            - mkdir -p deps && echo {poison} > deps/marker && echo {poison} > deps/planted
        """) for i, key in enumerate(keys))
    (attacker.root / ".gitlab-ci.yml").write_text(jobs)
    run = attacker.run(".gitlab-ci.yml")
    assert run.code == 0, run.out + run.err
    for i in range(len(keys)):
        assert said(run.out, f"climb{i}", "restored=nothing"), run.out
    assert mine not in run.out
    assert sorted(str(path.relative_to(cache_dir)) for path in cache_dir.rglob("*")) == before
    assert (cache_dir / "deps" / "marker").read_text().strip() == mine
    planted = list(project.cache.rglob("planted"))
    assert len(planted) == len(keys)  # one cache per key, each in the attacker's own tenant
    assert all(path.is_relative_to(project.cache / tenant_key(attacker.root)) for path in planted)


def test_symlink_cannot_redirect_a_restore_onto_the_host(tmp_path: Path, project: Project) -> None:
    """A tenant's project holds a symlink to the victim's cache directory on the host, and its
    job replaces it with a directory of artifacts: restoring those artifacts for the next
    job must replace the link, never write through it into the victim's cache."""
    victim = project
    mine = token("victim-deps")
    victim.write(PIPELINE.format(image=IMAGE, marker=mine))
    assert victim.run().code == 0
    cache_dir = project.cache / tenant_key(victim.root) / "deps" / "deps"
    assert (cache_dir / "marker").read_text().strip() == mine
    attacker = new_project(tmp_path / "attacker", project.cache)
    poison = token("poison")
    attacker.write(f"""
        version: 1
        jobs:
          seed:
            image: {IMAGE}
            artifacts: [x/]
            script:
              - 'echo "through-link=$(cat x/marker 2>&1)"'
              - rm x && mkdir x && echo {poison} > x/marker && echo {poison} > x/planted
          use:
            image: {IMAGE}
            needs: [seed]
            script: ['echo "x-is=$(ls -ld x | cut -c1) planted=$(cat x/planted)"']
        """)
    (attacker.root / "x").symlink_to(cache_dir)
    run = attacker.run()
    assert run.code == 0, run.out + run.err
    assert mine not in run.out  # the link does not lead anywhere inside the job
    assert re.search(r"seed\s*\| through-link=cat: .*No such file", run.out), run.out
    assert said(run.out, "use", f"x-is=d planted={poison}")  # control: the layer was restored
    assert (cache_dir / "marker").read_text().strip() == mine
    assert not (cache_dir / "planted").exists()
    assert (attacker.root / "x").is_symlink()  # the checkout itself is untouched


def test_pulled_image_cannot_answer_another_tenants_short_name(
        tmp_path: Path, project: Project, registry: Registry) -> None:
    """Tenant B's job pulls ``REGISTRY/library/NAME:1`` (its own image, from a registry it
    controls); tenant A's job then asks for ``NAME:1`` by short name, as GitLab pipelines
    usually do (``python:3.11``). A must not run B's image."""
    name = f"secprobe-{token('img')[-8:]}"
    hostile = f"localhost/{name}-hostile:1"
    container = _buildah("from", "--pull=never", "--quiet", IMAGE)
    try:
        marker = tmp_path / "pwned-by-tenant-b"
        marker.write_text("tenant B's image\n")
        _buildah("copy", "--quiet", container, str(marker), "/pwned-by-tenant-b")
        _buildah("commit", "--quiet", container, hostile)
    finally:
        _buildah("rm", container)
    reference = push_image(registry, hostile, f"library/{name}:1")
    _podman("rmi", hostile)
    conf = tmp_path / "registries.conf"
    conf.write_text(f'[[registry]]\nlocation = "{registry.host}"\ninsecure = true\n')
    attacker = new_project(tmp_path / "attacker", project.cache)
    attacker.write(f"""
        version: 1
        jobs:
          plant:
            image: {reference}
            script: ["test -e /pwned-by-tenant-b && echo planted"]
        """)
    try:
        planted = attacker.run(CONTAINERS_REGISTRIES_CONF=str(conf),
                               REGISTRY_AUTH_FILE=str(registry.authfile))
        assert said(planted.out, "plant", "planted"), planted.out + planted.err  # B's pull worked
        project.write(f"""
            version: 1
            jobs:
              victim:
                image: {name}:1
                script: ["cat /pwned-by-tenant-b 2>/dev/null || echo clean-image"]
            """)
        victim = project.run()
        assert "tenant B's image" not in victim.out, victim.out
    finally:
        _podman("rmi", reference)


def _buildah(*args: str) -> str:
    done = subprocess.run(["buildah", *args], capture_output=True, text=True,
                          timeout=TOOL_TIMEOUT, check=False)
    assert done.returncode == 0, done.stderr
    return done.stdout.strip()


def _podman(*args: str) -> None:
    subprocess.run(["podman", *args], capture_output=True, text=True, timeout=TOOL_TIMEOUT,
                   check=False)



@pytest.mark.parametrize("planted", [".runner/artifacts", ".runner/logs/deps.log",
                                     ".runner/result.json", ".runner/runs",
                                     ".runner/runs/20000101-000000-000000"])
def test_committed_state_symlink_cannot_redirect_writes(tmp_path: Path, project: Project,
                                                        planted: str) -> None:
    """A tenant's checkout carries a symlink under ``.runner/`` into the victim tenant's cache
    (whose path is a hash of the victim's project path, easy to compute). Running its pipeline
    must not change the victim's cache: not its artifacts (a job named like the victim's cache
    key), not its log (job output the attacker writes), not result.json. runner refuses the
    run with exit 2 and names the link."""
    victim = project
    mine, poison = token("victim-deps"), token("poison")
    victim.write(PIPELINE.format(image=IMAGE, marker=mine))
    assert victim.run().code == 0
    victim_tenant = project.cache / tenant_key(victim.root)
    marker = victim_tenant / "deps" / "deps" / "marker"
    assert marker.read_text().strip() == mine
    attacker = new_project(tmp_path / "attacker", project.cache)
    link = attacker.root / planted
    link.parent.mkdir(parents=True)
    link.symlink_to(victim_tenant if planted.endswith(("artifacts", "000000")) else
                    marker.parent if planted.endswith("runs") else marker)
    attacker.write(f"""
        version: 1
        jobs:
          deps:
            image: {IMAGE}
            artifacts: [deps/]
            script: ["mkdir deps && echo {poison} > deps/marker", "echo {poison}"]
        """)
    attack = attacker.run()
    # Refused before anything runs, naming the link: runner never follows a planted path.
    assert attack.code == 2, attack.out + attack.err
    assert f"{link} is a symbolic link" in attack.err
    assert poison not in attack.out
    assert marker.read_text().strip() == mine
    again = victim.run()
    assert said(again.out, "build", f"restored={mine}"), again.out


def test_committed_latest_link_is_replaced_never_written_through(tmp_path: Path,
                                                                project: Project) -> None:
    """``.runner/latest`` is runner's own link to the newest run. A checkout that ships one
    pointing into the victim's cache must not get runner's logs or result.json written there
    (a job named ``marker`` would write ``marker.log``): runner replaces the link itself."""
    victim = project
    mine, poison = token("victim-deps"), token("poison")
    victim.write(PIPELINE.format(image=IMAGE, marker=mine))
    assert victim.run().code == 0
    deps = project.cache / tenant_key(victim.root) / "deps" / "deps"
    before = sorted(path.name for path in deps.iterdir())
    attacker = new_project(tmp_path / "attacker", project.cache)
    link = attacker.root / ".runner" / "latest"
    link.parent.mkdir(parents=True)
    link.symlink_to(deps)
    attacker.write(f"""
        version: 1
        jobs:
          marker:
            image: {IMAGE}
            script: ["echo {poison}"]
        """)
    attack = attacker.run()
    assert attack.code == 0, attack.out + attack.err
    assert sorted(path.name for path in deps.iterdir()) == before
    assert (deps / "marker").read_text().strip() == mine
    assert link.is_symlink() and Path(link.readlink()).parts[0] == "runs"
    assert poison in (link / "marker.log").read_text()


def test_project_git_config_runs_nothing_on_the_host(tmp_path: Path, project: Project) -> None:
    """Listing the project's files must not execute anything the project's git configuration
    names (``core.fsmonitor`` is run by ``git ls-files``)."""
    pwned = tmp_path / "fsmonitor-ran"
    subprocess.run(["git", "-C", str(project.root), "config", "core.fsmonitor",
                    f"touch {pwned}; false"], check=True, timeout=30)
    project.write(f"""
        version: 1
        jobs:
          any:
            image: {IMAGE}
            script: ["echo ran"]
        """)
    run = project.run()
    assert said(run.out, "any", "ran"), run.out + run.err  # the run listed files and ran
    assert not pwned.exists()
