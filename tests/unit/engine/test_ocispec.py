"""The runc engine's config.json must ask for what podman 4.3 asks for (``ocispec``)."""

from __future__ import annotations

from pathlib import Path

from runner.engine import ocispec

SPEC = ocispec.RuncSpec(
    rootfs=Path("/b/merged"), hostname="job", env=("PATH=/opt/bin", "LANG=C.UTF-8"),
    id_base=65537, id_size=65536, workspace=Path("/w/ws"), project_dir="/builds/p",
    control=Path("/w/ctl"), etc=Path("/b/etc"), args=("/bin/sh", "-c", "x"), nofile=4096)
CAPS = ["CAP_CHOWN", "CAP_DAC_OVERRIDE", "CAP_FOWNER", "CAP_FSETID", "CAP_KILL",
        "CAP_NET_BIND_SERVICE", "CAP_SETFCAP", "CAP_SETGID", "CAP_SETPCAP", "CAP_SETUID",
        "CAP_SYS_CHROOT"]


def test_process_and_linux_sections_match_podmans_rootless_config() -> None:
    config = ocispec.oci_config(SPEC, {"defaultAction": "SCMP_ACT_ERRNO"})
    assert config["process"] == {
        "user": {"uid": 0, "gid": 0, "umask": 0o022},
        "args": ["/bin/sh", "-c", "x"],
        "env": ["PATH=/opt/bin", "LANG=C.UTF-8", "TERM=xterm", "container=podman",
                "HOSTNAME=job"],
        "cwd": "/",
        "capabilities": {"bounding": CAPS, "effective": CAPS, "permitted": CAPS},
        "rlimits": [{"type": "RLIMIT_NOFILE", "hard": 4096, "soft": 4096},
                    {"type": "RLIMIT_NPROC", "hard": 32768, "soft": 32768}],
        "noNewPrivileges": True,
    }
    mapping = [{"containerID": 0, "hostID": 65537, "size": 65536}]
    assert config["linux"] == {
        "uidMappings": mapping,
        "gidMappings": mapping,
        "sysctl": {"net.ipv4.ping_group_range": "0 0"},
        "namespaces": [{"type": t} for t in ("pid", "network", "ipc", "uts", "mount", "user")],
        "maskedPaths": list(ocispec.MASKED_PATHS),
        "readonlyPaths": list(ocispec.READONLY_PATHS),
        "seccomp": {"defaultAction": "SCMP_ACT_ERRNO"},
    }
    assert config["root"] == {"path": "/b/merged", "readonly": False}
    assert config["hostname"] == "job"


def test_mounts_bind_workspace_control_and_etc_files() -> None:
    mounts = {m["destination"]: m for m in ocispec.oci_config(SPEC, {})["mounts"]}
    assert list(mounts) == ["/proc", "/dev", "/sys", "/dev/pts", "/dev/mqueue", "/dev/shm",
                            "/builds/p", "/.runner", "/etc/hosts", "/etc/hostname",
                            "/etc/resolv.conf", "/run/.containerenv"]
    assert mounts["/builds/p"] == {"destination": "/builds/p", "type": "bind",
                                   "source": "/w/ws", "options": ["rbind", "rprivate"]}
    assert mounts["/run/.containerenv"]["options"] == ["rbind", "rprivate", "ro"]
    assert mounts["/sys"]["options"] == ["nosuid", "noexec", "nodev", "ro"]


def test_image_path_wins_and_default_path_fills_in() -> None:
    assert ocispec.container_env(("HOSTNAME=img",), "job") == [
        f"PATH={ocispec.DEFAULT_PATH}", "HOSTNAME=img", "TERM=xterm", "container=podman"]


def test_resolv_conf_puts_slirps_forwarder_first_and_drops_loopback() -> None:
    host = "# generated\nnameserver 127.0.0.53\nnameserver 10.1.1.1\nsearch corp\noptions edns0\n"
    assert ocispec.resolv_conf(host, networked=True) == (
        "search corp\noptions edns0\nnameserver 10.0.2.3\nnameserver 10.1.1.1\n")
    assert ocispec.resolv_conf(host, networked=False) == (
        "search corp\noptions edns0\nnameserver 10.1.1.1\n")


def test_hosts_file_names_the_container() -> None:
    assert ocispec.hosts_file("job", networked=True).splitlines()[-1] == "10.0.2.100\tjob"
    assert ocispec.hosts_file("job", networked=False).splitlines()[-1] == "127.0.0.1\tjob"
