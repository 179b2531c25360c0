"""Tests of runner.pipeline.github.stepoutput: commands in a step's output, in order."""

from __future__ import annotations

from runner.pipeline.github.stepoutput import UNSECURE_DISABLED, OutputProcessor

from .recorder import Recorder


def run(data: list[bytes], env: dict[str, str] | None = None) -> tuple[Recorder, OutputProcessor]:
    messages = Recorder()
    processor = OutputProcessor(messages, "/w")
    processor.start_step(env or {})
    for chunk in data:
        processor.feed(chunk)
    processor.flush()
    return messages, processor


def test_plain_output_passes_through_and_commands_are_hidden_in_order() -> None:
    """Output lines are written as they are; command lines act in order and are not shown."""
    messages, _ = run([b"a\n::group::Build\nb\n::endgroup::\nc"])
    assert messages.calls == [
        ("write", "a\n"),
        ("group", "Build"),
        ("write", "b\n"),
        ("end_group",),
        ("write", "c"),
    ]


def test_partial_lines_wait_for_their_end() -> None:
    """A command split over two chunks is still one command."""
    messages, _ = run([b"::add-ma", b"sk::s3cret\r\n", b"x\n"])
    assert messages.calls == [("add_mask", "s3cret"), ("write", "x\n")]


def test_carriage_returns_end_lines_for_progress_output() -> None:
    """A ``\r``-ended progress line is passed on at once, bytes unchanged."""
    messages = Recorder()
    processor = OutputProcessor(messages, "/w")
    processor.start_step({})
    processor.feed(b" 10%\r 20%\r")
    assert messages.text() == " 10%\r"  # the last "\r" waits: it may be half of a CRLF
    processor.feed(b"\n::debug::x\r")
    processor.feed(b"\nend")
    processor.flush()
    assert messages.calls[-2] == ("debug", "x")
    assert messages.text() == " 10%\r 20%\r\nend"


def test_add_mask_multiline_masks_each_line_and_empty_warns() -> None:
    """A multi-line mask value also masks each line; an empty one is a warning."""
    messages, _ = run([b"::add-mask::one%0Atwo\n::add-mask::  \n"])
    assert messages.of("add_mask") == [("one\ntwo",), ("one",), ("two",)]
    assert messages.of("annotate") == [
        ("warning", "Can't add secret mask for empty string in ##[add-mask] command.", "")
    ]


def test_annotations_and_debug() -> None:
    """error/warning/notice become annotations with file:line; debug goes to debug."""
    messages, _ = run(
        [b"::error file=/w/a.py,line=4,col=2::boom\n::notice title=T::n\n::debug::d\n"]
    )
    assert messages.calls == [
        ("annotate", "error", "boom", "a.py:4:2"),
        ("annotate", "notice", "T: n", ""),
        ("debug", "d"),
    ]


def test_stop_commands_until_token() -> None:
    """Between ``::stop-commands::TOKEN`` and ``::TOKEN::`` commands are output, and both
    markers are shown; a long token is masked."""
    messages, _ = run(
        [b"::stop-commands::pause-token\n::add-mask::x\n::pause-token::\n::add-mask::y\n"]
    )
    assert messages.calls == [
        ("add_mask", "pause-token"),
        ("write", "::stop-commands::pause-token\n"),
        ("write", "::add-mask::x\n"),
        ("write", "::pause-token::\n"),
        ("add_mask", "y"),
    ]


def test_stop_token_that_is_a_command_fails_the_step() -> None:
    """A stop token naming a command is refused and fails the step, unless allowed by env."""
    messages, processor = run([b"::stop-commands::error\n::debug::d\n"])
    assert processor.effects.failed
    assert messages.of("debug") == [("d",)]
    _, allowed = run(
        [b"::stop-commands::error\n"], {"ACTIONS_ALLOW_UNSECURE_STOPCOMMAND_TOKENS": "true"}
    )
    assert not allowed.effects.failed


def test_set_env_and_add_path_are_disabled_and_fail_the_step() -> None:
    """set-env fails the step with GitHub's message unless ACTIONS_ALLOW_UNSECURE_COMMANDS."""
    messages, processor = run([b"::set-env name=A::1\n"])
    assert processor.effects.failed
    assert messages.of("annotate") == [
        ("error", "Unable to process command '::set-env name=A::1' successfully.", ""),
        ("error", UNSECURE_DISABLED.format("set-env"), ""),
    ]
    allow = {"ACTIONS_ALLOW_UNSECURE_COMMANDS": "true"}
    _, allowed = run([b"::set-env name=A::1\n::add-path::/opt/bin\n"], allow)
    assert allowed.effects.env == {"A": "1"}
    assert allowed.effects.path == ["/opt/bin"]
    assert not allowed.effects.failed


def test_set_output_works_with_deprecation_warning() -> None:
    """set-output still sets the output, with GitHub's deprecation warning; no name fails."""
    messages, processor = run([b"::set-output name=v::1.2\n"])
    assert processor.effects.outputs == {"v": "1.2"}
    assert messages.of("annotate")[0][0] == "warning"
    assert "`set-output` command is deprecated" in messages.of("annotate")[0][1]
    _, nameless = run([b"::set-output::1\n"])
    assert nameless.effects.failed


def test_echo_on_shows_commands_and_masks_add_mask() -> None:
    """With ``::echo::on`` command lines are shown; add-mask shows ``***``; bad value fails."""
    messages, _ = run([b"::echo::on\n::group::g\n::add-mask::zz\n::echo::off\n::group::h\n"])
    assert messages.calls == [
        ("write", "::group::g\n"),
        ("group", "g"),
        ("write", "::add-mask::***\n"),
        ("add_mask", "zz"),
        ("write", "::echo::off\n"),
        ("group", "h"),
    ]
    _, bad = run([b"::echo::maybe\n"])
    assert bad.effects.failed
