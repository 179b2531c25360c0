"""What ``runner COMMAND --help`` says beyond the options: a paragraph, then examples.

Kept in one place so each command's module only names its entry; the
paragraph says what the command is for and what it will not do, the
examples are real command lines a newcomer can adapt.
"""

from __future__ import annotations

import argparse

_DESCRIPTIONS = {
    "exec": (
        "Run a pipeline on this machine: the native format (pipeline.yml) or a .gitlab-ci.yml."
        " Every job runs in its own rootless container, in its own uid slice, with live"
        " output; logs, artifacts and result.json go to .runner/ in the project (or"
        " --state-dir). Exit 0 when every job passed, 1 when one failed, 2 for a bad file or"
        " option, 3 when the host is not set up (`runner doctor` says how), 130 when"
        " interrupted."),
    "agent": (
        "Take jobs from the GitLab instances in the agent config and run each in its own"
        " rootless container, as gitlab-runner would, without a Docker daemon. Runs until"
        " SIGTERM, letting running jobs finish. Create the config with `runner register`."),
    "register": (
        "Register this machine with GitLab and write the runner's entry into the agent"
        " config (0600: it holds the token). Use the authentication token of a runner"
        " created in GitLab (glrt-...); a legacy registration token still works. Tokens can"
        " be read from the environment with '-' so they stay off the command line."),
    "unregister": (
        "Remove a runner from GitLab and from the agent config."),
    "setup-host": (
        "Prepare this Debian 12 host for rootless jobs, as root: the packages, the"
        " unprivileged user with a large subordinate id range, /dev/net/tun and /dev/fuse"
        " modes, a shared /, overlay storage and the runc runtime for the user, its runtime"
        " dir and lingering. Idempotent: a second run changes nothing. --check only reports"
        " (exit 3 when something is to be done); `runner doctor` judges the result."),
    "list": (
        "List the runners of the agent config: name, URL, short token, limit and default"
        " image. Reads the file only; GitLab is not asked."),
    "verify": (
        "Ask GitLab whether each runner of the agent config is still valid. Exit 0 when"
        " all are, 4 when one is not or GitLab cannot be reached. --delete removes the"
        " runners GitLab no longer knows (never those it could not be asked about)."),
}
_EXAMPLES = {
    "exec": (
        "runner exec                              # pipeline.yml or .gitlab-ci.yml here",
        "runner exec .gitlab-ci.yml test          # 'test' alone, with its needs' last artifacts",
        "runner exec .gitlab-ci.yml test --needs  # job 'test' and the jobs it needs",
        "runner exec --list                       # the jobs, stages and needs, without running",
        "DEPLOY_TOKEN=... runner exec -j 4 ci/pipeline.yml",
    ),
    "build": (
        "runner build -t localhost/app:dev .",
        "runner build -t registry.example.com/team/app:1 --push --authfile ~/auth.json .",
    ),
    "doctor": ("runner doctor", "runner doctor --json"),
    "agent": ("runner agent", "runner agent --config /etc/runner/agent.yml",
              "runner agent --check-config   # before a restart or `systemctl reload`"),
    "setup-host": ("sudo runner setup-host --check", "sudo runner setup-host",
                   "sudo /opt/runner/bin/runner setup-host --user ci --agent-unit"),
    "list": ("runner list", "runner list --config /etc/runner/agent.yml"),
    "verify": ("runner verify", "runner verify --name ci-1", "runner verify --delete"),
    "register": (
        "runner register --url https://gitlab.example.com --token glrt-...",
        "RUNNER_TOKEN=glrt-... runner register --url https://gitlab.example.com --token -",
    ),
    "unregister": ("runner unregister --name ci-1",),
    "prune": ("runner prune --older-than 30d --dry-run", "runner prune --older-than 30d"),
}


def explain(parser: argparse.ArgumentParser, command: str) -> argparse.ArgumentParser:
    """Give ``parser`` the description of ``command`` (if kept here) and its examples."""
    parser.epilog = "examples:\n" + "\n".join(f"  {line}" for line in _EXAMPLES[command])
    parser.formatter_class = argparse.RawDescriptionHelpFormatter
    if command in _DESCRIPTIONS:
        parser.description = _DESCRIPTIONS[command]
    return parser


COMMANDS = tuple(_EXAMPLES)
"""Every subcommand: each has examples, and a description here or in its module."""
