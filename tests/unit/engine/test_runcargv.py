"""Whole-argv asserts for the runc engine's commands (``runcargv``)."""

from __future__ import annotations

from pathlib import Path

import pytest

from runner.engine import runcargv

NSENTER = ["nsenter", "--target", "4242", "--user", "--mount", "--preserve-credentials", "--"]


def test_monitor_runs_the_monitor_script_in_podmans_namespace() -> None:
    argv = runcargv.monitor_argv(4242, Path("/w/job.1/bundle"), Path("/tmp/r/c1"),
                                 overlay="lowerdir=/l",
                                 runc_root=Path("/run/user/1/runner/runc"),
                                 container_id="runner-r-job-1", pidfile=Path("/w/job.1/pid"),
                                 id_base=65537)
    assert argv == [*NSENTER, "sh", "-c", runcargv.MONITOR_SCRIPT, "monitor", "/w/job.1/bundle",
                    "/tmp/r/c1", "lowerdir=/l", "/run/user/1/runner/runc", "runner-r-job-1",
                    "/w/job.1/pid", "65537"]


def test_kill_delete_and_list() -> None:
    root = Path("/r")
    assert runcargv.kill_argv(4242, root, "c1", "TERM") == [
        *NSENTER, "runc", "--root", "/r", "kill", "c1", "TERM"]
    assert runcargv.delete_argv(4242, root, ["c1", "c2"])[:len(NSENTER) + 2] == [
        *NSENTER, "sh", "-c"]
    assert runcargv.delete_argv(4242, root, ["c1", "c2"])[-4:] == ["delete", "/r", "c1", "c2"]
    assert runcargv.list_argv(4242, root) == [
        *NSENTER, "runc", "--root", "/r", "list", "--quiet"]


def test_overlay_maps_podmans_ids_onto_the_jobs_slice() -> None:
    options = runcargv.overlay_options([Path("/s/top/diff"), Path("/s/base/diff")],
                                       Path("/b/upper"), Path("/b/work"), 131073, 65536)
    assert options == ("lowerdir=/s/top/diff:/s/base/diff,upperdir=/b/upper,workdir=/b/work,"
                       "uidmapping=0:131073:65536,gidmapping=0:131073:65536")


@pytest.mark.parametrize("bad", ["/s/a,b", "/s/a:b"])
def test_overlay_refuses_paths_it_cannot_quote(bad: str) -> None:
    with pytest.raises(ValueError, match="cannot take"):
        runcargv.overlay_options([Path(bad)], Path("/u"), Path("/w"), 1, 65536)


def test_slirp_hook_has_podmans_options_and_waits_for_ready() -> None:
    hook = runcargv.slirp_hook(Path("/b"), "20261207-1-ab")
    script = runcargv.SLIRP_HOOK_SCRIPT.replace(
        "OPTIONS", "--configure --mtu=65520 --disable-host-loopback --enable-sandbox "
        "--enable-seccomp --enable-ipv6")
    assert hook == {
        "path": "/bin/sh",
        "args": ["sh", "-c", script, "hook", "/b"],
        "env": ["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
                "RUNNER_RUN=20261207-1-ab"],
        "timeout": 30,
    }


def test_slirp4netns_starts_in_a_private_mount_namespace_of_its_own() -> None:
    """Its sandbox's unmounts must not reach podman's shared netns mounts (H4)."""
    start = [line for line in runcargv.SLIRP_HOOK_SCRIPT.splitlines()
             if "slirp4netns OPTIONS" in line]
    assert start == ['unshare --mount --propagation private slirp4netns OPTIONS --ready-fd=3 '
                     '"$pid" tap0 \\']
