"""``runner agent``, ``runner register`` and ``runner unregister``: the GitLab runner side."""

from __future__ import annotations

import argparse
import asyncio
import os
import socket
from pathlib import Path

from runner.cli import EXIT_OK
from runner.cli.helptext import explain
from runner.errors import UsageError


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add the three subcommands."""
    agent = explain(sub.add_parser("agent", help="take jobs from GitLab and run them, each in"
                                   " its own rootless container (a gitlab-runner without a Docker"
                                   " daemon)"), "agent")
    config_arg(agent)
    agent.add_argument("--check-config", action="store_true",
                       help="only check the config (as the agent would load it) and exit: "
                       "0 when it is good, 2 with every problem's line otherwise")
    agent.set_defaults(func=handle_agent)

    reg = explain(sub.add_parser("register", help="register this machine as a GitLab runner"
                                 " and write the agent config"), "register")
    config_arg(reg)
    reg.add_argument("--url", required=True, help="GitLab URL, e.g. https://gitlab.example.com")
    token = reg.add_mutually_exclusive_group(required=True)
    token.add_argument("--token", help="runner authentication token (glrt-...) of a runner "
                       "created in GitLab; read from $RUNNER_TOKEN if given as '-'")
    token.add_argument("--registration-token", help="legacy registration token (deprecated "
                       "by GitLab); '-' reads $REGISTRATION_TOKEN")
    reg.add_argument("--name", default=socket.gethostname(), help="runner name (default: host)")
    reg.add_argument("--description", help="legacy flow: description shown in GitLab")
    reg.add_argument("--tag-list", default="", help="legacy flow: comma-separated tags")
    reg.add_argument("--run-untagged", action="store_true", help="legacy flow")
    reg.add_argument("--locked", action="store_true", help="legacy flow")
    reg.add_argument("--concurrent", type=int, help="jobs at once, for the whole agent")
    reg.add_argument("--limit", type=int, default=0, help="jobs at once for this runner")
    reg.add_argument("--image", default="busybox:latest", help="image of jobs that name none")
    reg.add_argument("--ca-file", type=Path, help="CA bundle for a GitLab with a private CA")
    reg.set_defaults(func=handle_register)

    unreg = explain(sub.add_parser("unregister", help="remove a runner from GitLab and the"
                                   " config"), "unregister")
    config_arg(unreg)
    unreg.add_argument("--name", help="the runner to remove (default: the only one)")
    unreg.set_defaults(func=handle_unregister)


def config_arg(parser: argparse.ArgumentParser) -> None:
    """``--config FILE``, the same for every command that reads the agent config."""
    parser.add_argument("--config", type=Path,
                        help="agent config (default: ~/.config/runner/agent.yml)")


def config_path(args: argparse.Namespace) -> Path:
    """The agent config ``--config`` names, or the default one."""
    from runner.agent.config import default_path  # noqa: PLC0415

    return (args.config or default_path()).expanduser()


def existing_config(args: argparse.Namespace) -> Path:
    """The config path, which must exist (only ``register`` creates one)."""
    path = config_path(args)
    if not path.exists():
        raise UsageError(f"no agent config at {path}; create one with `runner register "
                         "--url URL --token glrt-...` (or pass --config FILE)")
    return path


def _secret_arg(value: str, env: str) -> str:
    """A token from the command line, or from the environment with '-' (keeps it off argv)."""
    if value != "-":
        return value
    token = os.environ.get(env, "")
    if not token:
        raise UsageError(f"'-' means the token comes from ${env}, which is not set")
    return token


def _check_register_args(args: argparse.Namespace) -> None:
    """Refuse bad options before GitLab is asked: a legacy registration creates the runner
    there, and a config ``runner agent`` cannot load must never be written."""
    from runner.agent.config import url_problem  # noqa: PLC0415

    if (problem := url_problem(args.url)) is not None:
        raise UsageError(f"--url {problem}")
    if args.concurrent is not None and args.concurrent < 1:
        raise UsageError("--concurrent must be at least 1")
    if args.limit < 0:
        raise UsageError("--limit must be 0 (only --concurrent bounds the jobs) or more")
    if not args.name.strip():
        raise UsageError("--name must not be empty")
    if not args.image.strip():
        raise UsageError("--image must not be empty")
    if args.ca_file is not None:
        import ssl  # noqa: PLC0415

        args.ca_file = args.ca_file.expanduser().absolute()
        try:
            ssl.create_default_context(cafile=str(args.ca_file))
        except (OSError, ssl.SSLError) as exc:
            raise UsageError(f"--ca-file {args.ca_file} is not a readable PEM file of CA "
                             f"certificates ({exc})") from None


def handle_register(args: argparse.Namespace) -> int:
    """Check the token with GitLab (or exchange a registration token) and save the config."""
    from runner.agent import config as agentconfig  # noqa: PLC0415
    from runner.agent.tokens import SystemClock, stamp  # noqa: PLC0415
    from runner.coordinator.gitlab.client import GitLabClient  # noqa: PLC0415

    _check_register_args(args)
    path = config_path(args)
    cfg = agentconfig.load(path, missing_ok=True, private=False)  # save() makes it 0600

    async def talk() -> agentconfig.RunnerEntry:
        async with GitLabClient(args.url, ca_file=args.ca_file) as client:
            if args.token:
                token = _secret_arg(args.token, "RUNNER_TOKEN")
                details = await client.verify(token, cfg.system_id)
            else:
                fields = {"description": args.description or args.name,
                          "tag_list": args.tag_list, "run_untagged": args.run_untagged,
                          "locked": args.locked, "access_level": "not_protected",
                          "paused": False}
                details = await client.register(
                    _secret_arg(args.registration_token, "REGISTRATION_TOKEN"), fields)
                token = str(details.get("token", ""))
                if not token:
                    from runner.errors import CoordinatorError  # noqa: PLC0415

                    raise CoordinatorError("GitLab registered the runner but sent no token")
        runner_id = details.get("id")
        expires = details.get("token_expires_at")
        return agentconfig.RunnerEntry(
            name=args.name, url=args.url, token=str(details.get("token") or token),
            id=runner_id if isinstance(runner_id, int) else None,
            token_obtained_at=stamp(SystemClock().now()),  # with the expiry: its reset time
            token_expires_at=str(expires) if expires else None, limit=args.limit,
            image=args.image, ca_file=args.ca_file)

    entry = asyncio.run(talk())
    cfg = agentconfig.with_runner(cfg, entry)
    if args.concurrent is not None:
        from dataclasses import replace  # noqa: PLC0415

        cfg = replace(cfg, concurrent=args.concurrent)
    agentconfig.save(cfg)
    print(f"runner: registered {entry.name!r} with {entry.url} (runner id {entry.id}); "
          f"config written to {path}. Start it with: runner agent --config {path}")
    return EXIT_OK


def handle_unregister(args: argparse.Namespace) -> int:
    """Remove the runner server-side, then from the config."""
    from dataclasses import replace  # noqa: PLC0415

    from runner.agent import config as agentconfig  # noqa: PLC0415
    from runner.coordinator.gitlab.client import GitLabClient  # noqa: PLC0415

    path = config_path(args)
    cfg = agentconfig.load(path, private=False)  # save() makes it 0600
    chosen = [r for r in cfg.runners if args.name in (None, r.name)]
    if not chosen:
        raise UsageError(f"{path} has no runner named {args.name!r}")
    if len(chosen) > 1:
        names = ", ".join(r.name for r in chosen)
        raise UsageError(f"{path} has several runners ({names}); pick one with --name")
    entry = chosen[0]

    async def talk() -> None:
        async with GitLabClient(entry.url, ca_file=entry.ca_file) as client:
            await client.unregister(entry.token, cfg.system_id)

    asyncio.run(talk())
    agentconfig.save(replace(cfg, runners=tuple(r for r in cfg.runners if r is not entry)))
    print(f"runner: unregistered {entry.name!r} from {entry.url}")
    return EXIT_OK


def handle_agent(args: argparse.Namespace) -> int:
    """Run the agent until SIGTERM."""
    from runner import log as runner_log  # noqa: PLC0415
    from runner.agent import config as agentconfig  # noqa: PLC0415
    from runner.agent.service import Agent  # noqa: PLC0415
    from runner.cli.exec_ import agent_settings  # noqa: PLC0415
    from runner.host.identity import refuse_root  # noqa: PLC0415

    refuse_root(os.environ)
    path = existing_config(args)
    cfg = agentconfig.load(path)
    if not cfg.runners:
        raise UsageError(f"{path} lists no runners; add one with `runner register`")
    if args.check_config:
        names = ", ".join(r.name for r in cfg.runners)
        print(f"runner: {path} is good: {len(cfg.runners)} runner(s) ({names}), "
              f"concurrent {cfg.concurrent}, data in {cfg.work_root()}")
        return EXIT_OK
    if cfg.fresh_system_id:
        agentconfig.save(cfg)  # the same id at every start: one runner manager in GitLab
    runner_log.configure(verbosity=max(args.verbose, 1))
    settings = agent_settings(cfg.work_root() / "cache")
    asyncio.run(Agent(cfg, settings).run())
    return EXIT_OK
