"""Tests of runner.pipeline.github.envfiles: GITHUB_ENV/OUTPUT/STATE/PATH/STEP_SUMMARY as
actions/runner's FileCommandManager reads them."""

from __future__ import annotations

import pytest

from runner.pipeline.github import envfiles
from runner.pipeline.github.envfiles import EnvFileError

NO_NAME_OR_DELIMITER = "Name must not be empty and delimiter must not be empty"


def test_name_value_pairs_in_order_with_empty_lines_skipped() -> None:
    """``NAME=value`` lines come back in order; the first ``=`` splits; blank lines are skipped."""
    text = "A=1\n\nB=x=y\nC=\n"
    assert envfiles.parse_pairs(text) == [("A", "1"), ("B", "x=y"), ("C", "")]


def test_heredoc_keeps_inner_newlines_and_no_trailing_one() -> None:
    """``NAME<<EOF`` takes the lines up to ``EOF``, joined by newlines, without the last one."""
    text = "J<<EOF\nline 1\n\nline 3\nEOF\nK=v\n"
    assert envfiles.parse_pairs(text) == [("J", "line 1\n\nline 3"), ("K", "v")]


def test_heredoc_empty_value() -> None:
    """A delimiter right after the start line gives an empty value."""
    assert envfiles.parse_pairs("E<<X\nX\n") == [("E", "")]


def test_first_of_equals_and_heredoc_decides() -> None:
    """``A=b<<c`` is a plain pair because ``=`` comes first; ``A<<B=C`` a heredoc up to ``B=C``."""
    assert envfiles.parse_pairs("A=b<<c\n") == [("A", "b<<c")]
    assert envfiles.parse_pairs("A<<B=C\nv\nB=C\n") == [("A", "v")]


def test_missing_delimiter_is_the_runners_error_and_keeps_earlier_pairs() -> None:
    """A heredoc without its delimiter fails with actions/runner's message; earlier pairs count."""
    with pytest.raises(EnvFileError) as info:
        envfiles.parse_pairs("A=1\nB<<EOF\nv\n")
    assert info.value.message == "Invalid value. Matching delimiter not found 'EOF'"
    assert info.value.pairs == [("A", "1")]


def test_delimiter_line_without_newline_is_accepted_but_value_line_is_not() -> None:
    """The closing delimiter may end the file; a value line that ends the file is an error."""
    assert envfiles.parse_pairs("A<<E\nv\nE") == [("A", "v")]
    with pytest.raises(EnvFileError) as info:
        envfiles.parse_pairs("A<<E\nv")
    assert info.value.message == "Invalid value. EOF marker missing new line."


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("JUSTTEXT\n", "Invalid format 'JUSTTEXT'"),
        ("<<EOF\n", f"Invalid format '<<EOF'. {NO_NAME_OR_DELIMITER}"),
        ("A<<\n", f"Invalid format 'A<<'. {NO_NAME_OR_DELIMITER}"),
        ("=v\n", "Invalid format '=v'. Name must not be empty"),
    ],
)
def test_bad_lines(text: str, message: str) -> None:
    """Lines the runner refuses raise its message."""
    with pytest.raises(EnvFileError) as info:
        envfiles.parse_pairs(text)
    assert info.value.message == message


def test_carriage_return_stays_in_value() -> None:
    """On Linux only ``\\n`` ends a line: CRLF keeps ``\\r`` in values, as in the runner."""
    assert envfiles.parse_pairs("A=1\r\n") == [("A", "1\r")]


def test_path_lines_and_prepend_order() -> None:
    """GITHUB_PATH adds one directory per line; the last added is first; re-adding moves it."""
    added = envfiles.parse_path("/a\n\n/b\n")
    assert added == ["/a", "/b"]
    assert envfiles.prepend((), added) == ("/b", "/a")
    assert envfiles.prepend(("/b", "/a"), ["/a"]) == ("/a", "/b")


def test_read_files_blocks_node_options_without_failing() -> None:
    """NODE_OPTIONS is refused with the runner's error; the rest of GITHUB_ENV counts."""
    effects = envfiles.read_files({"GITHUB_ENV": b"node_options=x\nA=1\n"})
    assert effects.env == (("A", "1"),)
    assert effects.errors == (
        "Can't store NODE_OPTIONS output parameter using '$GITHUB_ENV' command.",
    )
    assert not effects.failed


def test_read_files_bad_output_fails_step_with_context_name() -> None:
    """A malformed GITHUB_OUTPUT fails the step and names the file as the runner does."""
    effects = envfiles.read_files({"GITHUB_OUTPUT": b"a=1\nbad\n", "GITHUB_STATE": b"s=2\n"})
    assert effects.failed
    assert effects.outputs == (("a", "1"),)
    assert effects.state == (("s", "2"),)
    assert effects.errors == (
        "Unable to process file command 'output' successfully.",
        "Invalid format 'bad'",
    )


def test_summary_over_limit_is_dropped_with_error() -> None:
    """A step summary over 1 MiB is dropped with GitHub's message."""
    effects = envfiles.read_files({"GITHUB_STEP_SUMMARY": b"x" * (envfiles.SUMMARY_LIMIT + 1)})
    assert effects.summary == ""
    assert effects.errors[0].startswith(
        "$GITHUB_STEP_SUMMARY upload aborted, supports content up to a size of 1024k"
    )
    small = envfiles.read_files({"GITHUB_STEP_SUMMARY": b"# hi\n"})
    assert small.summary == "# hi\n"
