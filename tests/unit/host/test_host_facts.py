"""Facts gathering against fake host trees under tmp_path (no real /etc, /sys or podman)."""

from __future__ import annotations

import os
from pathlib import Path

from runner.host import confs, probes
from runner.host.facts import IdRange, gather_full, gather_quick

UID, GID = os.getuid(), os.getgid()


def write(path: Path, text: str, mode: int = 0o644) -> Path:
    """Create ``path`` (and parents) with ``text`` and ``mode``."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    path.chmod(mode)
    return path


def fake_host(tmp_path: Path, *, cgroup: str = "v2") -> tuple[Path, dict[str, str]]:
    """A healthy fake host tree for the current uid, and the environment to read it with."""
    root, home, bin_dir = tmp_path / "root", tmp_path / "home", tmp_path / "bin"
    write(root / "etc/passwd", f"root:x:0:0::/root:/bin/sh\ntester:x:{UID}:{GID}::/h:/bin/sh\n")
    write(root / "etc/subuid", "other:100000:65536\ntester:165536:65536\n# comment\n")
    write(root / "etc/subgid", f"{UID}:165536:65536\ntester:4259840:4194304\n")
    for tool in ("newuidmap", "newgidmap"):
        write(root / "usr/bin" / tool, "", 0o4755)
    write(root / "usr/sbin/runc", "#!/bin/sh\necho 'runc version 9.9'\necho more\n", 0o755)
    write(bin_dir / "podman", "#!/bin/sh\necho 'podman version 4.3.1'\n", 0o755)
    if cgroup == "v2":
        write(root / "sys/fs/cgroup/cgroup.controllers", "cpu io memory pids\n")
        user_cg = f"sys/fs/cgroup/user.slice/user-{UID}.slice/user@{UID}.service"
        write(root / user_cg / "cgroup.controllers", "memory pids\n")
    else:
        write(root / "sys/fs/cgroup/unified/cgroup.controllers", "")
    write(root / "dev/net/tun", "", 0o666)
    mountinfo = "22 1 8:1 / / rw,relatime shared:1 - ext4 /dev/sda1 rw\n"
    write(root / "proc/self/mountinfo", mountinfo)
    write(home / ".config/containers/storage.conf", '[storage]\ndriver = "overlay"\n')
    write(root / "usr/share/containers/containers.conf", '[engine]\nruntime = "crun"\n')
    write(home / ".config/containers/containers.conf", '[engine]\nruntime = "runc"\n')
    xdg = tmp_path / "xdg"
    xdg.mkdir(mode=0o700)
    xdg.chmod(0o700)
    environ = {"PATH": str(bin_dir), "HOME": str(home), "XDG_RUNTIME_DIR": str(xdg)}
    return root, environ


def test_quick_facts_of_a_healthy_fake_host(tmp_path: Path) -> None:
    """Every field is read from the fake tree and the injected environment."""
    root, environ = fake_host(tmp_path)
    f = gather_quick(root, environ, uid=UID)
    assert (f.user, f.uid, f.gid, f.is_root) == ("tester", UID, GID, False)
    assert f.subuids == (IdRange(165536, 65536),)
    assert f.subgids == (IdRange(165536, 65536), IdRange(4259840, 4194304))
    assert f.subid_free_start == 8454144  # 4259840 + 4194304, already 65536-aligned
    assert f.newuidmap.path == str(root / "usr/bin/newuidmap") and f.newuidmap.setuid
    assert f.podman.path == str(tmp_path / "bin/podman") and f.podman.version is None
    assert f.runc.path == str(root / "usr/sbin/runc")  # found off PATH, where podman looks
    assert f.buildah.path is None
    assert (f.cgroup, f.limits_enforceable) == ("v2", True)
    assert f.tun_exists and f.tun_usable and f.root_shared
    assert (f.storage_driver, f.oci_runtime) == ("overlay", "runc")
    assert f.runtime_conf == str(tmp_path / "home/.config/containers/containers.conf")
    assert f.runtime_dir.exists and f.runtime_dir.mode == 0o700 and f.runtime_dir.owner_uid == UID
    assert f.config_errors == ()


def test_full_facts_add_first_version_lines(tmp_path: Path) -> None:
    """gather_full runs ``--version`` and keeps only the first line."""
    root, environ = fake_host(tmp_path)
    f = gather_full(root, environ, uid=UID)
    assert f.podman.version == "podman version 4.3.1"
    assert f.runc.version == "runc version 9.9"
    assert f.buildah.version is None


def test_hybrid_cgroups_never_enforce_limits(tmp_path: Path) -> None:
    """A v1 controller tree with a unified mount is hybrid, and limits are not enforceable."""
    root, environ = fake_host(tmp_path, cgroup="hybrid")
    f = gather_quick(root, environ, uid=UID)
    assert (f.cgroup, f.limits_enforceable, f.delegated_controllers) == (
        "hybrid",
        False,
        frozenset(),
    )
    (root / "sys/fs/cgroup/unified/cgroup.controllers").unlink()
    assert gather_quick(root, environ, uid=UID).cgroup == "v1"


def test_v2_without_delegation_is_not_enforceable(tmp_path: Path) -> None:
    """Limits need memory and pids delegated, not just a unified hierarchy."""
    root, environ = fake_host(tmp_path)
    user_cg = root / f"sys/fs/cgroup/user.slice/user-{UID}.slice/user@{UID}.service"
    (user_cg / "cgroup.controllers").write_text("cpu\n")
    assert not gather_quick(root, environ, uid=UID).limits_enforceable


def test_private_mount_and_unusable_tun(tmp_path: Path) -> None:
    """A private / and a tun node we cannot open are both noticed."""
    root, environ = fake_host(tmp_path)
    write(root / "proc/self/mountinfo", "22 1 8:1 / / rw,relatime - ext4 /dev/sda1 rw\n")
    (root / "dev/net/tun").chmod(0)
    f = gather_quick(root, environ, uid=UID)
    assert not f.root_shared
    assert f.tun_exists and not f.tun_usable


def test_env_overrides_config_chains(tmp_path: Path) -> None:
    """CONTAINERS_STORAGE_CONF and CONTAINERS_CONF replace the whole lookup chain."""
    root, environ = fake_host(tmp_path)
    storage = write(tmp_path / "vfs.conf", '[storage]\ndriver = "vfs"\n')
    engine = write(tmp_path / "crun.conf", '[engine]\nruntime = "crun"\n')
    env = {**environ, "CONTAINERS_STORAGE_CONF": str(storage), "CONTAINERS_CONF": str(engine)}
    f = gather_quick(root, env, uid=UID)
    assert (f.storage_driver, f.storage_conf, f.storage_conf_from_env) == (
        "vfs",
        str(storage),
        True,
    )
    assert (f.oci_runtime, f.runtime_conf, f.runtime_conf_from_env) == ("crun", str(engine), True)
    assert gather_quick(root, {**env, "STORAGE_DRIVER": "btrfs"}, uid=UID).storage_driver == "btrfs"


def test_system_confs_apply_without_user_files(tmp_path: Path) -> None:
    """Without user files the /etc storage.conf decides and the runtime falls back to /usr/share."""
    root, environ = fake_host(tmp_path)
    for name in ("storage.conf", "containers.conf"):
        (tmp_path / "home/.config/containers" / name).unlink()
    write(root / "etc/containers/storage.conf", '[storage]\ndriver = "vfs"\n')
    write(root / "etc/containers/containers.conf.d/10-x.conf", "[engine]\n")
    f = gather_quick(root, environ, uid=UID)
    assert (f.storage_driver, f.storage_conf) == ("vfs", str(root / "etc/containers/storage.conf"))
    assert f.oci_runtime == "crun"
    (root / "etc/containers/storage.conf").unlink()
    assert gather_quick(root, environ, uid=UID).storage_driver is None


def test_broken_toml_is_reported(tmp_path: Path) -> None:
    """An unparsable config file is a fact of its own, not an exception."""
    root, environ = fake_host(tmp_path)
    write(tmp_path / "home/.config/containers/containers.conf", "[engine\n")
    f = gather_quick(root, environ, uid=UID)
    assert len(f.config_errors) == 1 and "containers.conf" in f.config_errors[0]


def test_runtime_dir_variants(tmp_path: Path) -> None:
    """Unset, missing and wrong-mode runtime dirs are told apart."""
    root, environ = fake_host(tmp_path)
    assert gather_quick(root, {**environ, "XDG_RUNTIME_DIR": ""}, uid=UID).runtime_dir.path is None
    missing = gather_quick(root, {**environ, "XDG_RUNTIME_DIR": "/nonexistent/x"}, uid=UID)
    assert missing.runtime_dir.path == "/nonexistent/x" and not missing.runtime_dir.exists
    Path(environ["XDG_RUNTIME_DIR"]).chmod(0o755)
    assert gather_quick(root, environ, uid=UID).runtime_dir.mode == 0o755


def test_unknown_uid_and_missing_files_do_not_raise(tmp_path: Path) -> None:
    """An empty tree yields empty facts rather than exceptions."""
    f = gather_quick(tmp_path, {"PATH": str(tmp_path)}, uid=4242)
    assert (f.user, f.subuids, f.podman.path, f.cgroup) == ("4242", (), None, "v1")
    assert not f.tun_exists and f.subid_free_start == 131072


def test_parsers() -> None:
    """Subid lines match by name or uid, free starts align up, caps read the permitted word."""
    text = "a:100000:65536\n1000:300000:10\nbad line\nb:x:y\n"
    assert probes.parse_subids(text, "a", 1000) == (IdRange(100000, 65536), IdRange(300000, 10))
    assert probes.free_subid_start(text) == 327680
    assert probes.free_subid_start("") == 131072
    blob = (0x02000001).to_bytes(4, "little") + (1 << 7).to_bytes(4, "little") + bytes(12)
    assert probes.parse_file_caps(blob) == 1 << 7
    assert probes.parse_file_caps(b"") == 0


def test_config_home_prefers_xdg(tmp_path: Path) -> None:
    """XDG_CONFIG_HOME beats HOME, which beats the passwd home."""
    assert confs.config_home({"XDG_CONFIG_HOME": "/c", "HOME": "/h"}, Path("/p")) == Path("/c")
    assert confs.config_home({"HOME": "/h"}, Path("/p")) == Path("/h/.config")
    assert confs.config_home({}, Path("/p")) == Path("/p/.config")
