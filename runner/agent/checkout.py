"""The job's sources: a fresh git checkout of the commit GitLab asked for, on the host.

Done as gitlab-runner's ``fetch`` strategy does it on an empty directory:
``git init``, fetch the payload's refspecs (shallow when ``depth`` says so),
then check out the exact commit, detached. The job token never touches argv
or ``.git/config``: the remote URL is stored without credentials and git
asks a credential helper, which reads the token from its environment.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import Callable
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

from runner.coordinator.gitlab.payload import GitInfo
from runner.errors import RunnerError
from runner.pipeline.projectfiles import git_argv

Output = Callable[[bytes], None]
TOKEN_ENV = "RUNNER_GIT_PASSWORD"  # noqa: S105 - the variable's name, not a password
CHECKOUT_TIMEOUT_S = 600.0
_HELPER = ('!f() { test "$1" = get || exit 0; echo "username=$RUNNER_GIT_USERNAME"; '
           f'echo "password=${TOKEN_ENV}"; }}; f')


class CheckoutError(RunnerError):
    """The sources could not be fetched: the job fails with a system failure, not a script one."""


def split_credentials(url: str) -> tuple[str, str | None, str | None]:
    """``url`` without its user:password, and those two (GitLab embeds the job token)."""
    parts = urlsplit(url)
    if not parts.scheme or parts.username is None:
        return url, None, None
    host = parts.netloc.rpartition("@")[2]  # as written: an IPv6 host keeps its brackets
    return urlunsplit(parts._replace(netloc=host)), parts.username, parts.password


def fetch_refspecs(git: GitInfo) -> list[str]:
    """What to fetch: the payload's refspecs, else the ref (branch or tag) it names."""
    if git.refspecs:
        return list(git.refspecs)
    if git.ref_type == "tag":
        return [f"+refs/tags/{git.ref}:refs/tags/{git.ref}"]
    if git.ref:
        return [f"+refs/heads/{git.ref}:refs/remotes/origin/{git.ref}"]
    return ["+refs/heads/*:refs/remotes/origin/*"]


def checkout_steps(git: GitInfo, dest: Path, url: str) -> list[list[str]]:
    """The git commands, in order (pure: tested as whole lists)."""
    fetch = ["fetch", "--no-tags", "--prune", "--quiet"]
    if git.depth > 0:
        fetch.append(f"--depth={git.depth}")
    steps = [
        ["git", "init", "--quiet", str(dest)],
        git_argv(dest, "remote", "add", "origin", url),
        git_argv(dest, *fetch, "origin", *fetch_refspecs(git)),
    ]
    target = git.sha or "FETCH_HEAD"
    steps.append(git_argv(dest, "-c", "advice.detachedHead=false", "checkout", "--force",
                          "--quiet", target))
    return steps


async def checkout(git: GitInfo, dest: Path, output: Output,
                   environ: dict[str, str] | None = None) -> None:
    """Fetch and check out ``git`` into the new directory ``dest``; git's words go to ``output``."""
    url, user, password = split_credentials(git.repo_url)
    env = {k: v for k, v in (environ or os.environ).items()
           if k in ("PATH", "HOME", "LANG", "LC_ALL", "TMPDIR", "SSL_CERT_FILE", "SSL_CERT_DIR")}
    env |= {"GIT_TERMINAL_PROMPT": "0", "GIT_CONFIG_NOSYSTEM": "1", "GIT_ASKPASS": "/bin/false"}
    if password is not None:
        env |= {"RUNNER_GIT_USERNAME": user or "gitlab-ci-token", TOKEN_ENV: password}
    dest.mkdir(mode=0o700, parents=True)
    output(f"Fetching {url} at {git.sha[:8] or git.ref}\n".encode())
    for argv in checkout_steps(git, dest, url):
        # The empty value first clears helpers from the user's own git config.
        helped = [argv[0], "-c", "credential.helper=", "-c", f"credential.helper={_HELPER}",
                  *argv[1:]]
        await _run(helped if "fetch" in argv else argv, env, output)
    output(f"Checked out {git.sha[:8] or git.ref}\n".encode())


async def _run(argv: list[str], env: dict[str, str], output: Output) -> None:
    proc = await asyncio.create_subprocess_exec(
        *argv, stdin=asyncio.subprocess.DEVNULL, stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT, env=env, start_new_session=True)
    try:
        async with asyncio.timeout(CHECKOUT_TIMEOUT_S):
            out, _ = await proc.communicate()
    except TimeoutError:
        proc.kill()
        await proc.wait()
        raise CheckoutError(f"git did not finish within {CHECKOUT_TIMEOUT_S:g}s: "
                            f"{' '.join(argv[-3:])}") from None
    if out:
        output(out)
    if proc.returncode != 0:
        raise CheckoutError(f"git {_command(argv)} failed with exit status {proc.returncode}")


def _command(argv: list[str]) -> str:
    """The git command of ``argv`` (``fetch``), past the ``-c NAME=VALUE`` and ``-C DIR``."""
    args = iter(argv[1:])
    for arg in args:
        if arg in ("-c", "-C"):
            next(args, None)
        elif not arg.startswith("-"):
            return arg
    return argv[0]
