"""A job tries to gain privileges: setuid binaries, newuidmap, id maps outside its slice.

Jobs run with ``--security-opt no-new-privileges`` and the capability set of
podman 4.3 (containers.conf ``default_capabilities``), documented in
docs/security.md as ``DOCUMENTED_CAPS`` below.
"""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pytest

from tests.integration.harness import Project
from tests.security.conftest import IMAGE, MALLORY_UID, TOOL_TIMEOUT

pytestmark = pytest.mark.podman

CAP_NUMBERS = {
    "CHOWN": 0, "DAC_OVERRIDE": 1, "DAC_READ_SEARCH": 2, "FOWNER": 3, "FSETID": 4, "KILL": 5,
    "SETGID": 6, "SETUID": 7, "SETPCAP": 8, "LINUX_IMMUTABLE": 9, "NET_BIND_SERVICE": 10,
    "NET_BROADCAST": 11, "NET_ADMIN": 12, "NET_RAW": 13, "IPC_LOCK": 14, "IPC_OWNER": 15,
    "SYS_MODULE": 16, "SYS_RAWIO": 17, "SYS_CHROOT": 18, "SYS_PTRACE": 19, "SYS_PACCT": 20,
    "SYS_ADMIN": 21, "SYS_BOOT": 22, "SYS_NICE": 23, "SYS_RESOURCE": 24, "SYS_TIME": 25,
    "SYS_TTY_CONFIG": 26, "MKNOD": 27, "LEASE": 28, "AUDIT_WRITE": 29, "AUDIT_CONTROL": 30,
    "SETFCAP": 31,
}
DOCUMENTED_CAPS = frozenset({
    "CHOWN", "DAC_OVERRIDE", "FOWNER", "FSETID", "KILL", "NET_BIND_SERVICE", "SETFCAP",
    "SETGID", "SETPCAP", "SETUID", "SYS_CHROOT",
})
"""What a job's root holds (docs/security.md): podman 4.3's default set, without NET_RAW,
MKNOD, AUDIT_WRITE or anything that reaches beyond the job's own namespaces."""
STATUS_FIELDS = "CapInh|CapPrm|CapEff|CapBnd|CapAmb|NoNewPrivs|Seccomp"


def _mask(names: frozenset[str]) -> int:
    return sum(1 << CAP_NUMBERS[name] for name in names)


def _names(mask: int) -> set[str]:
    return {name for name, bit in CAP_NUMBERS.items() if mask >> bit & 1}


def _status(log: str, prefix: str = "") -> dict[str, int]:
    """``/proc/self/status`` capability fields printed by a job (hex masks as ints)."""
    found = re.findall(rf"^{prefix}({STATUS_FIELDS}):\s+(\S+)$", log, re.MULTILINE)
    values = {key: int(value, 16) if key.startswith("Cap") else int(value)
              for key, value in found}
    assert values, log
    return values


CAPS_PIPELINE = f"""
    version: 1
    jobs:
      caps:
        image: {IMAGE}
        script: ["grep -E '^({STATUS_FIELDS}):' /proc/self/status"]
    """


def test_job_root_has_exactly_the_documented_capabilities(project: Project) -> None:
    """The job's root holds the documented set and can never get more (bounding set), with
    no-new-privileges and a seccomp filter on."""
    project.write(CAPS_PIPELINE)
    run = project.run()
    assert run.code == 0, run.out + run.err
    status = _status(project.log("caps"))
    want = _mask(DOCUMENTED_CAPS)
    for field in ("CapPrm", "CapEff", "CapBnd"):
        assert status[field] == want, (field, sorted(_names(status[field]) ^ DOCUMENTED_CAPS))
    assert status["CapInh"] == 0 and status["CapAmb"] == 0
    assert status["NoNewPrivs"] == 1
    assert status["Seccomp"] == 2  # a filter, not "disabled" (0) or "strict" (1)


def test_containers_conf_cannot_widen_the_capabilities(project: Project, tmp_path: Path) -> None:
    """The documented set holds whatever the host's containers.conf says: a
    ``default_capabilities`` with SYS_ADMIN and NET_RAW (a careless edit, a distro default)
    does not reach jobs."""
    wide = sorted(DOCUMENTED_CAPS | {"SYS_ADMIN", "NET_RAW"})
    conf = tmp_path / "containers.conf"
    conf.write_text("[containers]\ndefault_capabilities = [" +
                    ", ".join(f'"{name}"' for name in wide) + ']\n[engine]\nruntime = "runc"\n')
    project.write(CAPS_PIPELINE)
    run = project.run(CONTAINERS_CONF=str(conf))
    assert run.code == 0, run.out + run.err
    status = _status(project.log("caps"))
    assert status["CapBnd"] == _mask(DOCUMENTED_CAPS), sorted(_names(status["CapBnd"]))


def _plain_podman(image: str, *command: str) -> subprocess.CompletedProcess[str]:
    """``podman run`` of ``image`` as mallory *without* no-new-privileges: the control."""
    return subprocess.run(["podman", "run", "--rm", "--network", "none", "--user",
                           f"{MALLORY_UID}:{MALLORY_UID}", image, *command],
                          capture_output=True, text=True, timeout=TOOL_TIMEOUT, check=False)


def test_setuid_root_binary_gains_nothing(project: Project, escalation_image: str) -> None:
    """An unprivileged user in the job runs a setuid-root binary and stays itself; the same
    binary does make it root in a container without no-new-privileges (the control)."""
    control = _plain_podman(escalation_image, "/usr/local/bin/euid")
    assert control.returncode == 0, control.stderr  # euid 0: the setuid bit works there
    project.write(f"""
        version: 1
        jobs:
          escalate:
            image: {escalation_image}
            script:
              - ls -ln /usr/local/bin/euid
              - rc=0; su -s /bin/sh mallory -c /usr/local/bin/euid || rc=$?; echo "euid=$rc"
              - su -s /bin/sh mallory -c "grep -E '^(CapEff|NoNewPrivs):' /proc/self/status"
        """)
    run = project.run()
    assert run.code == 0, run.out + run.err
    log = project.log("escalate")
    assert re.search(r"^-rwsr-xr-x\s+1 0\s+0\s", log, re.MULTILINE), log  # setuid root in there
    assert re.search(rf"^euid={MALLORY_UID}$", log, re.MULTILINE), log
    assert re.search(r"^CapEff:\s+0+$", log, re.MULTILINE), log
    assert re.search(r"^NoNewPrivs:\s+1$", log, re.MULTILINE), log


def test_no_id_mapping_beyond_the_slice(project: Project, escalation_image: str) -> None:
    """newuidmap (setuid root, with an /etc/subuid that allows it) maps nothing for an
    unprivileged user, and the job's root cannot map an id outside its slice into a new user
    namespace, though ids inside it map (the control)."""
    project.write(f"""
        version: 1
        jobs:
          remap:
            image: {escalation_image}
            script:
              - cat /etc/subuid
              - >-
                su -s /bin/sh mallory -c 'unshare -U sleep 60 & p=$!; sleep 0.5;
                newuidmap $p 0 0 1; echo "mallory-newuidmap=$? map=[$(cat /proc/$p/uid_map)]";
                kill $p'
              - >-
                unshare -U sleep 60 & p=$!; sleep 0.5;
                newuidmap $p 0 65536 1 || true;
                echo "root-newuidmap-outside=[$(cat /proc/$p/uid_map)]";
                (echo '0 65536 65536' > /proc/$p/uid_map) 2>&1 || true;
                echo "root-outside=[$(cat /proc/$p/uid_map)]"; kill $p
              - >-
                unshare -U sleep 60 & p=$!; sleep 0.5;
                echo '0 1000 1' > /proc/$p/uid_map;
                echo "root-inside=[$(cat /proc/$p/uid_map)]"; kill $p
        """)
    run = project.run()
    assert run.code == 0, run.out + run.err
    log = project.log("remap")
    assert re.search(r"^mallory-newuidmap=[1-9]\d* map=\[\]$", log, re.MULTILINE), log
    assert "root-newuidmap-outside=[]" in log, log
    assert "root-outside=[]" in log, log
    assert re.search(r"^root-inside=\[\s*0\s+1000\s+1\]$", log, re.MULTILINE), log
