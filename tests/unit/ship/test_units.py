"""The agent's systemd units in deploy/: the system unit is what setup-host renders, it
passes ``systemd-analyze verify``, and the user unit and the Quadlet file (podman >= 4.4;
Debian 12's 4.3 has no Quadlet, so it cannot be generated here) carry the same service
settings, as far as they can be compared without running systemd."""

from __future__ import annotations

import shlex
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from runner.agent.config import AgentConfig
from runner.host.units import STOP_TIMEOUT_S, render_system_unit

REPO = Path(__file__).resolve().parents[3]
DEPLOY = REPO / "deploy"

Unit = dict[str, list[tuple[str, str]]]


def parse_unit(text: str) -> Unit:
    """Sections of (key, value) in order; repeated keys kept, as systemd does."""
    unit: Unit = {}
    section = ""
    for raw in text.splitlines():
        line = raw.strip()
        if not line or line.startswith(("#", ";")):
            continue
        if line.startswith("[") and line.endswith("]"):
            section = line[1:-1]
            unit.setdefault(section, [])
            continue
        key, _, value = line.partition("=")
        unit[section].append((key.strip(), value.strip()))
    return unit


def values(unit: Unit, section: str, key: str) -> list[str]:
    return [v for k, v in unit.get(section, []) if k == key]


def one(unit: Unit, section: str, key: str) -> str:
    found = values(unit, section, key)
    assert len(found) == 1, f"[{section}] {key}: {found}"
    return found[0]


SYSTEM = parse_unit((DEPLOY / "runner-agent-system.service").read_text())
USER = parse_unit((DEPLOY / "runner-agent.service").read_text())
QUADLET = parse_unit((DEPLOY / "runner-agent.container").read_text())
SHARED = ("KillMode", "TimeoutStopSec", "Restart", "RestartSec", "RestartPreventExitStatus")


def test_the_deploy_system_unit_is_what_setup_host_writes() -> None:
    rendered = render_system_unit("runner", 1001, "runner", Path("/home/runner"),
                                  "/opt/runner/current/bin/runner")
    assert (DEPLOY / "runner-agent-system.service").read_text() == rendered


def test_the_system_unit_runs_the_agent_as_the_user_and_lets_jobs_finish() -> None:
    assert one(SYSTEM, "Service", "User") == "runner"
    assert one(SYSTEM, "Service", "Environment") == "XDG_RUNTIME_DIR=/run/user/1001"
    assert "user@1001.service" in one(SYSTEM, "Unit", "After").split()
    assert "network-online.target" in one(SYSTEM, "Unit", "Wants").split()
    assert one(SYSTEM, "Service", "KillMode") == "mixed"
    assert int(one(SYSTEM, "Service", "TimeoutStopSec")) == STOP_TIMEOUT_S
    assert AgentConfig(Path("x"), "r_x").shutdown_timeout_s + 30 < STOP_TIMEOUT_S
    start = shlex.split(one(SYSTEM, "Service", "ExecStart"))
    assert start[1:] == ["agent", "--config", "/home/runner/.config/runner/agent.yml"]
    reload = [shlex.split(v) for v in values(SYSTEM, "Service", "ExecReload")]
    assert reload == [[start[0], "agent", "--check-config", *start[2:]],
                      ["/bin/kill", "-HUP", "$MAINPID"]]
    assert one(SYSTEM, "Service", "RestartPreventExitStatus") == "2"  # runner's bad-input code


@pytest.mark.skipif(shutil.which("systemd-analyze") is None, reason="no systemd-analyze")
def test_systemd_analyze_verify_finds_nothing(tmp_path: Path) -> None:
    """With this interpreter's runner as the executable (verify checks that it exists)."""
    exe = Path(sys.executable).parent / "runner"
    if not exe.exists():
        pytest.skip("no runner console script beside this interpreter")
    path = tmp_path / "runner-agent.service"
    path.write_text(render_system_unit("runner", 1001, "runner", Path("/home/runner"),
                                       str(exe)))
    proc = subprocess.run(["systemd-analyze", "verify", str(path)], capture_output=True,
                          text=True, timeout=60, check=False)
    problems = [line for line in (proc.stdout + proc.stderr).splitlines()
                if str(path) in line or "runner-agent" in line]
    assert proc.returncode == 0 and problems == [], proc.stdout + proc.stderr


def test_systemd_analyze_verify_would_catch_a_bad_value(tmp_path: Path) -> None:
    """The test above can fail: a broken setting is reported."""
    if shutil.which("systemd-analyze") is None:
        pytest.skip("no systemd-analyze")
    exe = Path(sys.executable)
    path = tmp_path / "runner-agent.service"
    path.write_text(render_system_unit("runner", 1001, "runner", Path("/home/runner"),
                                       str(exe)).replace("KillMode=mixed", "KillMode=gently"))
    proc = subprocess.run(["systemd-analyze", "verify", str(path)], capture_output=True,
                          text=True, timeout=60, check=False)
    assert "kill mode" in (proc.stdout + proc.stderr).lower()


@pytest.mark.parametrize("key", SHARED)
def test_the_user_unit_and_the_quadlet_file_have_the_system_units_settings(key: str) -> None:
    assert one(USER, "Service", key) == one(SYSTEM, "Service", key)
    assert one(QUADLET, "Service", key) == one(SYSTEM, "Service", key)


def test_restart_limits_and_network_ordering_agree() -> None:
    for unit in (USER, QUADLET):
        assert one(unit, "Unit", "StartLimitIntervalSec") == "0"
    assert one(QUADLET, "Unit", "After") == "network-online.target"


def test_quadlet_kill_mode_is_one_quadlet_accepts() -> None:
    """Quadlet refuses any KillMode but mixed and control-group (and defaults to mixed)."""
    assert one(QUADLET, "Service", "KillMode") in ("mixed", "control-group")


def test_the_container_gets_the_grace_period_before_sigkill() -> None:
    """podman stops a container with SIGKILL after its stop timeout (default 10 s): that
    must hold the agent's grace period and fit inside systemd's own stop timeout."""
    args = shlex.split(" ".join(values(QUADLET, "Container", "PodmanArgs")))
    stop = int(next(a.split("=", 1)[1] for a in args if a.startswith("--stop-timeout=")))
    grace = AgentConfig(Path("x"), "r_x").shutdown_timeout_s
    assert grace < stop < int(one(QUADLET, "Service", "TimeoutStopSec"))


def test_quadlet_runs_the_same_agent_command_with_its_config_mounted() -> None:
    command = shlex.split(one(QUADLET, "Container", "Exec"))
    assert command[:2] == ["agent", "--config"]
    config = Path(command[2])
    mounts = [v.split(":")[1] for v in values(QUADLET, "Container", "Volume")]
    assert any(config.is_relative_to(target) for target in mounts)
    assert config.name == Path(shlex.split(one(SYSTEM, "Service", "ExecStart"))[-1]).name
    reload = shlex.split(one(QUADLET, "Service", "ExecReload"))
    assert reload[-3:] == ["--signal", "HUP", one(QUADLET, "Container", "ContainerName")]


def test_quadlet_gives_the_devices_nested_rootless_jobs_need() -> None:
    assert values(QUADLET, "Container", "AddDevice") == ["/dev/fuse", "/dev/net/tun"]
    assert "--privileged" not in " ".join(values(QUADLET, "Container", "PodmanArgs"))


def test_the_user_unit_reloads_through_the_config_check() -> None:
    reload = [shlex.split(v) for v in values(USER, "Service", "ExecReload")]
    assert [r[1:3] for r in reload] == [["agent", "--check-config"], ["-HUP", "$MAINPID"]]
