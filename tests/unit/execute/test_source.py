"""What of the project a workspace gets: never the project's variables file."""

from __future__ import annotations

from pathlib import Path

from runner.execute.source import source_files


def test_the_projects_variables_file_stays_out_even_with_the_state_dir_elsewhere(
        tmp_path: Path) -> None:
    root = tmp_path / "proj"
    (root / ".runner").mkdir(parents=True)
    (root / ".runner" / "variables.yml").write_text("TOKEN: x\n")
    (root / ".runner" / "notes").write_text("n\n")
    (root / "main.c").write_text("int main;\n")
    assert sorted(source_files(root, exclude=tmp_path / "state")) == [".runner/notes", "main.c"]
    assert sorted(source_files(root, exclude=root / ".runner")) == ["main.c"]


def test_a_fresh_checkout_keeps_a_committed_variables_file(tmp_path: Path) -> None:
    """The agent's checkout is the project as committed, as GitLab would give it to jobs."""
    root = tmp_path / "proj"
    (root / ".runner").mkdir(parents=True)
    (root / ".runner" / "variables.yml").write_text("A: b\n")
    assert source_files(root, exclude=tmp_path / "state", everything=True) == [
        ".runner/variables.yml"]
