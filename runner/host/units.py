"""The agent's systemd **system** unit, rendered for one user, and its installation.

A system unit (rather than the user unit in deploy/) is what operators
expect of a service: ``systemctl status runner-agent`` as root, started at
boot without anyone logging in. It still runs the agent as the unprivileged
user (``User=``): rootless is the product. It needs the user's uid (for
``XDG_RUNTIME_DIR`` and the user manager it orders after), so it is rendered
per host; ``deploy/runner-agent-system.service`` is the rendering for user
``runner`` (uid 1001) and the layout of docs/operations.md
(``/opt/runner/current/bin/runner``), kept equal to ``render_system_unit`` by a test.
"""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

from runner.errors import HostSetupError
from runner.host.setup import Setup, account

UNIT_PATH = "/etc/systemd/system/runner-agent.service"
STOP_TIMEOUT_S = 120
"""systemd's patience on stop: longer than the agent's default ``shutdown_timeout`` (30 s)
plus the final log upload and status updates; raise it with a larger ``shutdown_timeout``."""

_TEMPLATE = """\
# runner agent as a systemd *system* service that runs as the unprivileged user {user}.
# Written by `runner setup-host --agent-unit --user {user}`; see docs/operations.md.
#   systemctl daemon-reload && systemctl enable --now runner-agent.service
#   systemctl reload runner-agent.service    # re-read the config (SIGHUP), jobs go on
#   journalctl -u runner-agent.service -f

[Unit]
Description=runner agent: GitLab jobs in rootless containers (as {user})
Wants=network-online.target user@{uid}.service
After=network-online.target user@{uid}.service
# Never give up restarting after quick failures (GitLab or the network not up yet).
StartLimitIntervalSec=0

[Service]
Type=exec
User={user}
Group={group}
# Lingering (`loginctl enable-linger {user}`, done by setup-host) keeps user@{uid}.service
# and its runtime dir from boot on; rootless podman keeps its locks and sockets there.
Environment=XDG_RUNTIME_DIR=/run/user/{uid}
WorkingDirectory=~
ExecStart={exe} agent --config {config}
# A config that does not load never reaches the running agent: reload fails instead.
ExecReload={exe} agent --check-config --config {config}
ExecReload=/bin/kill -HUP $MAINPID
# Only the agent gets SIGTERM: it stops taking jobs and lets running ones finish for
# shutdown_timeout (config), then stops them and reports them. control-group would signal
# every job process at once.
KillMode=mixed
KillSignal=SIGTERM
TimeoutStopSec={stop}
Restart=on-failure
RestartSec=10
# Exit 2 is a bad config: restarting cannot fix it.
RestartPreventExitStatus=2
SyslogIdentifier=runner-agent
# Not NoNewPrivileges=yes: rootless podman needs the setuid newuidmap/newgidmap helpers
# to map each job's uid slice.

[Install]
WantedBy=multi-user.target
"""


def render_system_unit(user: str, uid: int, group: str, home: Path, exe: str) -> str:
    """The unit text for ``user`` and the ``runner`` executable at ``exe``."""
    config = home / ".config" / "runner" / "agent.yml"
    return _TEMPLATE.format(user=user, uid=uid, group=group, exe=exe, config=config,
                            stop=STOP_TIMEOUT_S)


def runner_executable() -> str:
    """The ``runner`` that is running, by the path it was started with: a venv's script
    names the release's own interpreter, so ``/opt/runner/current/bin/runner`` would
    become the release path if it were resolved, and the unit would not follow upgrades."""
    started = Path(sys.argv[0])
    if started.name == "runner" and started.is_file():
        return str(started.absolute())
    beside = Path(sys.executable).parent / "runner"
    if beside.is_file():
        return str(beside)
    found = shutil.which("runner")
    if found is None:
        raise HostSetupError("cannot find the runner executable to put in the unit"
                             ).with_hint("run setup-host with the runner of the venv it is "
                                         "installed in, e.g. /opt/runner/bin/runner setup-host")
    return str(Path(found).absolute())


def install_agent_unit(setup: Setup) -> None:
    """Write the unit if it differs; ``systemctl daemon-reload`` when systemd runs."""
    user = account(setup)
    if user is None:
        setup.act(f"write {UNIT_PATH} (once user {setup.user} exists)")
        return
    group = next((line.split(":")[0] for line in setup.path("/etc/group").read_text()
                  .splitlines() if line.split(":")[2:3] == [str(user.gid)]), str(user.gid))
    home = Path("/") / user.home.relative_to(setup.root)
    text = render_system_unit(setup.user, user.uid, group, home, runner_executable())
    path = setup.path(UNIT_PATH)
    if path.is_file() and path.read_text() == text:
        setup.ok(UNIT_PATH)
        return
    if not setup.act(f"write {UNIT_PATH}"):
        return
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(path.name + ".tmp")
    temporary.write_text(text)
    temporary.chmod(0o644)
    temporary.replace(path)
    if setup.path("/run/systemd/system").is_dir():
        setup.must(["systemctl", "daemon-reload"])
