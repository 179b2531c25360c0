"""A job attacks another running job: its workspace, cache, artifacts, secrets and processes.

The attacker runs ``attack.sh`` (see conftest): it reads every process's
environment and files it can see through ``/proc``, guesses the victim's host
paths (it is told them outright), tries to write into the victim's
workspace, looks in shared memory, walks the host's cgroup tree and tries to
mount a fresh procfs. Whatever it reads is printed as hex, which secret
masking cannot hide, so a leak would show in its log.
"""

from __future__ import annotations

import re
import signal
import subprocess
from pathlib import Path

import pytest

from tests.integration.harness import Project, new_project, said, wait_for_line
from tests.security.conftest import IMAGE, loot, token, write_attack

pytestmark = pytest.mark.podman

ATTACKER = """
    version: 1
    jobs:
      attacker:
        image: {image}
        variables: {{VICTIM: "{victim}", CACHE: "{cache}", CANARY: "{canary}"}}
        script: ["sh attack.sh"]
    """


def _stop(proc: subprocess.Popen[str]) -> tuple[str, str]:
    """Ctrl-C a running ``runner exec`` (its after_script still runs); its output."""
    proc.send_signal(signal.SIGINT)
    return proc.communicate(timeout=120)


def test_concurrent_tenant_cannot_reach_running_job(tmp_path: Path, project: Project) -> None:
    """While a victim project's job runs holding a secret, another project's job on the same
    runner cannot read its environment, workspace, cache, artifacts or logs, nor write to it."""
    victim = project
    secret, private = token("victim-secret"), token("victim-private")
    victim.write(f"""
        version: 1
        secrets: {{TOKEN: {{env: VICTIM_TOKEN}}}}
        jobs:
          prep:
            image: {IMAGE}
            script: ["mkdir -p deps out", "echo {private} > deps/private.txt",
                     "echo {private} > out/private.txt"]
            cache: {{key: deps, paths: [deps/]}}
            artifacts: [out/]
          victim:
            image: {IMAGE}
            secrets: [TOKEN]
            script:
              - printf '%s' "$TOKEN" > secret-env.txt
              - printf '%s' "$TOKEN" > /dev/shm/secret-shm && printf '%s' "$TOKEN" > /tmp/secret-tmp
              - echo victim-ready
              - sleep 120
            after_script: ["test ! -e pwned && echo victim-untouched"]
        """)
    prep = victim.run("prep", VICTIM_TOKEN=secret)
    assert prep.code == 0, prep.out + prep.err
    caches = victim.cache
    assert any(caches.glob("*/deps/deps/private.txt"))  # the cache the attacker goes after
    attacker = new_project(tmp_path / "attacker", caches)  # same runner, same cache root
    canary, own_file = token("attacker-canary"), token("attacker-own-file")
    attacker.write(ATTACKER.format(image=IMAGE, victim=victim.root, cache=caches, canary=canary),
                   **{"attacker-secret.txt": own_file})
    write_attack(attacker)
    with victim.start("victim", VICTIM_TOKEN=secret) as running:
        try:
            wait_for_line(running, "victim-ready")
            attack = attacker.run()
            assert running.poll() is None, "the victim ended before the attack did"
        finally:
            out, err = _stop(running)
    assert attack.code == 0, attack.out + attack.err
    log = attacker.log("attacker")
    got = loot(log)
    assert canary.encode() in got  # control: other processes' environments were read
    assert own_file.encode() in got  # control: files under /proc/*/root were found and read
    assert secret.encode() not in got
    assert private.encode() not in got
    assert "wrote " not in log
    assert running.returncode == 130, err
    assert said(out, "victim", "victim-untouched")
    assert secret not in attack.out + attack.err + log


def test_sibling_job_cannot_learn_secrets(project: Project) -> None:
    """A job that lists no secret, running beside one that does (same pipeline), finds the
    secret nowhere: not in any environment, file, shared memory or /proc it can reach."""
    secret = token("sibling-secret")
    canary, own_file = token("attacker-canary"), token("attacker-own-file")
    project.write(f"""
        version: 1
        secrets: {{TOKEN: {{env: SIBLING_TOKEN}}}}
        jobs:
          victim:
            image: {IMAGE}
            secrets: [TOKEN]
            script:
              - printf '%s' "$TOKEN" > secret-env.txt
              - printf '%s' "$TOKEN" > /dev/shm/secret-shm && printf '%s' "$TOKEN" > /tmp/secret-tmp
              - echo victim-ready
              - sleep 5
              - echo victim-done
          attacker:
            image: {IMAGE}
            variables: {{VICTIM: "{project.root}", CACHE: "{project.cache}", CANARY: "{canary}"}}
            script: ["sleep 1.5", "sh attack.sh"]
        """, **{"attacker-secret.txt": own_file})
    write_attack(project)
    run = project.run("-j", "2", SIBLING_TOKEN=secret)
    assert run.code == 0, run.out + run.err
    lines = run.out.splitlines()

    def when(job: str, text: str) -> int:
        return next(i for i, line in enumerate(lines) if re.match(rf"{job}\s*\| {text}$", line))

    # The attack ran while the victim held its secret.
    assert when("victim", "victim-ready") < when("attacker", "attack-start")
    assert when("attacker", "attack-done") < when("victim", "victim-done")
    got = loot(project.log("attacker"))
    assert canary.encode() in got and own_file.encode() in got  # the probes work
    assert secret.encode() not in got
    assert "[MASKED]" not in project.log("attacker")


def test_file_secret_in_project_reaches_no_other_job(project: Project) -> None:
    """A secret read from a file in the project (as docs/pipeline-format.md's example does,
    ``secrets/deploy_key``) must not reach a job that does not list it, through its workspace."""
    key = token("deploy-key")
    project.write(f"""
        version: 1
        secrets: {{DEPLOY_KEY: {{file: secrets/deploy_key}}}}
        jobs:
          deploy:
            image: {IMAGE}
            secrets: [DEPLOY_KEY]
            script: ["test -n \\"$DEPLOY_KEY\\""]
          attacker:
            image: {IMAGE}
            script:
              - ls -la
              - find . -type f ! -path './.git/*' -exec cat {{}} + > /tmp/all
              - echo "hex=$(od -An -tx1 -v /tmp/all | tr -d ' \\n')"
        """, **{"secrets/deploy_key": key + "\n"})
    run = project.run()
    assert run.code == 0, run.out + run.err
    found = re.search(r"^attacker\s*\| hex=([0-9a-f]*)$", run.out, re.MULTILINE)
    assert found, run.out  # the probe ran
    assert b"version: 1" in bytes.fromhex(found[1])  # control: it read the workspace's files
    assert key.encode() not in bytes.fromhex(found[1])
