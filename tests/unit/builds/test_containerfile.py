"""Tests of runner.build.containerfile: finding the file, numbering steps as buildah does."""

from __future__ import annotations

from pathlib import Path

import pytest

from runner.build.containerfile import (
    Instruction,
    Progress,
    base_images,
    find,
    instructions,
    line_of,
    progress,
)
from tests.unit.builds.samples import MULTI

# -- find ---------------------------------------------------------------------------


def test_find_prefers_containerfile(tmp_path: Path) -> None:
    """With both names present, Containerfile wins."""
    (tmp_path / "Dockerfile").write_text("FROM a\n")
    (tmp_path / "Containerfile").write_text("FROM b\n")
    assert find(tmp_path, None) == tmp_path / "Containerfile"


def test_find_falls_back_to_dockerfile(tmp_path: Path) -> None:
    """Without a Containerfile, a Dockerfile is used."""
    (tmp_path / "Dockerfile").write_text("FROM a\n")
    assert find(tmp_path, None) == tmp_path / "Dockerfile"


def test_find_skips_a_directory_named_containerfile(tmp_path: Path) -> None:
    """Only files count: a directory called Containerfile is not one."""
    (tmp_path / "Containerfile").mkdir()
    (tmp_path / "Dockerfile").write_text("FROM a\n")
    assert find(tmp_path, None) == tmp_path / "Dockerfile"


def test_find_nothing(tmp_path: Path) -> None:
    """No file of either name: None."""
    (tmp_path / "containerfile").write_text("FROM a\n")  # case matters
    assert find(tmp_path, None) is None


def test_find_given_path(tmp_path: Path) -> None:
    """A given file is used even when the context has a Containerfile."""
    (tmp_path / "Containerfile").write_text("FROM a\n")
    given = tmp_path / "build" / "Prod.containerfile"
    given.parent.mkdir()
    given.write_text("FROM b\n")
    assert find(tmp_path, given) == given


def test_find_given_but_missing(tmp_path: Path) -> None:
    """A given file that does not exist is None, not the context's Containerfile."""
    (tmp_path / "Containerfile").write_text("FROM a\n")
    assert find(tmp_path, tmp_path / "Other") is None


# -- instructions ----------------------------------------------------------------------


def test_instructions_multi_stage_numbering() -> None:
    """Stages and steps are numbered from 1 as buildah prints them; a line is the first one."""
    assert instructions(MULTI) == [
        Instruction(1, 1, 1, "FROM localhost/busybox:latest AS one"),
        Instruction(1, 2, 2, "RUN echo ok"),
        Instruction(2, 1, 4, "FROM one"),
        Instruction(2, 2, 5, "RUN echo a && false"),
        Instruction(2, 3, 7, "RUN echo never"),
    ]


def test_instructions_arg_before_from_is_stage_zero() -> None:
    """ARGs before the first FROM belong to no stage (stage 0), then stage 1 starts at step 1."""
    text = "ARG BASE=alpine\nARG V=1\nFROM $BASE\nRUN echo $V\n"
    assert instructions(text) == [
        Instruction(0, 1, 1, "ARG BASE=alpine"),
        Instruction(0, 2, 2, "ARG V=1"),
        Instruction(1, 1, 3, "FROM $BASE"),
        Instruction(1, 2, 4, "RUN echo $V"),
    ]


def test_instructions_comments_and_blank_lines() -> None:
    """Comments and blank lines are skipped, also inside a continuation; from is any case."""
    text = (
        "# syntax comment\n"
        "\n"
        "from alpine AS build\n"
        "RUN apk add \\\n"
        "    # the compiler\n"
        "    gcc \\\n"
        "\n"
        "    make\n"
        "   # indented comment\n"
        "COPY . /src\n"
    )
    assert instructions(text) == [
        Instruction(1, 1, 3, "from alpine AS build"),
        Instruction(1, 2, 4, "RUN apk add gcc make"),
        Instruction(1, 3, 10, "COPY . /src"),
    ]


def test_instructions_trailing_spaces_after_backslash_still_continue() -> None:
    """Trailing whitespace after the escape character does not end the continuation."""
    text = "FROM a\nRUN one \\   \n  two\nRUN three\n"
    assert instructions(text) == [
        Instruction(1, 1, 1, "FROM a"),
        Instruction(1, 2, 2, "RUN one two"),
        Instruction(1, 3, 4, "RUN three"),
    ]


def test_instructions_escape_directive() -> None:
    """``# escape=`` on the first line makes a backtick the continuation character."""
    text = "# escape=`\nFROM a\nRUN echo one `\n  two\nRUN dir c:\\\nRUN three\n"
    assert instructions(text) == [
        Instruction(1, 1, 2, "FROM a"),
        Instruction(1, 2, 3, "RUN echo one two"),
        Instruction(1, 3, 5, "RUN dir c:\\"),
        Instruction(1, 4, 6, "RUN three"),
    ]


def test_escape_directive_only_counts_on_the_first_line() -> None:
    """After an instruction, ``# escape=`` is a plain comment: backslash still continues."""
    text = "FROM a\n# escape=`\nRUN one \\\n two\n"
    assert instructions(text) == [
        Instruction(1, 1, 1, "FROM a"),
        Instruction(1, 2, 3, "RUN one two"),
    ]


def test_escape_directive_after_syntax_directive() -> None:
    """Parser directives may be several lines at the top; escape still applies."""
    text = "# syntax=docker/dockerfile:1\n# escape=`\nFROM a\nRUN one `\n two\nRUN three\n"
    assert instructions(text) == [
        Instruction(1, 1, 3, "FROM a"),
        Instruction(1, 2, 4, "RUN one two"),
        Instruction(1, 3, 6, "RUN three"),
    ]


# -- base_images ---------------------------------------------------------------------


def test_base_images() -> None:
    """Stage starts minus scratch, earlier stage names (any case) and $ARG images, once each."""
    text = (
        "FROM --platform=$BUILDPLATFORM golang:1.22 AS Build\n"
        "RUN go build\n"
        "FROM build AS test\n"
        "FROM scratch\n"
        "FROM SCRATCH AS empty\n"
        "FROM $BASE\n"
        "FROM ${BASE} AS b2\n"
        "FROM docker.io/library/golang:1.22\n"
        "FROM golang:1.22 AS again\n"
        "FROM --platform=linux/arm64 localhost/busybox:latest AS final\n"
        "COPY --from=BUILD /out /\n"
    )
    assert base_images(text) == [
        "golang:1.22", "docker.io/library/golang:1.22", "localhost/busybox:latest",
    ]


def test_base_images_stage_name_only_after_it_is_defined() -> None:
    """A name used before a stage of that name is defined is an image (pulled)."""
    text = "FROM tools\nFROM alpine AS tools\nFROM tools\n"
    assert base_images(text) == ["tools", "alpine"]


def test_base_images_of_the_multi_stage_example() -> None:
    """The second stage starts from the first, so only busybox is a base image."""
    assert base_images(MULTI) == ["localhost/busybox:latest"]


def test_base_images_ignore_args_before_from() -> None:
    """ARGs before the first FROM are not images."""
    assert base_images("ARG BASE=alpine\nFROM $BASE\nFROM busybox\n") == ["busybox"]


# -- progress ---------------------------------------------------------------------


def test_progress_multi_stage_form() -> None:
    """``[stage/stages] STEP n/m: text``."""
    assert progress("[1/2] STEP 3/3: RUN x") == Progress(1, 3, "RUN x")
    assert progress("[2/2] STEP 2/3: RUN echo a &&     false") == Progress(
        2, 2, "RUN echo a &&     false")


def test_progress_single_stage_form_is_stage_one() -> None:
    """Without a stage prefix the stage is 1."""
    assert progress("STEP 2/2: FOO bar") == Progress(1, 2, "FOO bar")


def test_progress_strips_surrounding_whitespace() -> None:
    """A line with a trailing newline or carriage return still reads."""
    assert progress("  [3/4] STEP 10/12: COPY . /src \r\n") == Progress(3, 10, "COPY . /src")


@pytest.mark.parametrize("line", [
    "ok",
    "--> 9098eb1002b",
    'Error: building at STEP "RUN echo a &&     false": while running runtime: exit status 1',
    "STEP two: RUN x",
    "[1/2] COMMIT",
    "",
])
def test_progress_other_lines(line: str) -> None:
    """Output, commit and error lines are not progress."""
    assert progress(line) is None


# -- line_of ------------------------------------------------------------------------


def test_line_of_continued_run_in_second_stage() -> None:
    """buildah's joined text (spaces of the continuation kept) matches the continued RUN."""
    at = progress("[2/2] STEP 2/3: RUN echo a &&     false")
    assert at is not None
    assert line_of(MULTI, at) == 5


def test_line_of_other_steps() -> None:
    """Each step of each stage maps to its own first line."""
    assert line_of(MULTI, Progress(1, 1, "FROM localhost/busybox:latest AS one")) == 1
    assert line_of(MULTI, Progress(1, 2, "RUN echo ok")) == 2
    assert line_of(MULTI, Progress(2, 3, "RUN echo never")) == 7


def test_line_of_unknown_instruction() -> None:
    """A single-stage build failing on an unknown instruction points at it."""
    text = "FROM localhost/busybox:latest\nFOO bar\n"
    at = progress("STEP 2/2: FOO bar")
    assert at is not None
    assert line_of(text, at) == 2


def test_line_of_text_mismatch_is_none() -> None:
    """A step whose text differs is not guessed at (buildah prints FROM with an image id)."""
    from_id = "FROM 9098eb1002be6114fa1f6b5fc2dedca83ba0669a0ee42190d79f18312a4a2b98"
    assert line_of(MULTI, Progress(2, 1, from_id)) is None
    assert line_of(MULTI, Progress(2, 2, "RUN echo b && false")) is None


def test_line_of_falls_back_to_text_and_step_when_stages_are_renumbered() -> None:
    """With --target buildah may renumber stages: the same text at the same step still matches."""
    assert line_of(MULTI, Progress(1, 2, "RUN echo a && false")) == 5
    assert line_of(MULTI, Progress(1, 3, "RUN echo never")) == 7
    assert line_of(MULTI, Progress(1, 4, "RUN echo never")) is None  # step differs too
