"""Every ``docker create`` option a workflow's ``options:`` may write, and runner's verdict on each.

GitHub's runner pastes ``options`` into its ``docker create`` command line;
act parses them with docker's own flag set. Either way any docker option is
taken, including those that hand a job the host. runner runs jobs of many
tenants on one machine, so the table below is an allow list: an option is
honoured (``parse_container_options`` maps it), noted as having no effect
locally, or refused with the reason, and an option not listed is refused as
unknown. The list follows ``docker run --help`` of docker 28.
"""

from __future__ import annotations

BOOLEAN = frozenset({
    "--detach", "--disable-content-trust", "--help", "--init", "--interactive",
    "--no-healthcheck", "--oom-kill-disable", "--privileged", "--publish-all", "--quiet",
    "--read-only", "--rm", "--sig-proxy", "--tty", "--use-api-socket",
})
"""Options that take no value (``--init``, or ``--init=false``); every other one takes one."""

SHORT = {
    "-a": "--attach", "-c": "--cpu-shares", "-d": "--detach", "-e": "--env", "-h": "--hostname",
    "-i": "--interactive", "-l": "--label", "-m": "--memory", "-P": "--publish-all",
    "-p": "--publish", "-q": "--quiet", "-t": "--tty", "-u": "--user", "-v": "--volume",
    "-w": "--workdir",
}
"""docker's one-letter spellings, by the long name they stand for."""

ALIASES = {"--net": "--network", "--net-alias": "--network-alias"}
"""Old long spellings docker still takes."""

HONOURED = frozenset({
    "--env", "--entrypoint", "--health-cmd", "--health-interval", "--health-timeout",
    "--health-retries", "--health-start-period", "--health-start-interval",
    "--no-healthcheck", "--memory", "--cpus", "--pids-limit",
})
"""Mapped onto the job or the service (see ``options``); some only for one of the two."""

NO_EFFECT = {
    "--label": "runner labels its containers itself and nothing reads other labels",
    "--log-driver": "runner streams and keeps every container's output itself",
    "--log-opt": "runner streams and keeps every container's output itself",
    "--rm": "runner always removes a job's containers when it ends",
    "--detach": "runner decides how its containers run",
    "--interactive": "jobs never read a terminal",
    "--tty": "jobs never get a terminal",
    "--quiet": "runner shows pulls its own way",
    "--disable-content-trust": "runner does not verify image signatures (nor does GitHub)",
    "--name": "runner names its containers itself (GitHub's runner does too)",
    "--pull": "runner's --pull option decides when images are pulled",
    "--restart": "a container that exits is not restarted: the job fails or ends first",
    "--stop-signal": "runner removes a job's containers at once when it ends",
    "--stop-timeout": "runner removes a job's containers at once when it ends",
    "--expose": "a service's ports are its `ports:`, else its image's; all are on localhost",
}
"""Accepted, shown in the list of what does not apply locally, and otherwise without effect."""

_HOST = ("it would give the job a way into the host (privileges, devices or kernel settings);"
         " jobs of many tenants share this machine")
_NAMESPACE = ("it would share a namespace with the host or another container; each job runs in"
              " its own user, pid, ipc and network namespaces")
_HOST_FILE = ("it reads or writes a path on the host outside the job's workspace; files reach"
              " a job through its workspace, artifacts and caches")
_NETWORK = ("a job's network is its own pod: services answer on localhost and by their ids,"
            " and the ports they listen on come from `ports:`")
_UNSUPPORTED = "runner cannot honour it yet; remove it"

REFUSED = {
    **dict.fromkeys((
        "--privileged", "--cap-add", "--device", "--device-cgroup-rule", "--gpus",
        "--security-opt", "--sysctl", "--oom-kill-disable", "--oom-score-adj",
        "--use-api-socket", "--runtime", "--isolation", "--cgroup-parent", "--storage-opt",
        "--kernel-memory",
    ), _HOST),
    **dict.fromkeys((
        "--userns", "--pid", "--ipc", "--uts", "--cgroupns", "--network", "--volumes-from",
        "--link",
    ), _NAMESPACE),
    **dict.fromkeys((
        "--volume", "--mount", "--volume-driver", "--env-file", "--label-file", "--cidfile",
    ), _HOST_FILE),
    **dict.fromkeys((
        "--publish", "--publish-all", "--add-host", "--dns", "--dns-option", "--dns-search",
        "--ip", "--ip6", "--mac-address", "--link-local-ip", "--network-alias", "--hostname",
        "--domainname",
    ), _NETWORK),
    **dict.fromkeys((
        "--cap-drop", "--tmpfs", "--read-only", "--init", "--shm-size", "--ulimit", "--group-add",
        "--memory-reservation", "--memory-swappiness", "--cpu-shares", "--cpuset-cpus",
        "--cpuset-mems", "--cpu-period", "--cpu-quota", "--cpu-rt-period", "--cpu-rt-runtime",
        "--blkio-weight", "--blkio-weight-device", "--device-read-bps", "--device-read-iops",
        "--device-write-bps", "--device-write-iops", "--annotation", "--attach", "--detach-keys",
        "--sig-proxy", "--cpu-count", "--cpu-percent", "--io-maxbandwidth", "--io-maxiops",
        "--help",
    ), _UNSUPPORTED),
    "--user": ("a job's steps run as root of its own uid slice (an unprivileged uid on the"
               " host), a service as its image's user; another user is not supported yet"),
    "--workdir": ("a job's steps start in the workspace (use `defaults.run.working-directory`),"
                  " a service where its image says"),
    "--memory-swap": "runner's memory limit (--memory) already counts swap",
    "--platform": "runner runs images for this machine's platform only; name such an image",
}
"""Refused, each with the reason the error gives."""

KNOWN = BOOLEAN | HONOURED | NO_EFFECT.keys() | REFUSED.keys()
"""Every option docker create takes (and so ``options:`` may name)."""
