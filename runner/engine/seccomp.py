"""Convert a containers-common (Docker-format) seccomp profile to OCI ``linux.seccomp``.

``/usr/share/containers/seccomp.json`` is not what runc reads: its entries carry
conditions (``includes``/``excludes`` on capabilities, arches, kernel version)
and an ``archMap`` that podman resolves per container at run time, as it writes
``config.json``. We start job containers with runc directly, so we resolve them
here the way containers/common's ``setupSeccomp`` does. Pure: no I/O, no env.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping
from typing import Any

MACHINES: dict[str, tuple[str, str]] = {
    "x86_64": ("amd64", "SCMP_ARCH_X86_64"), "aarch64": ("arm64", "SCMP_ARCH_AARCH64"),
    "i686": ("x86", "SCMP_ARCH_X86"), "armv7l": ("arm", "SCMP_ARCH_ARM"),
    "ppc64le": ("ppc64le", "SCMP_ARCH_PPC64LE"), "s390x": ("s390x", "SCMP_ARCH_S390X"),
    "riscv64": ("riscv64", "SCMP_ARCH_RISCV64"),
}
"""``platform.machine()`` -> (name used in ``includes.arches``, seccomp arch)."""


def native_arch(machine: str) -> tuple[str, str]:
    """The profile's arch name (``amd64``) and seccomp's (``SCMP_ARCH_X86_64``) for a machine."""
    if machine not in MACHINES:
        raise ValueError(f"seccomp: unsupported machine {machine!r}")
    return MACHINES[machine]


def _kernel(release: str) -> tuple[int, int]:
    """Major and minor of a release: ``6.1.0-18-amd64`` -> (6, 1); ``5.8`` -> (5, 8)."""
    if (m := re.match(r"(\d+)\.(\d+)", release)) is None:
        raise ValueError(f"seccomp: cannot parse kernel version {release!r}")
    return int(m[1]), int(m[2])


def _cap(name: str) -> str:
    return "CAP_" + name.upper().removeprefix("CAP_")


def _strs(value: object) -> list[str]:
    if not isinstance(value, list | None) or not all(isinstance(v, str) for v in value or []):
        raise ValueError(f"seccomp: expected a list of strings, got {value!r}")
    return list(value or [])


def load_profile(text: str) -> dict[str, Any]:
    """Parse a profile's JSON text; ValueError unless it looks like a seccomp profile."""
    try:
        return _check(json.loads(text))
    except json.JSONDecodeError as e:
        raise ValueError(f"seccomp: profile is not JSON: {e}") from e


def _check(doc: object) -> dict[str, Any]:
    if (not isinstance(doc, Mapping) or not isinstance(doc.get("syscalls"), list)
            or not doc.get("defaultAction")):
        raise ValueError("seccomp: profile must be a JSON object with defaultAction and syscalls")
    if doc.get("architectures") and doc.get("archMap"):
        raise ValueError("seccomp: profile has both 'architectures' and 'archMap'")
    return dict(doc)


def _applies(entry: Mapping[str, Any], caps: set[str], arch: str, kernel: tuple[int, int]) -> bool:
    inc, exc = entry.get("includes") or {}, entry.get("excludes") or {}
    return (all(_cap(c) in caps for c in _strs(inc.get("caps")))
            and not any(_cap(c) in caps for c in _strs(exc.get("caps")))
            and (not inc.get("arches") or arch in _strs(inc["arches"]))
            and arch not in _strs(exc.get("arches"))
            and (not inc.get("minKernel") or _kernel(inc["minKernel"]) <= kernel)
            and (not exc.get("minKernel") or _kernel(exc["minKernel"]) > kernel))


def _syscall(entry: Mapping[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {"names": _strs(entry["names"]), "action": entry["action"]}
    if entry.get("errnoRet") is not None:
        out["errnoRet"] = int(entry["errnoRet"])
    if entry.get("args"):
        out["args"] = [{"index": int(a["index"]), "value": int(a.get("value", 0)),
                        "valueTwo": int(a.get("valueTwo", 0)), "op": a["op"]}
                       for a in entry["args"]]
    return out


def oci_seccomp(profile: Mapping[str, Any], caps: Iterable[str], machine: str,
                kernel_release: str) -> dict[str, Any]:
    """The OCI ``linux.seccomp`` object runc needs for a container with ``caps``."""
    profile = _check(profile)
    arch, scmp = native_arch(machine)
    capset, kernel = {_cap(c) for c in caps}, _kernel(kernel_release)
    out: dict[str, Any] = {"defaultAction": profile["defaultAction"]}
    try:
        if profile.get("defaultErrnoRet") is not None:
            out["defaultErrnoRet"] = int(profile["defaultErrnoRet"])
        out["architectures"] = _strs(profile.get("architectures")) + next(
            ([m["architecture"], *(m.get("subArchitectures") or [])]
             for m in profile.get("archMap") or [] if m["architecture"] == scmp), [])
        out["syscalls"] = [_syscall(e) for e in profile["syscalls"]
                           if _applies(e, capset, arch, kernel)]
    except (KeyError, TypeError, AttributeError) as e:
        raise ValueError(f"seccomp: malformed profile ({type(e).__name__}: {e})") from e
    return out
