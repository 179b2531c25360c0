"""Where an agent's job sees its project: a coordinator's path made safe for a mount spec."""

from __future__ import annotations

import pytest

from runner.pipeline.model import builds_dir


@pytest.mark.parametrize(("path", "expected"), [
    ("group/sub/project", "/builds/group/sub/project"),
    ("/group/project/", "/builds/group/project"),
    ("", "/builds/project-7"),
    ("a:/h:rw,U", "/builds/a_/h_rw_U"),
    ("../../home/runner", "/builds/home/runner"),
    ("./.", "/builds/project-7"),
    ("g/with space/p.git", "/builds/g/with_space/p.git"),
    ("-v/x", "/builds/-v/x"),
])
def test_builds_dir_keeps_a_safe_path_under_builds(path: str, expected: str) -> None:
    """No ':' or ',' (mount options), no climbing; a leading '-' is harmless after '/builds/'."""
    assert builds_dir(path, "project-7") == expected
