"""``runner setup-host``: prepare a Debian 12 host for rootless jobs, as root; idempotent.

This is the logic ``deploy/setup-host.sh`` had, in the package, so that a
pip-installed runner can prepare its host without the checkout; the script
now runs this module for the host and keeps only the checkout's own steps
(its venv and bytecode). Every step checks first and acts only when
something is not right yet (``change: ...``; what is right is ``ok: ...``),
so a second run changes nothing. With ``check`` nothing is changed and each
step that would act says ``needed: ...``. docs/host-setup.md says why each
step exists.

Only the standard library and ``runner.errors`` are imported: the script
runs this with Debian's ``/usr/bin/python3`` before any venv exists. Every
system path is read below ``root`` and every command goes through ``run``,
so the unit tests set up a fake host under ``tmp_path``.
"""

from __future__ import annotations

import argparse
import os
import subprocess
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from runner.errors import HostSetupError

SLICE = 65536
WANT_IDS = 64 * SLICE
"""4194304 ids: room for 64 concurrent jobs of one slice each."""
PACKAGES = ("buildah", "podman", "runc", "uidmap", "slirp4netns", "fuse-overlayfs", "catatonit",
            "git", "openssl")
"""What runner drives: podman/buildah/runc, the setuid id mappers, rootless networking and
layers, the pause process, git for the workspace of ``runner exec``, and openssl for the
per-job certificates of a Docker job's TLS endpoint (``dockerapi.certs``)."""
DEV_PACKAGES = ("crun", "docker-registry", "busybox-static", "skopeo", "python3-venv",
                "python3-pip", "python3-build", "python3-setuptools", "python3-wheel", "make",
                "apache2-utils")
"""What the checkout's tests, base images and wheel build need besides (``--dev``)."""
CONFS = {"storage.conf": '[storage]\ndriver = "overlay"\n',
         "containers.conf": '[engine]\nruntime = "runc"\n'}

Runner = Callable[[Sequence[str]], "subprocess.CompletedProcess[str]"]


def run_command(argv: Sequence[str]) -> subprocess.CompletedProcess[str]:
    """The real ``run``: output captured, never raises for an exit status."""
    return subprocess.run(list(argv), capture_output=True, text=True, check=False,
                          stdin=subprocess.DEVNULL,
                          env={**os.environ, "DEBIAN_FRONTEND": "noninteractive"})


@dataclass
class Setup:
    """One run: the host under ``root``, the user, and what happened."""

    user: str
    root: Path = Path("/")
    check: bool = False
    dev: bool = False
    run: Runner = run_command
    say: Callable[[str], None] = print
    needed: list[str] = field(default_factory=list)
    changed: list[str] = field(default_factory=list)
    subids_changed: bool = False

    def ok(self, what: str) -> None:
        """Nothing to do."""
        self.say(f"setup-host: ok: {what}")

    def act(self, what: str) -> bool:
        """Something is not right: say so; True when it is to be done now (not ``check``)."""
        if self.check:
            self.needed.append(what)
            self.say(f"setup-host: needed: {what}")
            return False
        self.changed.append(what)
        self.say(f"setup-host: change: {what}")
        return True

    def must(self, argv: Sequence[str]) -> str:
        """Run a command that has to work; its stdout."""
        proc = self.run(argv)
        if proc.returncode != 0:
            detail = (proc.stderr or proc.stdout).strip().splitlines()
            raise HostSetupError(f"`{' '.join(argv)}` failed (exit {proc.returncode})"
                                 + (f": {detail[-1]}" if detail else ""))
        return proc.stdout

    def path(self, absolute: str) -> Path:
        """A system path below ``root``."""
        return self.root / absolute.lstrip("/")


@dataclass(frozen=True)
class Account:
    """The user's passwd entry."""

    uid: int
    gid: int
    home: Path


def account(setup: Setup) -> Account | None:
    """The user from ``etc/passwd`` below root (useradd writes there; NSS is not asked, so a
    fake root is read the same way)."""
    for line in setup.path("/etc/passwd").read_text().splitlines():
        fields = line.split(":")
        if len(fields) >= 6 and fields[0] == setup.user:
            return Account(int(fields[2]), int(fields[3]), setup.path(fields[5]))
    return None


def ensure_packages(setup: Setup) -> None:
    """apt-get install what is missing (one ``dpkg-query`` for all)."""
    wanted = PACKAGES + (DEV_PACKAGES if setup.dev else ())
    proc = setup.run(["dpkg-query", "-W", "-f=${Package} ${Status}\\n", *wanted])
    installed = {line.split()[0] for line in proc.stdout.splitlines()
                 if line.endswith("install ok installed")}
    missing = [pkg for pkg in wanted if pkg not in installed]
    if not missing:
        setup.ok("packages installed")
    elif setup.act(f"apt-get install {' '.join(missing)}"):
        setup.must(["apt-get", "update", "-qq"])
        setup.must(["apt-get", "install", "-y", "-qq", *missing])


def ensure_user(setup: Setup) -> Account | None:
    """The unprivileged user that runs podman; created with a home if missing."""
    found = account(setup)
    if found is not None:
        setup.ok(f"user {setup.user} exists")
        return found
    if setup.act(f"useradd {setup.user}"):
        setup.must(["useradd", "--create-home", "--shell", "/bin/bash", setup.user])
        return account(setup)
    return None


def ids_of(text: str, user: str, uid: int) -> int:
    """Ids granted to the user in a subid file (entries by name or by uid)."""
    total = 0
    for line in text.splitlines():
        fields = line.strip().split(":")
        if len(fields) == 3 and fields[0] in (user, str(uid)) and fields[2].isdigit():
            total += int(fields[2])
    return total


def free_start(*texts: str) -> int:
    """The first 65536-aligned id above every range in the files (and >= 100000)."""
    top = 100000
    for text in texts:
        for line in text.splitlines():
            fields = line.strip().split(":")
            if len(fields) == 3 and fields[1].isdigit() and fields[2].isdigit():
                top = max(top, int(fields[1]) + int(fields[2]))
    return (top + SLICE - 1) // SLICE * SLICE


def ensure_subids(setup: Setup, user: Account) -> None:
    """At least ``WANT_IDS`` subordinate uids and gids, from a range no one else has."""
    texts = {}
    for name in ("subuid", "subgid"):
        path = setup.path(f"/etc/{name}")
        texts[name] = path.read_text() if path.exists() else ""
    start = free_start(*texts.values())
    flags = []
    for name, flag in (("subuid", "--add-subuids"), ("subgid", "--add-subgids")):
        have = ids_of(texts[name], setup.user, user.uid)
        if have >= WANT_IDS:
            setup.ok(f"{name}s: {have} ids")
        elif setup.act(f"{name}s: {have} ids; adding {start}-{start + WANT_IDS - 1}"):
            flags += [flag, f"{start}-{start + WANT_IDS - 1}"]
    if flags:
        setup.must(["usermod", *flags, setup.user])
        setup.subids_changed = True


def ensure_device(setup: Setup, device: str, why: str) -> None:
    """A device every user may open read-write (0666), as distributions ship them."""
    path = setup.path(device)
    if not path.is_char_device():
        setup.say(f"setup-host: warning: {device} missing (try: modprobe "
                  f"{Path(device).name}); {why}")
        return
    mode = path.stat().st_mode & 0o777
    if mode & 0o006 == 0o006:
        setup.ok(f"{device} mode {mode:o}")
    elif setup.act(f"chmod 666 {device} (was {mode:o}; {why})"):
        path.chmod(0o666)


def ensure_shared_root(setup: Setup) -> None:
    """``/`` a shared mount: podman warns on every run otherwise."""
    propagation = setup.run(["findmnt", "-no", "PROPAGATION", "/"]).stdout
    if "shared" in propagation:
        setup.ok("/ is a shared mount")
    elif setup.act("mount --make-rshared /"):
        setup.must(["mount", "--make-rshared", "/"])


def write_user_file(setup: Setup, user: Account, path: Path, content: str) -> None:
    """A file of the user's; a differing old one is kept as ``.bak``."""
    if path.is_file() and path.read_text() == content:
        setup.ok(str(path))
        return
    if not setup.act(f"write {path}" + (" (old one kept as .bak)" if path.exists() else "")):
        return
    if path.exists():
        path.with_name(path.name + ".bak").write_bytes(path.read_bytes())
    for directory in (path.parent.parent, path.parent):  # ~/.config, ~/.config/containers
        if not directory.is_dir():  # created, but an existing one is never re-owned
            directory.mkdir(mode=0o755)
            os.chown(directory, user.uid, user.gid)
    temporary = path.with_name(path.name + ".tmp")
    temporary.write_text(content)
    os.chown(temporary, user.uid, user.gid)
    temporary.chmod(0o644)
    temporary.replace(path)


def ensure_runtime_dir(setup: Setup, user: Account) -> None:
    """``/run/user/UID``, 0700 and the user's: nobody creates it for runuser/su sessions
    without logind, and podman keeps its locks there."""
    path = setup.path(f"/run/user/{user.uid}")
    # 0711 is right too: podman adds search bits when a job's slice must reach a run root.
    if path.is_dir() and path.stat().st_uid == user.uid and not path.stat().st_mode & 0o066:
        setup.ok(str(path))
    elif setup.act(f"install -d -m 0700 {path}"):
        path.parent.mkdir(mode=0o755, parents=True, exist_ok=True)
        path.mkdir(mode=0o700, exist_ok=True)
        os.chown(path, user.uid, user.gid)
        path.chmod(0o700)


def ensure_linger(setup: Setup) -> None:
    """With systemd: the user's manager (and ``/run/user/UID``) from boot, outliving logins,
    which the agent's units need."""
    if not setup.path("/run/systemd/system").is_dir():
        setup.ok("lingering: not needed (systemd is not running)")
    elif setup.path(f"/var/lib/systemd/linger/{setup.user}").exists():
        setup.ok(f"lingering enabled for {setup.user}")
    elif setup.act(f"loginctl enable-linger {setup.user}"):
        setup.must(["loginctl", "enable-linger", setup.user])


def migrate_podman(setup: Setup, user: Account) -> None:
    """podman caches the user namespace layout: new subid ranges need a migrate."""
    if setup.subids_changed:
        setup.act("podman system migrate (subid ranges changed)")
        setup.must(["runuser", "-u", setup.user, "--", "env",
                    f"XDG_RUNTIME_DIR=/run/user/{user.uid}", "podman", "system", "migrate"])


def setup_host(setup: Setup) -> Setup:
    """Every step in order; returns ``setup`` with what was needed or changed."""
    if not setup.check and os.geteuid() != 0 and setup.root == Path("/"):
        raise HostSetupError("runner setup-host changes the host and must run as root"
                             ).with_hint("sudo $(command -v runner) setup-host (or --check "
                                         "to only report, as any user)")
    ensure_packages(setup)
    user = ensure_user(setup)
    if user is None:  # --check of a host without the user: nothing below can be judged
        return setup
    ensure_subids(setup, user)
    ensure_device(setup, "/dev/net/tun", "slirp4netns needs it for job networking")
    ensure_device(setup, "/dev/fuse", "the runc engine's fuse-overlayfs needs it")
    ensure_shared_root(setup)
    for name, content in CONFS.items():
        write_user_file(setup, user, user.home / ".config" / "containers" / name, content)
    ensure_runtime_dir(setup, user)
    ensure_linger(setup)
    migrate_podman(setup, user)
    return setup


def main(argv: Sequence[str] | None = None) -> int:
    """``python3 -m runner.host.setup`` (deploy/setup-host.sh, before any venv exists)."""
    import sys  # noqa: PLC0415

    from runner.cli import EXIT_HOST_SETUP, EXIT_OK, error_text  # noqa: PLC0415
    from runner.errors import RunnerError  # noqa: PLC0415

    parser = argparse.ArgumentParser(prog="setup-host")
    options(parser)
    args = parser.parse_args(argv)
    try:
        done = setup_host(Setup(user=args.user, check=args.check, dev=args.dev,
                                say=lambda line: print(line, file=sys.stderr)))
    except RunnerError as exc:
        print(error_text(exc), file=sys.stderr)
        return EXIT_HOST_SETUP
    return EXIT_HOST_SETUP if done.needed else EXIT_OK


def options(parser: argparse.ArgumentParser) -> None:
    """The options ``runner setup-host`` and ``python3 -m runner.host.setup`` share."""
    parser.add_argument("--user", default=os.environ.get("RUNNER_USER", "runner"),
                        help="the unprivileged user that runs the jobs (default: $RUNNER_USER "
                        "or runner)")
    parser.add_argument("--check", action="store_true",
                        help="change nothing; list what would be done (exit 3 if anything)")
    parser.add_argument("--dev", action="store_true",
                        help="also the packages the checkout's tests and wheel build need")


if __name__ == "__main__":
    raise SystemExit(main())
