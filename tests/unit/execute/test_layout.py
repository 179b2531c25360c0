"""File and container names from GitLab job names and cache keys: distinct and contained."""

from __future__ import annotations

import itertools
import re
from pathlib import Path

import pytest

from runner.execute.layout import RunLayout, clashing_names, safe_name


@pytest.mark.parametrize("name", ["build", "test-1", "a_b.c", "UPPER", "x" * 80])
def test_safe_names_stay_as_they_are(name: str) -> None:
    """Names that are already safe keep their obvious file names."""
    assert safe_name(name) == name


NAMES = ["test 1/3", "test_1_3", "test:1/3", "build: [linux, amd64]", "build___linux__amd64_",
         "..", ".", "", "a/../b", "a_.._b", "x" * 81, "x" * 80 + "y", "é", "_",
         "test_1_3-" + "0" * 8, "test 1/3-" + "0" * 8]


def test_changed_names_never_meet_each_other_or_unchanged_ones() -> None:
    """Any two different names map to different, single-component, safe names."""
    mapped = {name: safe_name(name) for name in NAMES}
    assert len(set(mapped.values())) == len(NAMES)
    for name, safe in mapped.items():
        assert re.fullmatch(r"[A-Za-z0-9_.-]+", safe), name
        assert safe not in (".", "..")
        assert len(safe) <= 89
    assert clashing_names(NAMES) == []


def test_a_name_that_looks_changed_is_changed_too() -> None:
    """Unchanged names never end in -XXXXXXXX, so they cannot equal a changed name."""
    looks = "test_1_3-" + safe_name("test 1/3")[-8:]
    assert safe_name(looks) != looks
    assert safe_name(looks) != safe_name("test 1/3")


def test_clashing_names_reports_pairs() -> None:
    """The check the run makes before starting; the same name twice is no clash."""
    assert clashing_names(["a", "a"]) == []
    for first, second in itertools.combinations(NAMES, 2):
        assert clashing_names([first, second]) == []


@pytest.mark.parametrize("key", ["..", "../..", "../x", "/etc", "a/b", ".", ""])
def test_cache_dir_never_escapes(tmp_path: Path, key: str) -> None:
    """Whatever the key, the cache dir is one level under the project's cache dir."""
    layout = RunLayout(tmp_path / "proj", "run", tmp_path / "cache", tmp_path / "state")
    path = layout.cache(key)
    tenant = layout.cache("plain").parent
    assert path.parent == tenant
    assert path.name not in ("", ".", "..")
    assert "/" not in path.name


def test_paths_of_gitlab_job_names(tmp_path: Path) -> None:
    """Logs, artifacts, scratch and container names are distinct for similar job names."""
    layout = RunLayout(tmp_path / "proj", "run", tmp_path / "cache", tmp_path / "state")
    a, b = "test 1/3", "test_1_3"
    assert layout.log(b).name == "test_1_3.log"
    assert layout.log(a) != layout.log(b)
    assert layout.artifacts(a) != layout.artifacts(b)
    assert layout.artifacts(a).parent == tmp_path / "state" / "artifacts"
    assert layout.job_work(a, 1) != layout.job_work(b, 1)
    assert layout.container_name(a, 1) != layout.container_name(b, 1)
    assert re.fullmatch(r"[a-zA-Z0-9][a-zA-Z0-9_.-]*", layout.container_name("build: [x]", 1))
