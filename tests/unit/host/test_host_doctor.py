"""Every doctor check, passing and failing, judged from synthetic facts (no host access)."""

from __future__ import annotations

import dataclasses

import pytest

from runner.errors import HostSetupError
from runner.host.doctor import Finding, ensure_ready, errors, evaluate, render
from runner.host.facts import Binary, HostFacts, IdRange, RuntimeDir

HEALTHY = HostFacts(
    user="runner",
    uid=1001,
    gid=1001,
    is_root=False,
    newuidmap=Binary("/usr/bin/newuidmap", setuid=True, owner_uid=0),
    newgidmap=Binary("/usr/bin/newgidmap", setuid=True, owner_uid=0),
    subuids=(IdRange(100000, 65536), IdRange(200000, 4194304)),
    subgids=(IdRange(100000, 65536), IdRange(200000, 4194304)),
    subid_free_start=4456448,
    podman=Binary("/usr/bin/podman", version="podman version 4.3.1"),
    buildah=Binary("/usr/bin/buildah", version="buildah version 1.28.2"),
    runc=Binary("/usr/sbin/runc", version="runc version 1.1.5"),
    cgroup="v2",
    delegated_controllers=frozenset({"cpu", "memory", "pids"}),
    tun_exists=True,
    tun_usable=True,
    root_shared=True,
    storage_driver="overlay",
    storage_conf="/home/runner/.config/containers/storage.conf",
    storage_conf_from_env=False,
    oci_runtime="runc",
    runtime_conf="/home/runner/.config/containers/containers.conf",
    runtime_conf_from_env=False,
    runtime_dir=RuntimeDir("/run/user/1001", exists=True, owner_uid=1001, mode=0o700),
)


def finding(facts: HostFacts, check: str) -> Finding:
    """The one finding named ``check``."""
    (found,) = [f for f in evaluate(facts) if f.check == check]
    return found


def broken(check: str, **changes: object) -> Finding:
    """The finding ``check`` on healthy facts with ``changes`` applied."""
    return finding(dataclasses.replace(HEALTHY, **changes), check)  # type: ignore[arg-type]


def test_healthy_host_passes_every_check() -> None:
    """A fully set-up cgroup v2 host has no problem at all."""
    findings = evaluate(HEALTHY)
    assert [f for f in findings if not f.ok] == []
    assert {f.check for f in findings} >= {
        "user", "newuidmap", "newgidmap", "subuid", "subgid", "podman", "buildah", "runc",
        "cgroups", "tun", "mounts", "storage-driver", "oci-runtime", "runtime-dir",
    }  # fmt: skip


def test_root_is_an_error_with_runuser_fix() -> None:
    """Running as root fails and says how to run as the unprivileged user."""
    f = broken("user", is_root=True, uid=0, user="root")
    assert (f.ok, f.severity) == (False, "error")
    assert f.fix == "runuser -u runner -- .venv/bin/runner doctor"


def test_missing_newuidmap_says_install_uidmap() -> None:
    """Without newuidmap podman cannot map ids; the uidmap package provides it."""
    f = broken("newuidmap", newuidmap=Binary(None))
    assert (f.ok, f.severity, f.fix) == (False, "error", "sudo apt-get install uidmap")


def test_unprivileged_newgidmap_is_an_error() -> None:
    """A newgidmap without setuid root or file capabilities cannot write gid maps."""
    f = broken("newgidmap", newgidmap=Binary("/usr/bin/newgidmap", owner_uid=0))
    assert not f.ok
    assert f.fix == "sudo chown root:root /usr/bin/newgidmap && sudo chmod u+s /usr/bin/newgidmap"


def test_setuid_bit_on_a_user_owned_mapper_does_not_count() -> None:
    """Setuid only grants privilege when root owns the file."""
    f = broken("newuidmap", newuidmap=Binary("/x/newuidmap", setuid=True, owner_uid=1001))
    assert not f.ok


def test_file_capabilities_satisfy_the_mappers() -> None:
    """cap_setuid on newuidmap and cap_setgid on newgidmap are as good as setuid."""
    uid = broken("newuidmap", newuidmap=Binary("/usr/bin/newuidmap", owner_uid=0, file_caps=1 << 7))
    gid = broken("newgidmap", newgidmap=Binary("/usr/bin/newgidmap", owner_uid=0, file_caps=1 << 6))
    assert uid.ok and gid.ok
    assert "file capabilities" in uid.detail


def test_no_subuids_is_an_error_with_usermod_fix() -> None:
    """No subordinate uids means no --userns=auto; the fix adds 64 slices at a free start."""
    f = broken("subuid", subuids=())
    assert (f.ok, f.severity) == (False, "error")
    assert f.fix == "sudo usermod --add-subuids 4456448-8650751 runner && podman system migrate"


def test_few_subgids_is_a_warning_that_counts_jobs() -> None:
    """Fewer than four slices still works but limits concurrency, and says by how much."""
    f = broken("subgid", subgids=(IdRange(100000, 3 * 65536),))
    assert (f.ok, f.severity) == (False, "warning")
    assert "about 3 concurrent job(s)" in f.detail
    assert f.fix.startswith("sudo usermod --add-subgids 4456448-8650751 runner")


def test_subids_report_concurrency_when_ok() -> None:
    """A large range passes and reports how many jobs fit."""
    assert "about 65 concurrent job(s)" in finding(HEALTHY, "subuid").detail


@pytest.mark.parametrize(
    ("tool", "severity"), [("podman", "error"), ("runc", "error"), ("buildah", "warning")]
)
def test_missing_tools(tool: str, severity: str) -> None:
    """podman and runc are required; buildah only builds base images, so it only warns."""
    f = broken(tool, **{tool: Binary(None)})
    assert (f.ok, f.severity, f.fix) == (False, severity, f"sudo apt-get install {tool}")


def test_tools_show_their_versions() -> None:
    """Found tools report the version line and path."""
    assert finding(HEALTHY, "podman").detail == "podman version 4.3.1 (/usr/bin/podman)"
    quick = broken("runc", runc=Binary("/usr/sbin/runc"))
    assert quick.ok and "version not gathered" in quick.detail


def test_cgroup_v1_warns_that_limits_cannot_be_enforced() -> None:
    """Hybrid/v1 hosts run jobs but cannot enforce memory/pids limits rootless."""
    f = broken("cgroups", cgroup="hybrid", delegated_controllers=frozenset())
    assert (f.ok, f.severity) == (False, "warning")
    assert "memory/pids limits cannot be enforced rootless" in f.detail
    assert "systemd.unified_cgroup_hierarchy=1" in f.fix


def test_cgroup_v2_without_delegation_warns_with_systemd_fix() -> None:
    """v2 needs memory and pids delegated to the user's manager."""
    f = broken("cgroups", delegated_controllers=frozenset({"cpu"}))
    assert (f.ok, f.severity) == (False, "warning")
    assert "Delegate=memory pids" in f.fix


def test_unusable_tun_is_an_error() -> None:
    """slirp4netns needs /dev/net/tun; a 0600 node breaks job networking."""
    f = broken("tun", tun_usable=False)
    assert (f.ok, f.severity, f.fix) == (False, "error", "sudo chmod 666 /dev/net/tun")
    assert "networking" in f.detail


def test_missing_tun_says_modprobe() -> None:
    """Without the node at all the tun module is not loaded."""
    f = broken("tun", tun_exists=False, tun_usable=False)
    assert f.fix == "sudo modprobe tun"


def test_private_root_mount_warns() -> None:
    """A private / makes podman warn on every run."""
    f = broken("mounts", root_shared=False)
    assert (f.ok, f.severity, f.fix) == (False, "warning", "sudo mount --make-rshared /")


@pytest.mark.parametrize("driver", ["vfs", None])
def test_vfs_or_unset_storage_driver_warns(driver: str | None) -> None:
    """vfs copies every layer; the fix writes the user's storage.conf."""
    f = broken("storage-driver", storage_driver=driver)
    assert (f.ok, f.severity) == (False, "warning")
    assert "3-20x slower" in f.detail
    assert f.fix == (
        "mkdir -p ~/.config/containers && printf '[storage]\\ndriver = \"overlay\"\\n'"
        " > ~/.config/containers/storage.conf"
    )


def test_storage_fix_targets_the_env_file() -> None:
    """When CONTAINERS_STORAGE_CONF decides, the fix edits that file."""
    f = broken(
        "storage-driver",
        storage_driver="vfs",
        storage_conf="/tmp/s.conf",
        storage_conf_from_env=True,
    )
    assert f.fix == "printf '[storage]\\ndriver = \"overlay\"\\n' > /tmp/s.conf"


def test_storage_driver_env_var_fix_unsets_it() -> None:
    """STORAGE_DRIVER overrides every file, so unsetting it is the fix."""
    f = broken("storage-driver", storage_driver="vfs", storage_conf="STORAGE_DRIVER")
    assert f.fix == "unset STORAGE_DRIVER"


@pytest.mark.parametrize("runtime", ["crun", "/usr/bin/crun", None])
def test_crun_on_cgroup_v1_is_an_error(runtime: str | None) -> None:
    """crun (also podman's default when nothing is configured) fails on hybrid hosts."""
    f = broken(
        "oci-runtime", oci_runtime=runtime, cgroup="hybrid", delegated_controllers=frozenset()
    )
    assert (f.ok, f.severity) == (False, "error")
    assert f.fix.endswith(
        "printf '[engine]\\nruntime = \"runc\"\\n' > ~/.config/containers/containers.conf"
    )


def test_crun_on_cgroup_v2_is_fine() -> None:
    """On a unified hierarchy crun works."""
    assert broken("oci-runtime", oci_runtime="crun").ok


def test_unset_runtime_dir_is_an_error() -> None:
    """Rootless podman keeps its state in XDG_RUNTIME_DIR; the fix creates /run/user/UID."""
    f = broken("runtime-dir", runtime_dir=RuntimeDir(None))
    assert (f.ok, f.severity) == (False, "error")
    assert f.fix == (
        "sudo install -d -m 0700 -o 1001 -g 1001 /run/user/1001"
        " && export XDG_RUNTIME_DIR=/run/user/1001"
    )


def test_runtime_dir_with_wrong_mode_or_owner() -> None:
    """Mode other than 0700 gets a chmod; a dir owned by someone else gets our own dir."""
    mode = broken(
        "runtime-dir", runtime_dir=RuntimeDir("/x", exists=True, owner_uid=1001, mode=0o755)
    )
    assert (mode.ok, mode.fix) == (False, "chmod 0700 /x")
    assert "0755" in mode.detail
    owner = broken(
        "runtime-dir", runtime_dir=RuntimeDir("/x", exists=True, owner_uid=0, mode=0o700)
    )
    assert not owner.ok and "/run/user/1001" in owner.fix
    missing = broken("runtime-dir", runtime_dir=RuntimeDir("/nope"))
    assert not missing.ok and "not a directory" in missing.detail


def test_runtime_dir_search_bits_are_fine() -> None:
    """0711 is what podman itself makes of it (a uid slice traversing to a run root)."""
    for mode in (0o700, 0o711, 0o701):
        ok = broken("runtime-dir",
                    runtime_dir=RuntimeDir("/x", exists=True, owner_uid=1001, mode=mode))
        assert ok.ok, oct(mode)
    for mode in (0o750, 0o705, 0o702, 0o720):
        bad = broken("runtime-dir",
                     runtime_dir=RuntimeDir("/x", exists=True, owner_uid=1001, mode=mode))
        assert not bad.ok and f"{mode:04o}" in bad.detail, oct(mode)


def test_unparsable_config_is_an_error() -> None:
    """podman refuses to start on a broken containers.conf; moving it aside fixes that."""
    f = broken("config-files", config_errors=("/e/c.conf: Expected '=' (at line 1)",))
    assert (f.ok, f.severity, f.fix) == (False, "error", "mv /e/c.conf /e/c.conf.broken")


def test_render_shows_one_line_per_check_and_fixes_indented() -> None:
    """Problems are followed by their fix; passing checks take one line."""
    facts = dataclasses.replace(HEALTHY, tun_usable=False, root_shared=False)
    text = render(evaluate(facts), color=False)
    lines = text.splitlines()
    assert len(lines) == len(evaluate(facts)) + 2
    assert any(line.startswith("FAIL  tun") for line in lines)
    assert any(line.startswith("warn  mounts") for line in lines)
    assert "      fix:            sudo chmod 666 /dev/net/tun" in lines
    assert "\x1b[" not in text
    assert "\x1b[31mFAIL\x1b[0m" in render(evaluate(facts), color=True)


def test_ensure_ready_raises_with_errors_only() -> None:
    """Errors stop runner with their fixes; warnings alone do not."""
    ensure_ready(dataclasses.replace(HEALTHY, root_shared=False))
    with pytest.raises(HostSetupError) as caught:
        ensure_ready(dataclasses.replace(HEALTHY, tun_usable=False, root_shared=False))
    assert "sudo chmod 666 /dev/net/tun" in str(caught.value)
    assert "mount --make-rshared" not in str(caught.value)


def test_errors_filters_error_findings() -> None:
    """Only failed error-severity findings count as errors."""
    assert errors(evaluate(HEALTHY)) == []
    assert [f.check for f in errors(evaluate(dataclasses.replace(HEALTHY, is_root=True)))] == [
        "user"
    ]


def test_engine_finding_names_what_the_runc_engine_lacks_and_the_fix() -> None:
    assert finding(HEALTHY, "engine").ok
    f = broken("engine", runc_engine_missing=("/dev/fuse not read-writable",))
    assert not f.ok and f.severity == "warning"
    assert "/dev/fuse not read-writable" in f.detail and f.fix == "sudo chmod 666 /dev/fuse"
    f = broken("engine", runc_engine_missing=("fuse-overlayfs not found",))
    assert f.fix.startswith("sudo apt-get install") and "fuse-overlayfs" in f.fix


def test_asking_for_an_engine_the_host_cannot_run_is_a_host_error() -> None:
    from runner.cli.exec_ import _engine  # noqa: PLC0415 - the CLI's one rule

    lacking = dataclasses.replace(HEALTHY, runc_engine_missing=("nsenter not found",))
    assert _engine("auto", HEALTHY) == "runc"
    assert _engine("auto", lacking) == "podman"
    assert _engine("podman", HEALTHY) == "podman"
    with pytest.raises(HostSetupError, match="--engine runc: nsenter not found"):
        _engine("runc", lacking)
