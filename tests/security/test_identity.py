"""Which host ids a job's processes and files really have, seen from the host.

A job is root in its container. That is safe only if its root, and every
other id it can take, is a subordinate id of the runner user that no other
running job has: never the runner user itself, never a real user's uid,
never another user's subordinate range.
"""

from __future__ import annotations

import contextlib
import os
import pwd
import re
import signal
import time
from pathlib import Path

import pytest

from tests.integration.harness import Project, new_project, wait_for_line
from tests.security.conftest import (
    IMAGE,
    host_pids_with,
    other_users_subid_ranges,
    status_ids,
    subid_ranges,
    token,
)

pytestmark = pytest.mark.podman

SLICE = 65536
PIPELINE = """
    version: 1
    jobs:
      squat:
        image: {image}
        script:
          - cat /proc/self/uid_map
          - touch by-root && touch by-1234 && chown 1234:1234 by-1234
          - (chown 65536:65536 by-root 2>&1 && echo chown-outside=done) ||
            echo chown-outside=refused
          - sleep {marker} &
          - echo squat-ready
          - wait
    """


def _job_dir(project: Project) -> Path:
    dirs = list(project.state.glob("work/*/squat.1"))
    assert len(dirs) == 1, dirs
    return dirs[0]


def _inside(span: range, ranges: list[range]) -> bool:
    return any(span.start in whole and span.stop - 1 in whole for whole in ranges)


def test_each_job_is_a_private_slice_of_the_runner_subids(tmp_path: Path,
                                                          project: Project) -> None:
    """Two jobs of two ``runner exec`` processes run at once: each one's processes and files
    are in a 65,536-id slice of the runner user's own subordinate ids, disjoint from the other
    job's, and the job cannot give a file an id outside its slice."""
    user = pwd.getpwuid(os.getuid()).pw_name
    projects = [project, new_project(tmp_path / "other", project.cache)]
    markers = [str(900000000 + int(token("x")[-6:], 16)) for _ in projects]
    for each, marker in zip(projects, markers, strict=True):
        each.write(PIPELINE.format(image=IMAGE, marker=marker))
    running = [each.start() for each in projects]
    slices: list[range] = []
    try:
        for each, proc, marker in zip(projects, running, markers, strict=True):
            wait_for_line(proc, "squat-ready")
            job = _job_dir(each)
            pid = int((job / "pid").read_text())
            ids = status_ids(pid)
            base = ids["Uid"][0]
            span = range(base, base + SLICE)
            slices.append(span)
            # The background sleep may still be between fork and exec at "squat-ready".
            deadline = time.monotonic() + 30
            while not host_pids_with(f"sleep {marker}") and time.monotonic() < deadline:
                time.sleep(0.05)
            # PID 1 and every other process of the job: all ids in the slice, no host groups
            for process in [pid, *host_pids_with(f"sleep {marker}")]:
                got = status_ids(process)
                assert all(uid in span for uid in got["Uid"]), got
                assert all(gid in span for gid in got["Gid"]), got
                assert all(group in span for group in got["Groups"]), got
            assert host_pids_with(f"sleep {marker}"), "the job's sleep is not on the host"
            # The kernel's own record of the mapping, read from the host
            uid_map = Path(f"/proc/{pid}/uid_map").read_text().split()
            assert [int(word) for word in uid_map] == [0, base, SLICE]
            # Files the job made are owned by its slice on the host
            ws = job / "ws"
            assert (ws / "by-root").stat().st_uid == base
            assert (ws / "by-1234").stat().st_uid == base + 1234
            assert (ws / "by-1234").stat().st_gid == status_ids(pid)["Gid"][0] + 1234
    finally:
        for proc in running:
            with contextlib.suppress(ProcessLookupError):
                proc.send_signal(signal.SIGINT)
            proc.communicate(timeout=120)
    for each in projects:
        log = each.log("squat")
        assert re.search(r"^chown-outside=refused$", log, re.MULTILINE), log
        assert "Invalid argument" in log  # the kernel: that id does not exist in the job
    assert slices[0].stop <= slices[1].start or slices[1].stop <= slices[0].start, slices
    for span in slices:
        assert _inside(span, subid_ranges("/etc/subuid", user)), (span, user)
        assert _inside(span, subid_ranges("/etc/subgid", user)), (span, user)
        for theirs in other_users_subid_ranges("/etc/subuid", user):
            assert span.stop <= theirs.start or theirs.stop <= span.start, (span, theirs)
        assert os.getuid() not in span and 0 not in span
    for proc in running:
        assert proc.returncode == 130

