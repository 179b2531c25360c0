"""Which runs are kept, the ``latest`` link, and the state dir's own ``.gitignore``."""

from __future__ import annotations

import os
from pathlib import Path

from runner.execute.runs import (
    ignore_in_git,
    point_latest,
    remove_old_runs,
    runs_to_remove,
    start_run,
)

IDS = ["20260101-000000-aaaaaa", "20260102-000000-bbbbbb", "20260103-000000-cccccc",
       "20260104-000000-dddddd"]


def test_the_oldest_runs_beyond_keep_go() -> None:
    assert runs_to_remove(IDS, 2, live=()) == IDS[:2]
    assert runs_to_remove(IDS, 10, live=()) == []
    assert runs_to_remove(IDS, 1, live=()) == IDS[:3]


def test_a_live_run_is_never_removed() -> None:
    assert runs_to_remove(IDS, 1, live={IDS[0]}) == IDS[1:3]


def test_remove_old_runs_removes_the_oldest_directories(tmp_path: Path) -> None:
    for run_id in reversed(IDS):  # made in the other order: the id's time counts first
        start_run(tmp_path, run_id)
        (tmp_path / "runs" / run_id / "job.log").write_text("x")
    assert remove_old_runs(tmp_path, 2, live=()) == IDS[:2]
    assert sorted(p.name for p in (tmp_path / "runs").iterdir()) == IDS[2:]


def test_runs_of_one_second_go_by_age_not_by_their_random_part(tmp_path: Path) -> None:
    same_second = ["20260101-000000-ffffff", "20260101-000000-000000"]
    for n, run_id in enumerate(same_second):
        start_run(tmp_path, run_id)
        os.utime(tmp_path / "runs" / run_id, ns=(n, n))
    assert remove_old_runs(tmp_path, 1, live=()) == same_second[:1]


def test_latest_is_replaced_atomically_never_followed(tmp_path: Path) -> None:
    """A planted ``latest`` link is replaced, its target untouched; a new run moves it on."""
    target = tmp_path / "elsewhere"
    target.mkdir()
    state = tmp_path / "state"
    state.mkdir()
    (state / "latest").symlink_to(target)
    start_run(state, IDS[0])
    assert point_latest(state, IDS[0])
    assert os.readlink(state / "latest") == f"runs/{IDS[0]}"
    assert list(target.iterdir()) == []
    start_run(state, IDS[1])
    assert point_latest(state, IDS[1])
    assert os.readlink(state / "latest") == f"runs/{IDS[1]}"
    assert sorted(p.name for p in state.iterdir()) == [".gitignore", "latest", "runs"]


def test_latest_that_is_a_real_directory_is_left_alone(tmp_path: Path) -> None:
    (tmp_path / "latest").mkdir()
    (tmp_path / "latest" / "mine").write_text("kept")
    assert not point_latest(tmp_path, IDS[0])
    assert (tmp_path / "latest" / "mine").read_text() == "kept"
    assert [p.name for p in tmp_path.iterdir()] == ["latest"]


def test_gitignore_is_written_once_and_a_users_own_is_kept(tmp_path: Path) -> None:
    ignore_in_git(tmp_path)
    assert (tmp_path / ".gitignore").read_text().splitlines()[-1] == "*"
    (tmp_path / ".gitignore").write_text("logs/\n")
    ignore_in_git(tmp_path)
    assert (tmp_path / ".gitignore").read_text() == "logs/\n"


def test_gitignore_never_follows_a_planted_link(tmp_path: Path) -> None:
    victim = tmp_path / "victim"
    victim.write_text("untouched")
    state = tmp_path / "state"
    state.mkdir()
    (state / ".gitignore").symlink_to(victim)
    ignore_in_git(state)
    assert victim.read_text() == "untouched"
