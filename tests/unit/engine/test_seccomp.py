"""Seccomp profile conversion: containers-common/Docker format in, OCI ``linux.seccomp`` out."""

from __future__ import annotations

import json
from typing import Any

import pytest

from runner.engine.seccomp import load_profile, native_arch, oci_seccomp

PROFILE: dict[str, Any] = {
    "defaultAction": "SCMP_ACT_ERRNO",
    "defaultErrnoRet": 38,
    "defaultErrno": "ENOSYS",
    "archMap": [
        {"architecture": "SCMP_ARCH_X86_64",
         "subArchitectures": ["SCMP_ARCH_X86", "SCMP_ARCH_X32"]},
        {"architecture": "SCMP_ARCH_AARCH64", "subArchitectures": ["SCMP_ARCH_ARM"]},
    ],
    "syscalls": [
        {"names": ["read", "write"], "action": "SCMP_ACT_ALLOW", "args": [], "comment": "",
         "includes": {}, "excludes": {}},
        {"names": ["kexec_load"], "action": "SCMP_ACT_ERRNO", "errnoRet": 1, "errno": "EPERM",
         "args": None},
        {"names": ["personality"], "action": "SCMP_ACT_ALLOW",
         "args": [{"index": 0, "value": 8, "valueTwo": 0, "op": "SCMP_CMP_EQ"}]},
        {"names": ["arch_prctl"], "action": "SCMP_ACT_ALLOW",
         "includes": {"arches": ["amd64", "x32"]}},
        {"names": ["sync_file_range2"], "action": "SCMP_ACT_ALLOW",
         "includes": {"arches": ["arm", "arm64"]}},
        {"names": ["not_on_arm64"], "action": "SCMP_ACT_ALLOW", "excludes": {"arches": ["arm64"]}},
        {"names": ["chroot"], "action": "SCMP_ACT_ALLOW", "includes": {"caps": ["CAP_SYS_CHROOT"]}},
        {"names": ["chroot"], "action": "SCMP_ACT_ERRNO", "errnoRet": 1,
         "excludes": {"caps": ["CAP_SYS_CHROOT"]}},
        {"names": ["mount"], "action": "SCMP_ACT_ALLOW",
         "includes": {"caps": ["CAP_SYS_ADMIN", "CAP_SYS_CHROOT"]}},
        {"names": ["socket"], "action": "SCMP_ACT_ERRNO", "errnoRet": 22,
         "args": [{"index": 0, "value": 16, "op": "SCMP_CMP_EQ"},
                  {"index": 2, "value": 9, "valueTwo": 0, "op": "SCMP_CMP_EQ"}],
         "excludes": {"caps": ["CAP_AUDIT_WRITE"]}},
        {"names": ["clone3"], "action": "SCMP_ACT_ALLOW", "includes": {"minKernel": "5.3"}},
        {"names": ["clone3"], "action": "SCMP_ACT_ERRNO", "errnoRet": 38,
         "excludes": {"minKernel": "5.3"}},
    ],
}

READ_WRITE = {"names": ["read", "write"], "action": "SCMP_ACT_ALLOW"}
KEXEC = {"names": ["kexec_load"], "action": "SCMP_ACT_ERRNO", "errnoRet": 1}
PERSONALITY = {"names": ["personality"], "action": "SCMP_ACT_ALLOW",
               "args": [{"index": 0, "value": 8, "valueTwo": 0, "op": "SCMP_CMP_EQ"}]}
SOCKET = {"names": ["socket"], "action": "SCMP_ACT_ERRNO", "errnoRet": 22,
          "args": [{"index": 0, "value": 16, "valueTwo": 0, "op": "SCMP_CMP_EQ"},
                   {"index": 2, "value": 9, "valueTwo": 0, "op": "SCMP_CMP_EQ"}]}
CLONE3_ALLOW = {"names": ["clone3"], "action": "SCMP_ACT_ALLOW"}
CLONE3_ENOSYS = {"names": ["clone3"], "action": "SCMP_ACT_ERRNO", "errnoRet": 38}


def test_x86_64_with_chroot_cap_on_new_kernel() -> None:
    """Cap-, arch- and kernel-conditional entries resolve as podman resolves them."""
    assert oci_seccomp(PROFILE, ["CHOWN", "SYS_CHROOT"], "x86_64", "6.1.0-18-amd64") == {
        "defaultAction": "SCMP_ACT_ERRNO",
        "defaultErrnoRet": 38,
        "architectures": ["SCMP_ARCH_X86_64", "SCMP_ARCH_X86", "SCMP_ARCH_X32"],
        "syscalls": [
            READ_WRITE, KEXEC, PERSONALITY,
            {"names": ["arch_prctl"], "action": "SCMP_ACT_ALLOW"},
            {"names": ["not_on_arm64"], "action": "SCMP_ACT_ALLOW"},
            {"names": ["chroot"], "action": "SCMP_ACT_ALLOW"},
            SOCKET, CLONE3_ALLOW,
        ],
    }


def test_aarch64_without_caps_on_old_kernel() -> None:
    """Other arch, no SYS_CHROOT (chroot gets EPERM), kernel below minKernel (clone3 ENOSYS)."""
    assert oci_seccomp(PROFILE, [], "aarch64", "5.2.21") == {
        "defaultAction": "SCMP_ACT_ERRNO",
        "defaultErrnoRet": 38,
        "architectures": ["SCMP_ARCH_AARCH64", "SCMP_ARCH_ARM"],
        "syscalls": [
            READ_WRITE, KEXEC, PERSONALITY,
            {"names": ["sync_file_range2"], "action": "SCMP_ACT_ALLOW"},
            {"names": ["chroot"], "action": "SCMP_ACT_ERRNO", "errnoRet": 1},
            SOCKET, CLONE3_ENOSYS,
        ],
    }


def test_every_included_cap_needed_and_any_excluded_cap_drops() -> None:
    """``mount`` needs both caps; holding AUDIT_WRITE drops the socket errno rule."""
    caps = ["CAP_SYS_ADMIN", "sys_chroot", "AUDIT_WRITE"]
    names = [s["names"][0] for s in oci_seccomp(PROFILE, caps, "x86_64", "5.3")["syscalls"]]
    assert names == ["read", "kexec_load", "personality", "arch_prctl", "not_on_arm64",
                     "chroot", "mount", "clone3"]


def test_machine_without_arch_map_entry_and_legacy_architectures() -> None:
    """No archMap entry for the machine: no architectures (runc then allows the native one)."""
    minimal = {"defaultAction": "SCMP_ACT_ALLOW", "archMap": PROFILE["archMap"], "syscalls": []}
    assert oci_seccomp(minimal, [], "s390x", "6.1") == {
        "defaultAction": "SCMP_ACT_ALLOW", "architectures": [], "syscalls": []}
    legacy = {"defaultAction": "SCMP_ACT_ALLOW", "architectures": ["SCMP_ARCH_X86_64"],
              "syscalls": []}
    assert oci_seccomp(legacy, [], "x86_64", "6.1") == {
        "defaultAction": "SCMP_ACT_ALLOW", "architectures": ["SCMP_ARCH_X86_64"], "syscalls": []}


def test_load_profile_round_trip() -> None:
    assert load_profile(json.dumps(PROFILE)) == PROFILE


def test_native_arch() -> None:
    assert native_arch("x86_64") == ("amd64", "SCMP_ARCH_X86_64")
    assert native_arch("aarch64") == ("arm64", "SCMP_ARCH_AARCH64")
    with pytest.raises(ValueError, match="unsupported machine"):
        native_arch("vax")


@pytest.mark.parametrize("text", [
    "not json", "[]", "{}", '{"defaultAction": "SCMP_ACT_ALLOW"}',
    '{"defaultAction": "SCMP_ACT_ALLOW", "syscalls": {}}',
    '{"syscalls": []}',
    '{"defaultAction": "SCMP_ACT_ALLOW", "syscalls": [], "architectures": ["SCMP_ARCH_X86"],'
    ' "archMap": [{"architecture": "SCMP_ARCH_X86"}]}',
])
def test_load_profile_rejects(text: str) -> None:
    with pytest.raises(ValueError, match="seccomp: profile"):
        load_profile(text)


@pytest.mark.parametrize("syscalls", [
    [{"action": "SCMP_ACT_ALLOW"}],
    [{"names": "read", "action": "SCMP_ACT_ALLOW"}],
    [{"names": ["read"]}],
    [{"names": ["read"], "action": "SCMP_ACT_ALLOW", "includes": {"caps": "CAP_SYS_ADMIN"}}],
    [{"names": ["read"], "action": "SCMP_ACT_ALLOW", "args": [{"value": 1}]}],
    [{"names": ["read"], "action": "SCMP_ACT_ALLOW", "includes": {"minKernel": "new"}}],
    ["read"],
])
def test_malformed_entries_raise_value_error(syscalls: list[Any]) -> None:
    with pytest.raises(ValueError, match="seccomp: "):
        oci_seccomp({"defaultAction": "SCMP_ACT_ALLOW", "syscalls": syscalls},
                    [], "x86_64", "6.1")


def test_bad_kernel_release_and_non_mapping() -> None:
    with pytest.raises(ValueError, match="kernel version"):
        oci_seccomp(PROFILE, [], "x86_64", "unknown")
    with pytest.raises(ValueError, match="JSON object"):
        oci_seccomp([], [], "x86_64", "6.1")  # type: ignore[arg-type]
