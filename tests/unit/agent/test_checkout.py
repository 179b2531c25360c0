"""The job's sources: pure planning as whole lists, then real checkouts of local repositories."""

from __future__ import annotations

import asyncio
import base64
import os
import socket
import subprocess
from pathlib import Path

import pytest
from aiohttp import web

from runner.agent.checkout import (
    CheckoutError,
    checkout,
    checkout_steps,
    fetch_refspecs,
    split_credentials,
)
from runner.coordinator.gitlab.payload import GitInfo

TOKEN = "glcbt-64_S3cretJobT0ken"
SAFE = ["-c", "core.fsmonitor=false", "-c", "core.hooksPath=/dev/null"]
GIT_ENV = {"GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@example.com",
           "GIT_COMMITTER_NAME": "t", "GIT_COMMITTER_EMAIL": "t@example.com",
           "GIT_CONFIG_NOSYSTEM": "1"}


# --- split_credentials -----------------------------------------------------------------------


@pytest.mark.parametrize(("url", "expected"), [
    (f"https://gitlab-ci-token:{TOKEN}@gitlab.example.com/group/project.git",
     ("https://gitlab.example.com/group/project.git", "gitlab-ci-token", TOKEN)),
    (f"https://gitlab-ci-token:{TOKEN}@gitlab.example.com:8443/g/p.git",
     ("https://gitlab.example.com:8443/g/p.git", "gitlab-ci-token", TOKEN)),
    ("https://user@gitlab.example.com/g/p.git",
     ("https://gitlab.example.com/g/p.git", "user", None)),
    ("https://gitlab.example.com/g/p.git", ("https://gitlab.example.com/g/p.git", None, None)),
    ("git@gitlab.example.com:g/p.git", ("git@gitlab.example.com:g/p.git", None, None)),
    ("/srv/repos/p.git", ("/srv/repos/p.git", None, None)),
    (f"http://gitlab-ci-token:{TOKEN}@127.0.0.1:8080/g/p.git?x=1",
     ("http://127.0.0.1:8080/g/p.git?x=1", "gitlab-ci-token", TOKEN)),
])
def test_split_credentials(url: str, expected: tuple[str, str | None, str | None]) -> None:
    assert split_credentials(url) == expected


def test_split_credentials_keeps_an_ipv6_host_usable() -> None:
    """The host of ``https://[::1]:8443/`` keeps its brackets, or the URL means nothing."""
    url = f"https://gitlab-ci-token:{TOKEN}@[2001:db8::7]:8443/g/p.git"
    assert split_credentials(url) == ("https://[2001:db8::7]:8443/g/p.git", "gitlab-ci-token",
                                      TOKEN)


# --- fetch_refspecs / checkout_steps ---------------------------------------------------------


def test_refspecs_from_the_payload_win() -> None:
    git = GitInfo(ref="main", ref_type="branch",
                  refspecs=("+refs/pipelines/9:refs/pipelines/9",
                            "+refs/heads/main:refs/remotes/origin/main"))
    assert fetch_refspecs(git) == ["+refs/pipelines/9:refs/pipelines/9",
                                   "+refs/heads/main:refs/remotes/origin/main"]


def test_refspec_of_a_branch() -> None:
    git = GitInfo(ref="feature/x", ref_type="branch")
    assert fetch_refspecs(git) == ["+refs/heads/feature/x:refs/remotes/origin/feature/x"]


def test_refspec_of_a_tag() -> None:
    git = GitInfo(ref="v1.2", ref_type="tag")
    assert fetch_refspecs(git) == ["+refs/tags/v1.2:refs/tags/v1.2"]


def test_refspec_without_a_ref_fetches_every_branch() -> None:
    assert fetch_refspecs(GitInfo()) == ["+refs/heads/*:refs/remotes/origin/*"]


def test_checkout_steps_full_clone(tmp_path: Path) -> None:
    dest = tmp_path / "src"
    git = GitInfo(ref="main", ref_type="branch", sha="a" * 40)
    assert checkout_steps(git, dest, "https://gitlab.example.com/g/p.git") == [
        ["git", "init", "--quiet", str(dest)],
        ["git", *SAFE, "-C", str(dest), "remote", "add", "origin",
         "https://gitlab.example.com/g/p.git"],
        ["git", *SAFE, "-C", str(dest), "fetch", "--no-tags", "--prune", "--quiet", "origin",
         "+refs/heads/main:refs/remotes/origin/main"],
        ["git", *SAFE, "-C", str(dest), "-c", "advice.detachedHead=false", "checkout",
         "--force", "--quiet", "a" * 40],
    ]


def test_checkout_steps_shallow_without_sha(tmp_path: Path) -> None:
    dest = tmp_path / "src"
    git = GitInfo(ref="v2", ref_type="tag", depth=20)
    assert checkout_steps(git, dest, "https://h/p.git") == [
        ["git", "init", "--quiet", str(dest)],
        ["git", *SAFE, "-C", str(dest), "remote", "add", "origin", "https://h/p.git"],
        ["git", *SAFE, "-C", str(dest), "fetch", "--no-tags", "--prune", "--quiet",
         "--depth=20", "origin", "+refs/tags/v2:refs/tags/v2"],
        ["git", *SAFE, "-C", str(dest), "-c", "advice.detachedHead=false", "checkout",
         "--force", "--quiet", "FETCH_HEAD"],
    ]


def test_checkout_steps_never_carry_credentials(tmp_path: Path) -> None:
    git = GitInfo(repo_url=f"https://gitlab-ci-token:{TOKEN}@h/p.git", ref="main",
                  ref_type="branch", sha="b" * 40)
    url, _, _ = split_credentials(git.repo_url)
    for argv in checkout_steps(git, tmp_path / "src", url):
        assert not any(TOKEN in arg for arg in argv)


# --- real checkouts ----------------------------------------------------------------------------


def git(repo: Path, *args: str) -> str:
    return subprocess.run(["git", "-C", str(repo), *args], env={**os.environ, **GIT_ENV},
                          check=True, capture_output=True, text=True, timeout=30).stdout.strip()


@pytest.fixture
def origin(tmp_path: Path) -> tuple[Path, list[str]]:
    """A repository with three commits on ``main`` and a tag on the first; (path, shas)."""
    repo = tmp_path / "origin"
    repo.mkdir()
    git(repo, "init", "-q", "-b", "main")
    shas = []
    for number in range(1, 4):
        (repo / "file.txt").write_text(f"version {number}\n")
        git(repo, "add", "-A")
        git(repo, "commit", "-q", "-m", f"commit {number}")
        shas.append(git(repo, "rev-parse", "HEAD"))
    git(repo, "tag", "v1", shas[0])
    return repo, shas


def do_checkout(info: GitInfo, dest: Path) -> bytes:
    said: list[bytes] = []
    asyncio.run(checkout(info, dest, said.append))
    return b"".join(said)


def test_checkout_of_a_branch(tmp_path: Path, origin: tuple[Path, list[str]]) -> None:
    repo, shas = origin
    dest = tmp_path / "job" / "src"
    said = do_checkout(GitInfo(repo_url=f"file://{repo}", ref="main", ref_type="branch",
                               sha=shas[2]), dest)
    assert (dest / "file.txt").read_text() == "version 3\n"
    assert git(dest, "rev-parse", "HEAD") == shas[2]
    assert git(dest, "rev-list", "--count", "HEAD") == "3"
    detached = subprocess.run(["git", "-C", str(dest), "symbolic-ref", "-q", "HEAD"],
                              capture_output=True, check=False)
    assert detached.returncode == 1  # detached at the exact commit
    assert said.startswith(f"Fetching file://{repo} at {shas[2][:8]}\n".encode())
    assert said.endswith(f"Checked out {shas[2][:8]}\n".encode())
    assert (dest.stat().st_mode & 0o777) == 0o700


def test_checkout_of_an_older_commit(tmp_path: Path, origin: tuple[Path, list[str]]) -> None:
    repo, shas = origin
    dest = tmp_path / "src"
    do_checkout(GitInfo(repo_url=f"file://{repo}", ref="main", ref_type="branch",
                        sha=shas[0]), dest)
    assert (dest / "file.txt").read_text() == "version 1\n"


def test_shallow_checkout(tmp_path: Path, origin: tuple[Path, list[str]]) -> None:
    repo, shas = origin
    dest = tmp_path / "src"
    do_checkout(GitInfo(repo_url=f"file://{repo}", ref="main", ref_type="branch",
                        sha=shas[2], depth=1), dest)
    assert git(dest, "rev-parse", "HEAD") == shas[2]
    assert git(dest, "rev-list", "--count", "HEAD") == "1"
    assert (dest / ".git" / "shallow").read_text().split() == [shas[2]]


def test_checkout_of_a_tag_without_sha(tmp_path: Path, origin: tuple[Path, list[str]]) -> None:
    repo, shas = origin
    dest = tmp_path / "src"
    do_checkout(GitInfo(repo_url=f"file://{repo}", ref="v1", ref_type="tag"), dest)
    assert git(dest, "rev-parse", "HEAD") == shas[0]
    assert (dest / "file.txt").read_text() == "version 1\n"


def test_checkout_with_payload_refspecs(tmp_path: Path, origin: tuple[Path, list[str]]) -> None:
    repo, shas = origin
    dest = tmp_path / "src"
    do_checkout(GitInfo(repo_url=f"file://{repo}", ref="main", ref_type="branch", sha=shas[1],
                        refspecs=("+refs/heads/*:refs/remotes/origin/*",
                                  "+refs/tags/*:refs/tags/*")), dest)
    assert git(dest, "rev-parse", "HEAD") == shas[1]
    assert git(dest, "tag") == "v1"


def test_bad_sha_is_a_checkout_error(tmp_path: Path, origin: tuple[Path, list[str]]) -> None:
    repo, _ = origin
    with pytest.raises(CheckoutError, match=r"^git checkout failed with exit status \d+$"):
        do_checkout(GitInfo(repo_url=f"file://{repo}", ref="main", ref_type="branch",
                            sha="0123456789abcdef0123456789abcdef01234567"), tmp_path / "src")


def test_missing_branch_is_a_fetch_error(tmp_path: Path, origin: tuple[Path, list[str]]) -> None:
    repo, _ = origin
    with pytest.raises(CheckoutError, match=r"^git fetch failed with exit status \d+$"):
        do_checkout(GitInfo(repo_url=f"file://{repo}", ref="nope", ref_type="branch"),
                    tmp_path / "src")


def test_existing_destination_is_refused(tmp_path: Path, origin: tuple[Path, list[str]]) -> None:
    repo, shas = origin
    dest = tmp_path / "src"
    dest.mkdir()
    with pytest.raises(FileExistsError):
        do_checkout(GitInfo(repo_url=f"file://{repo}", ref="main", sha=shas[2]), dest)


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return port


def test_token_never_reaches_git_config_or_output(tmp_path: Path) -> None:
    port = closed_port()
    dest = tmp_path / "src"
    info = GitInfo(repo_url=f"http://gitlab-ci-token:{TOKEN}@127.0.0.1:{port}/g/p.git",
                   ref="main", ref_type="branch", sha="a" * 40)
    said: list[bytes] = []
    with pytest.raises(CheckoutError, match="git fetch failed"):
        asyncio.run(checkout(info, dest, said.append))
    config = (dest / ".git" / "config").read_text()
    assert f"url = http://127.0.0.1:{port}/g/p.git" in config
    assert TOKEN not in config
    assert "gitlab-ci-token" not in config
    assert TOKEN.encode() not in b"".join(said)
    for path in (dest / ".git").rglob("*"):
        if path.is_file():
            assert TOKEN.encode() not in path.read_bytes(), path


def test_credential_helper_answers_with_the_job_token(tmp_path: Path) -> None:
    """git gets the token from the helper, only when the server asks for it."""
    authorizations: list[str | None] = []

    async def info_refs(request: web.Request) -> web.Response:
        authorization = request.headers.get("Authorization")
        authorizations.append(authorization)
        if authorization is None:
            return web.Response(status=401, headers={"WWW-Authenticate": 'Basic realm="x"'})
        return web.Response(status=403, text="denied")

    async def main() -> None:
        app = web.Application()
        app.router.add_get("/g/p.git/info/refs", info_refs)
        runner = web.AppRunner(app, access_log=None)
        await runner.setup()
        try:
            site = web.TCPSite(runner, "127.0.0.1", 0)
            await site.start()
            port = runner.addresses[0][1]
            info = GitInfo(repo_url=f"http://gitlab-ci-token:{TOKEN}@127.0.0.1:{port}/g/p.git",
                           ref="main", ref_type="branch", sha="a" * 40)
            with pytest.raises(CheckoutError, match="git fetch failed"):
                await checkout(info, tmp_path / "src", lambda _data: None,
                               environ={"PATH": os.environ["PATH"], "HOME": str(tmp_path)})
        finally:
            await runner.cleanup()

    asyncio.run(main())
    assert authorizations[0] is None
    expected = "Basic " + base64.b64encode(f"gitlab-ci-token:{TOKEN}".encode()).decode()
    assert expected in authorizations[1:]
