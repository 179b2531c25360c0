"""``runner setup-host`` on a fake host under tmp_path: what it changes, that a second run
changes nothing, and that ``check`` changes nothing at all."""

from __future__ import annotations

import os
import subprocess
from collections.abc import Sequence
from pathlib import Path

import pytest

from runner.errors import HostSetupError
from runner.host.setup import (
    DEV_PACKAGES,
    PACKAGES,
    WANT_IDS,
    Setup,
    free_start,
    ids_of,
    setup_host,
)
from runner.host.units import install_agent_unit

UID, GID = os.getuid(), os.getgid()


class FakeHost:
    """Commands recorded; dpkg, useradd, usermod and findmnt answered as Debian would."""

    def __init__(self, root: Path, *, installed: Sequence[str], shared: bool = True) -> None:
        self.root = root
        self.installed = set(installed)
        self.shared = shared
        self.commands: list[list[str]] = []
        for directory in ("etc", "run/user", "home", "dev/net"):
            (root / directory).mkdir(parents=True, exist_ok=True)
        (root / "etc/passwd").write_text("root:x:0:0:root:/root:/bin/bash\n")
        (root / "etc/group").write_text("root:x:0:\n")
        (root / "etc/subuid").write_text("other:100000:65536\n")
        (root / "etc/subgid").write_text("other:100000:65536\n")

    def run(self, argv: Sequence[str]) -> subprocess.CompletedProcess[str]:
        argv = list(argv)
        self.commands.append(argv)
        out = ""
        if argv[0] == "dpkg-query":
            out = "".join(f"{pkg} install ok installed\n" for pkg in argv[3:]
                          if pkg in self.installed)
        elif argv[:2] == ["apt-get", "install"]:
            self.installed |= set(argv[4:])
        elif argv[0] == "useradd":
            name = argv[-1]
            home = self.root / "home" / name
            home.mkdir()
            with (self.root / "etc/passwd").open("a") as passwd:
                passwd.write(f"{name}:x:{UID}:{GID}::/home/{name}:/bin/bash\n")
            with (self.root / "etc/subuid").open("a") as subuid:
                subuid.write(f"{name}:165536:65536\n")
        elif argv[0] == "usermod":
            for flag, value in zip(argv[1:-1:2], argv[2:-1:2], strict=True):
                start, end = (int(x) for x in value.split("-"))
                name = "subuid" if flag == "--add-subuids" else "subgid"
                with (self.root / f"etc/{name}").open("a") as ids:
                    ids.write(f"{argv[-1]}:{start}:{end - start + 1}\n")
        elif argv[0] == "findmnt":
            out = "shared\n" if self.shared else "private\n"
        elif argv[:2] == ["mount", "--make-rshared"]:
            self.shared = True
        return subprocess.CompletedProcess(argv, 0, out, "")


def run_setup(host: FakeHost, *, check: bool = False, dev: bool = False) -> Setup:
    lines: list[str] = []
    return setup_host(Setup(user="ci", root=host.root, check=check, dev=dev, run=host.run,
                            say=lines.append))


def test_a_bare_host_is_set_up_and_a_second_run_changes_nothing(tmp_path: Path) -> None:
    host = FakeHost(tmp_path, installed=["podman"], shared=False)
    first = run_setup(host)
    names = [argv[0] if argv[0] != "apt-get" else " ".join(argv[:2]) for argv in host.commands]
    assert names == ["dpkg-query", "apt-get update", "apt-get install", "useradd", "usermod",
                     "findmnt", "mount", "runuser"]
    assert host.commands[2][4:] == [p for p in PACKAGES if p != "podman"]
    start = 262144  # the first aligned id above other's and useradd's ranges (to 231072)
    assert host.commands[4] == ["usermod", "--add-subuids", f"{start}-{start + WANT_IDS - 1}",
                                "--add-subgids", f"{start}-{start + WANT_IDS - 1}", "ci"]
    assert host.commands[-1][-3:] == ["podman", "system", "migrate"]
    conf = tmp_path / "home/ci/.config/containers"
    assert (conf / "storage.conf").read_text() == '[storage]\ndriver = "overlay"\n'
    assert (conf / "containers.conf").read_text() == '[engine]\nruntime = "runc"\n'
    assert (conf / "storage.conf").stat().st_mode & 0o777 == 0o644
    runtime = tmp_path / f"run/user/{UID}"
    assert runtime.stat().st_mode & 0o777 == 0o700
    assert len(first.changed) == 9 and first.needed == []

    host.commands.clear()
    second = run_setup(host)
    assert second.changed == [] and second.needed == []
    assert [argv[0] for argv in host.commands] == ["dpkg-query", "findmnt"]


def test_check_changes_nothing_and_lists_what_is_needed(tmp_path: Path) -> None:
    host = FakeHost(tmp_path, installed=[*PACKAGES])
    run_setup(host)  # set up, then break three things
    (tmp_path / "home/ci/.config/containers/storage.conf").write_text('[storage]\ndriver="vfs"\n')
    (tmp_path / f"run/user/{UID}").chmod(0o755)
    host.installed.discard("runc")
    host.commands.clear()
    before = (tmp_path / "etc/subuid").read_text()
    done = run_setup(host, check=True)
    assert done.changed == []
    assert [n.split()[0] for n in done.needed] == ["apt-get", "write", "install"]
    assert "runc" in done.needed[0]
    assert [argv[0] for argv in host.commands] == ["dpkg-query", "findmnt"]
    assert (tmp_path / "home/ci/.config/containers/storage.conf").read_text() == \
        '[storage]\ndriver="vfs"\n'
    assert (tmp_path / "etc/subuid").read_text() == before


def test_a_differing_conf_is_kept_as_bak(tmp_path: Path) -> None:
    host = FakeHost(tmp_path, installed=[*PACKAGES])
    run_setup(host)
    conf = tmp_path / "home/ci/.config/containers/containers.conf"
    conf.write_text("[engine]\nruntime = \"crun\"\n")
    run_setup(host)
    assert conf.read_text() == '[engine]\nruntime = "runc"\n'
    assert conf.with_name("containers.conf.bak").read_text() == "[engine]\nruntime = \"crun\"\n"


def test_dev_adds_the_checkout_packages(tmp_path: Path) -> None:
    host = FakeHost(tmp_path, installed=[*PACKAGES])
    run_setup(host, dev=True)
    install = next(argv for argv in host.commands if argv[:2] == ["apt-get", "install"])
    assert install[4:] == list(DEV_PACKAGES)


def test_a_runtime_dir_podman_opened_for_search_is_left_alone(tmp_path: Path) -> None:
    host = FakeHost(tmp_path, installed=[*PACKAGES])
    run_setup(host)
    (tmp_path / f"run/user/{UID}").chmod(0o711)
    assert run_setup(host).changed == []
    assert (tmp_path / f"run/user/{UID}").stat().st_mode & 0o777 == 0o711


def test_check_of_a_host_without_the_user_stops_after_saying_so(tmp_path: Path) -> None:
    host = FakeHost(tmp_path, installed=[*PACKAGES])
    done = run_setup(host, check=True)
    assert done.needed == ["useradd ci"]


def test_a_failing_command_is_an_error_naming_it(tmp_path: Path) -> None:
    host = FakeHost(tmp_path, installed=[])

    def broken(argv: Sequence[str]) -> subprocess.CompletedProcess[str]:
        if argv[0] == "apt-get":
            return subprocess.CompletedProcess(list(argv), 100, "", "E: Unable to locate\n")
        return host.run(argv)

    with pytest.raises(HostSetupError, match=r"`apt-get update -qq` failed \(exit 100\): E: "):
        setup_host(Setup(user="ci", root=tmp_path, run=broken, say=lambda _: None))


def test_subid_arithmetic() -> None:
    text = "ci:165536:65536\n1001:300000:10\nother:100000:65536\nbad line\n"
    assert ids_of(text, "ci", 1001) == 65546
    assert free_start(text) == 327680  # above 300010, aligned
    assert free_start("") == 131072  # 100000 rounded up to a slice


def test_agent_unit_is_written_once_for_the_user(tmp_path: Path) -> None:
    from runner.host.units import UNIT_PATH, render_system_unit, runner_executable  # noqa: PLC0415

    host = FakeHost(tmp_path, installed=[*PACKAGES])
    (tmp_path / "etc/group").write_text(f"root:x:0:\nci:x:{GID}:\n")
    done = run_setup(host)
    install_agent_unit(done)
    unit = tmp_path / UNIT_PATH.lstrip("/")
    assert unit.read_text() == render_system_unit("ci", UID, "ci", Path("/home/ci"),
                                                  runner_executable())
    again = run_setup(host)
    install_agent_unit(again)
    assert again.changed == []
    unit.write_text("old")
    checked = run_setup(host, check=True)
    install_agent_unit(checked)
    assert checked.needed == [f"write {UNIT_PATH}"] and unit.read_text() == "old"
