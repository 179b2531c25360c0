"""The real ``runner doctor`` on this machine, as the unprivileged user, healthy and broken."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from runner.host import facts

pytestmark = pytest.mark.podman

REPO = Path(__file__).resolve().parents[2]


def doctor(*args: str, **env: str) -> subprocess.CompletedProcess[str]:
    """Run ``python -m runner doctor`` with extra environment variables."""
    return subprocess.run(
        [sys.executable, "-m", "runner", "doctor", *args],
        cwd=REPO,
        env={**os.environ, **env},
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
    )


def test_doctor_passes_on_this_host() -> None:
    """After deploy/setup-host.sh the host has no errors (warnings are allowed)."""
    done = doctor()
    assert done.returncode == 0, done.stdout + done.stderr
    assert "FAIL" not in done.stdout
    assert "ok    podman" in done.stdout
    assert "jobs can run" in done.stdout


def test_json_output_lists_every_check() -> None:
    """--json prints machine-readable findings with the same verdicts."""
    done = doctor("--json")
    assert done.returncode == 0, done.stderr
    findings = {f["check"]: f for f in json.loads(done.stdout)}
    assert findings["user"]["ok"] is True
    assert set(findings["tun"]) == {"check", "ok", "severity", "detail", "fix"}


def test_runtime_dir_is_found_when_unset_as_under_runuser() -> None:
    """``runuser -u runner -- runner doctor`` (documented) and ``su - runner`` leave
    XDG_RUNTIME_DIR unset; runner then uses /run/user/<uid> as podman does, silently
    (issue 15, bug 3: this was "XDG_RUNTIME_DIR is not set", exit 3)."""
    env = {k: v for k, v in os.environ.items() if k != "XDG_RUNTIME_DIR"}
    done = subprocess.run([sys.executable, "-m", "runner", "doctor"], cwd=REPO, env=env,
                          capture_output=True, text=True, check=False, timeout=60)
    assert done.returncode == 0, done.stdout + done.stderr
    assert f"ok    runtime-dir     /run/user/{os.getuid()} " in done.stdout, done.stdout
    assert done.stderr == ""


def test_runtime_dir_with_wrong_mode_fails(tmp_path: Path) -> None:
    """A runtime dir podman would refuse is an error with the exact chmod and exit code 3."""
    bad = tmp_path / "xdg"
    bad.mkdir()
    bad.chmod(0o755)
    done = doctor(XDG_RUNTIME_DIR=str(bad))
    assert done.returncode == 3, done.stdout
    assert f"FAIL  runtime-dir     XDG_RUNTIME_DIR={bad} has mode 0755" in done.stdout
    assert f"fix:            chmod 0700 {bad}" in done.stdout


def test_vfs_storage_conf_warns_with_fix(tmp_path: Path) -> None:
    """A vfs storage.conf is a warning (slow, not broken) whose fix rewrites that file."""
    conf = tmp_path / "storage.conf"
    conf.write_text('[storage]\ndriver = "vfs"\n')
    done = doctor(CONTAINERS_STORAGE_CONF=str(conf))
    assert done.returncode == 0, done.stdout
    assert "warn  storage-driver  vfs" in done.stdout
    assert f"printf '[storage]\\ndriver = \"overlay\"\\n' > {conf}" in done.stdout


@pytest.mark.skipif(facts.gather_quick().cgroup == "v2", reason="crun works on cgroup v2 hosts")
def test_crun_on_this_cgroup_v1_host_fails(tmp_path: Path) -> None:
    """Configuring crun here (hybrid cgroups) is an error whose fix configures runc."""
    conf = tmp_path / "containers.conf"
    conf.write_text('[engine]\nruntime = "crun"\n')
    done = doctor(CONTAINERS_CONF=str(conf))
    assert done.returncode == 3, done.stdout
    assert "FAIL  oci-runtime     crun" in done.stdout
    assert f"printf '[engine]\\nruntime = \"runc\"\\n' > {conf}" in done.stdout


def test_doctor_verdict_holds_for_a_real_job(busybox_image: str) -> None:
    """What doctor passes really works: a container in a job-style uid slice, slirp networking."""
    slice_map = "0:1:65536"  # slot 0, as runner.engine.slices maps it
    done = subprocess.run(
        ["podman", "run", "--rm", "--uidmap", slice_map, "--gidmap", slice_map, busybox_image,
         "sh", "-c", "id -u; ls -ld /tmp"],
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines()[0] == "0"
    assert done.stdout.splitlines()[1].startswith("drwxrwxrwt")
