"""``runner list`` and ``runner verify``: the runners of the agent config, as gitlab-runner has
them.

``list`` only reads the file (no network), for an operator asking "what is this agent
configured to be?". ``verify`` asks GitLab whether each runner's token is still valid
(``POST /runners/verify``, as ``runner register`` does), so a runner deleted in GitLab is
found before the agent spends a day being refused; ``--delete`` removes such runners from
the config, as ``gitlab-runner verify --delete`` does. A GitLab that cannot be reached says
nothing about a token, so it never deletes. Tokens are shown in gitlab-runner's short form
only: this output lands in terminals and tickets.
"""

from __future__ import annotations

import argparse
import asyncio
from dataclasses import replace

from runner.cli import EXIT_COORDINATOR, EXIT_OK
from runner.cli.agent import config_arg, existing_config
from runner.cli.helptext import explain
from runner.errors import CoordinatorError, UsageError


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add ``list`` and ``verify``."""
    listing = explain(sub.add_parser("list", help="list the runners of the agent config"),
                      "list")
    config_arg(listing)
    listing.set_defaults(func=handle_list)

    verify = explain(sub.add_parser("verify", help="check with GitLab that each runner of"
                                    " the agent config is still valid"), "verify")
    config_arg(verify)
    verify.add_argument("--name", help="only this runner")
    verify.add_argument("--delete", action="store_true",
                        help="remove runners GitLab no longer knows from the config")
    verify.set_defaults(func=handle_verify)


def handle_list(args: argparse.Namespace) -> int:
    """One line per runner: name, URL, short token, limit, default image."""
    from runner.agent import config as agentconfig  # noqa: PLC0415
    from runner.agent.service import short_token  # noqa: PLC0415

    path = existing_config(args)
    cfg = agentconfig.load(path, private=False)  # reading names and URLs harms no one
    print(f"runner: {len(cfg.runners)} runner(s) in {path} (concurrent {cfg.concurrent}, "
          f"system_id {cfg.system_id})")
    for entry in cfg.runners:
        limit = entry.limit or "none"
        print(f"{entry.name}  url={entry.url}  token={short_token(entry.token)}  "
              f"id={entry.id if entry.id is not None else '-'}  limit={limit}  "
              f"image={entry.image}")
    return EXIT_OK


def handle_verify(args: argparse.Namespace) -> int:
    """Verify each chosen runner; exit 0 when all are valid, 4 otherwise."""
    from runner.agent import config as agentconfig  # noqa: PLC0415
    from runner.agent.service import short_token  # noqa: PLC0415
    from runner.coordinator.gitlab.client import GitLabClient  # noqa: PLC0415

    path = existing_config(args)
    cfg = agentconfig.load(path, private=False)  # save() makes it 0600
    chosen = [r for r in cfg.runners if args.name in (None, r.name)]
    if not chosen:
        what = "no runners" if args.name is None else f"no runner named {args.name!r}"
        raise UsageError(f"{path} has {what}")

    async def check(entry: agentconfig.RunnerEntry) -> tuple[str, str]:
        async with GitLabClient(entry.url, ca_file=entry.ca_file) as client:
            try:
                await client.verify(entry.token, cfg.system_id)
            except CoordinatorError as exc:
                verdict = "invalid" if exc.status in (403, 422) else "unreachable"
                return verdict, str(exc)
        return "valid", "is alive"

    async def check_all() -> list[tuple[str, str]]:
        return list(await asyncio.gather(*(check(entry) for entry in chosen)))

    verdicts = asyncio.run(check_all())
    gone = []
    for entry, (verdict, text) in zip(chosen, verdicts, strict=True):
        print(f"{entry.name} ({entry.url}, token {short_token(entry.token)}): {verdict}: {text}")
        if verdict == "invalid":
            gone.append(entry)
    if args.delete and gone:
        agentconfig.save(replace(cfg, runners=tuple(r for r in cfg.runners if r not in gone)))
        print(f"runner: removed {', '.join(r.name for r in gone)} from {path}")
    elif gone:
        print("runner: hint: `runner verify --delete` removes the invalid runners from "
              f"{path}; `runner register` adds a new one")
    failed = [v for v, _ in verdicts if v == "unreachable"] or ([] if args.delete else gone)
    return EXIT_COORDINATOR if failed else EXIT_OK
