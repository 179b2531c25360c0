"""A tenant's checkout leads the workspace copy through a symlink onto another tenant's files.

The workspace is filled from the project's file list, which git makes from
its index: a path committed as ``v/vkey/.cache/token.txt`` is still listed
after the tenant replaces ``v`` with a symlink to another tenant's cache
directory. Copying that path must not go through the link: the job gets
``v`` as the symlink the checkout has (leading nowhere in the container),
never the file behind it.
"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

from tests.integration.harness import Project, said
from tests.security.conftest import IMAGE, token

pytestmark = pytest.mark.podman


def _git(root: Path, *args: str) -> None:
    subprocess.run(["git", "-C", str(root), "-c", "user.name=t", "-c", "user.email=t@t",
                    *args], check=True, timeout=30, capture_output=True)


def test_symlinked_checkout_dir_is_never_read_through(tmp_path: Path, project: Project) -> None:
    """Commit ``v/vkey/.cache/token.txt``, swap ``v`` for a link to the victim's cache dir,
    run a job that prints the path: the victim's file must not come out; the link itself
    is copied as a link, and a plain committed file still arrives (control)."""
    secret = token("victim-cache")
    victim_cache = tmp_path / "victim-tenant" / "cache"
    (victim_cache / "vkey" / ".cache").mkdir(parents=True)
    (victim_cache / "vkey" / ".cache" / "token.txt").write_text(secret + "\n")
    attacker = project
    attacker.write(f"""
        version: 1
        jobs:
          leak:
            image: {IMAGE}
            script:
              - echo "plain=$(cat plain.txt)"
              - echo "v-is=$(ls -ld v | cut -c1)"
              - echo "token=$(cat v/vkey/.cache/token.txt 2>&1)"
              - echo "deep=$(find v/ -type f 2>&1 | tr '\\n' ' ')"
        """, **{"plain.txt": "plain-ok\n", "v/vkey/.cache/token.txt": "attackers-own\n"})
    _git(attacker.root, "add", "-A")
    _git(attacker.root, "commit", "-qm", "seed")
    subprocess.run(["rm", "-rf", str(attacker.root / "v")], check=True, timeout=30)
    os.symlink(victim_cache, attacker.root / "v")
    listed = subprocess.run(["git", "-C", str(attacker.root), "ls-files", "--cached"],
                            capture_output=True, text=True, check=True, timeout=30).stdout
    assert "v/vkey/.cache/token.txt" in listed  # the attack's premise: git still lists it
    run = attacker.run()
    assert run.code == 0, run.out + run.err
    assert said(run.out, "leak", "plain=plain-ok"), run.out  # control: the copy happened
    assert said(run.out, "leak", "v-is=l"), run.out  # the checkout's symlink, kept as a link
    assert secret not in run.out + run.err + attacker.log("leak")
    assert "attackers-own" not in run.out  # nothing from git's index either: v is a link
