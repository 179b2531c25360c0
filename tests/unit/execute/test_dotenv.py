"""Dotenv reports: GitLab's line rules, its limits, and never following a job's symlinks."""

from __future__ import annotations

import os

from runner.execute.dotenv import MAX_FILE_BYTES, MAX_VARIABLES, parse_dotenv, read_reports


def test_lines_split_at_first_equals_stripped_quotes_kept() -> None:
    """Key and value are stripped, quotes and '=' in values stay, the last value wins."""
    report = parse_dotenv(b'A=1\nB = two words \nC="quoted"\nD=x=y\nA=3\r\nE=\n', "f.env")
    assert report.variables == (("A", "3"), ("B", "two words"), ("C", '"quoted"'),
                                ("D", "x=y"), ("E", ""))
    assert report.problems == ()


def test_bad_lines_are_reported_without_their_content() -> None:
    """Malformed lines are skipped with a problem naming file and line, never the text."""
    report = parse_dotenv(b"OK=1\nno equals here\n1ST=x\nexport X=1\nbad-key=v\n", "r.env")
    assert report.variables == (("OK", "1"),)
    assert [p.split(":")[1] for p in report.problems] == ["2", "3", "4", "5"]
    assert not any("no equals" in p or "bad-key" in p for p in report.problems)


def test_blank_and_comment_lines_skipped_with_a_gitlab_warning() -> None:
    """GitLab rejects them; we skip them and say so once per file."""
    report = parse_dotenv(b"# hi\n\nA=1\n   \n", "c.env")
    assert report.variables == (("A", "1"),)
    assert report.problems == ("c.env: 3 blank or comment line(s) skipped (GitLab rejects "
                               "dotenv files that have any)",)


def test_bom_and_invalid_utf8_do_not_crash() -> None:
    """A BOM is dropped; undecodable bytes become replacement characters."""
    report = parse_dotenv(b"\xef\xbb\xbfA=\xff\n", "b.env")
    assert report.variables == (("A", "\ufffd"),)


def test_read_reports_limits_and_merge(tmp_path) -> None:
    """Files over 5 KiB are ignored; later files win; a missing file is a problem, not a crash."""
    (tmp_path / "a.env").write_text("A=1\nB=1\n")
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "b.env").write_text("B=2\n")
    (tmp_path / "big.env").write_text("X=" + "x" * MAX_FILE_BYTES + "\n")
    (tmp_path / "edge.env").write_text("E=" + "e" * (MAX_FILE_BYTES - 3) + "\n")
    report = read_reports(tmp_path, ["a.env", "sub/b.env", "big.env", "edge.env", "gone.env"])
    assert dict(report.variables) == {"A": "1", "B": "2", "E": "e" * (MAX_FILE_BYTES - 3)}
    assert any(p.startswith("big.env: ") and "larger than 5 KiB" in p for p in report.problems)
    assert any(p.startswith("gone.env: ") and "not found" in p for p in report.problems)


def test_too_many_variables_reject_the_whole_report(tmp_path) -> None:
    """Past GitLab's variable limit, no variable at all is passed on."""
    (tmp_path / "ok.env").write_text("".join(f"V{i}={i}\n" for i in range(MAX_VARIABLES)))
    assert len(read_reports(tmp_path, ["ok.env"]).variables) == MAX_VARIABLES
    (tmp_path / "more.env").write_text("ONE_MORE=1\n")
    report = read_reports(tmp_path, ["ok.env", "more.env"])
    assert report.variables == ()
    assert any("more than the 20 GitLab accepts" in p for p in report.problems)


def test_symlinks_are_never_followed(tmp_path) -> None:
    """Neither a symlinked file nor a symlinked directory on the way is read through."""
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "x.env").write_text("STOLEN=yes\n")
    kept = tmp_path / "kept"
    kept.mkdir()
    os.symlink(outside / "x.env", kept / "link.env")
    os.symlink(outside, kept / "dir")
    report = read_reports(kept, ["link.env", "dir/x.env", "../outside/x.env"])
    assert report.variables == ()
    assert len(report.problems) == 3
    assert sum("never followed" in p for p in report.problems) == 2
    assert any("leaves the project dir" in p for p in report.problems)


def test_fifo_is_not_opened_for_reading(tmp_path) -> None:
    """A FIFO would block a plain open; it is refused as not a regular file."""
    os.mkfifo(tmp_path / "pipe.env")
    report = read_reports(tmp_path, ["pipe.env"])
    assert report.variables == ()
    assert "not a regular file" in report.problems[0]
