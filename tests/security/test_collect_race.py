"""Artifact and cache collection raced by a symlink swap in the workspace (H2).

A process of the job's (a service that outlived the job container and was
handed a descriptor of the workspace) replaced ``b/`` with a symlink to
another tenant's ``.runner`` while a big file in ``a/`` was being copied:
paths matched under ``b/`` before the swap were then read through the link.
These tests make that swap land deterministically between selection and
copy by driving the namespace helper's ``collect`` directly, as runner runs
it (the runner user in podman's user namespace), on real files: nothing
outside the workspace may be read.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from tests.integration.harness import REPO, Project
from tests.security.conftest import IMAGE, host_pids_with, token

pytestmark = pytest.mark.podman


def _victim(tmp_path: Path) -> tuple[Path, str]:
    """Another tenant's state dir with a job script holding a deploy token."""
    secret = token("deploy-token")
    victim = tmp_path / "victim" / ".runner"
    (victim / "ctl").mkdir(parents=True)
    (victim / "ctl" / "script.sh").write_text(f"export DEPLOY_TOKEN={secret}\n")
    (victim / "cache" / "deps").mkdir(parents=True)
    (victim / "cache" / "deps" / "lib.so").write_text(secret)
    return victim, secret


def _workspace(tmp_path: Path) -> Path:
    ws = tmp_path / "ws"
    (ws / "a").mkdir(parents=True)
    (ws / "a" / "big").write_bytes(b"a" * 65536)
    for sub in ("ctl", "cache/deps"):
        (ws / "b" / sub).mkdir(parents=True)
    (ws / "b" / "ctl" / "script.sh").write_text("own script\n")
    (ws / "b" / "cache" / "deps" / "lib.so").write_text("own lib\n")
    return ws


DRIVER = r"""
import json, os, shutil, sys
from runner.engine import nshelper

request, ws, target = json.loads(sys.argv[1]), sys.argv[2], sys.argv[3]
chosen = []
select = nshelper._select


def select_then_swap(*args, **kwargs):
    matched, unmatched = select(*args, **kwargs)
    chosen.extend(matched)
    shutil.rmtree(os.path.join(ws, "b"))
    os.symlink(target, os.path.join(ws, "b"))
    return matched, unmatched


nshelper._select = select_then_swap
nshelper.collect(request)
print(json.dumps(chosen))
"""


def _collect_with_swap(request: dict[str, Any], ws: Path, target: Path) -> list[str]:
    """Run the helper's ``collect`` in podman's user namespace (where runner runs it), with
    ``ws/b`` replaced by a link to ``target`` right after it chose its paths; those paths."""
    done = subprocess.run(
        ["podman", "unshare", sys.executable, "-c", DRIVER, json.dumps(request), str(ws),
         str(target)],
        capture_output=True, text=True, timeout=120, check=False,
        env={**os.environ, "PYTHONPATH": str(REPO)})
    assert done.returncode == 0, done.stderr
    chosen: list[str] = json.loads(done.stdout)
    return chosen


def _everything_under(top: Path) -> bytes:
    data = b""
    for path in sorted(top.rglob("*")):
        if path.is_file() and not path.is_symlink():
            data += path.read_bytes()
    return data


@pytest.mark.parametrize(("extra", "patterns"), [
    ({}, ["a/", "b/**"]),  # artifacts paths
    ({"exclude": ["**/*.tmp"]}, ["a/", "b/**"]),  # artifacts with exclude
    ({"untracked": []}, ["a/"]),  # artifacts:untracked takes every file
    ({"replace": True}, ["a/", "b/ctl", "b/cache/deps/lib.so"]),  # a cache save
])
def test_swapped_directory_is_never_read_through(tmp_path: Path, extra: dict[str, Any],
                                                 patterns: list[str]) -> None:
    """Paths under ``b/`` matched before ``b`` became a link to the victim's ``.runner`` are
    not copied through the link: the victim's script and cache stay out of the result."""
    victim, secret = _victim(tmp_path)
    ws = _workspace(tmp_path)
    dest = tmp_path / "out"
    chosen = _collect_with_swap({"op": "collect", "workspace": str(ws), "patterns": patterns,
                                 "dest": str(dest), "max_bytes": None, **extra}, ws, victim)
    assert any(rel.startswith("b/") for rel in chosen), chosen  # the swap came after matching
    assert (dest / "a" / "big").read_bytes() == b"a" * 65536  # control: the rest was copied
    assert secret.encode() not in _everything_under(dest), "the victim's files were copied"


def test_services_are_gone_before_artifacts_are_collected(project: Project) -> None:
    """A service is what outlived the job and made the swap: by the time runner copies the
    job's artifacts (its staging dir exists), no process of the job's services may be left.

    The test watches the host: the service's shell carries a unique word in its command line,
    and collecting a 128 MiB artifact gives the watch time to see the staging dir.
    """
    word = token("service-alive")
    project.write(f"""
        version: 1
        jobs:
          race:
            image: {IMAGE}
            services:
              - image: {IMAGE}
                command: ["sh", "-c", "while :; do sleep 1; done # {word}"]
            artifacts: [big/]
            script:
              - sleep 2
              - mkdir big && dd if=/dev/zero of=big/data bs=1M count=128 2>/dev/null
        """)
    proc = project.start()
    service_seen = False
    alive_while_collecting: list[bool] = []
    while proc.poll() is None:
        service_seen = service_seen or bool(host_pids_with(word))
        if list((project.state / "artifacts").glob("*.partial-*")):
            alive_while_collecting.append(bool(host_pids_with(word)))
        time.sleep(0.002)
    out, err = proc.communicate()
    assert proc.returncode == 0, out + err
    assert service_seen, out  # control: the service ran while the job did
    assert alive_while_collecting, "the collection was never seen: nothing was tested"
    assert not any(alive_while_collecting), "a service still ran while artifacts were copied"
    assert (project.state / "artifacts" / "race" / "big" / "data").stat().st_size == 128 << 20
