"""Tests of runner.pipeline.yamlsrc: positions, duplicates, merges, tags and YAML errors."""

from __future__ import annotations

import textwrap
from pathlib import Path
from typing import ClassVar

import pytest

from runner.errors import PipelineError, SourceSpot, UsageError
from runner.pipeline import yamlsrc
from runner.pipeline.yamlsrc import Map, Pos, Scalar, Seq, describe, load_file, load_text


def load(text: str) -> Map:
    return load_text(textwrap.dedent(text), "p.yml").root


def fails(text: str | bytes, tmp_path: Path) -> PipelineError:
    path = tmp_path / "p.yml"
    if isinstance(text, bytes):
        path.write_bytes(text)
    else:
        path.write_text(textwrap.dedent(text))
    with pytest.raises(PipelineError) as info:
        load_file(path)
    return info.value


def scalar(node: yamlsrc.Node) -> Scalar:
    assert isinstance(node, Scalar)
    return node


def test_keys_and_values_carry_one_based_positions() -> None:
    """Every key and value reports the 1-based line and column it is written at."""
    root = load(
        """\
        version: 1
        jobs:
          build:
            script: [make]
        """
    )
    assert root.pos == Pos(1, 1)
    version = root.get("version")
    assert version is not None
    assert version.key_pos == Pos(1, 1)
    assert version.value.pos == Pos(1, 10)
    jobs = root.get("jobs")
    assert jobs is not None
    assert isinstance(jobs.value, Map)
    build = jobs.value.get("build")
    assert build is not None
    assert build.key_pos == Pos(3, 3)
    assert isinstance(build.value, Map)
    script = build.value.get("script")
    assert script is not None
    assert script.key_pos == Pos(4, 5)
    assert isinstance(script.value, Seq)
    assert script.value.items[0].pos == Pos(4, 14)


def test_scalars_keep_yaml_type_and_source_text() -> None:
    """Scalars are typed as YAML 1.1 says, and ``text`` keeps the spelling as written."""
    root = load(
        """\
        a: 1.10
        b: yes
        c: "quoted\\tstring"
        d: ~
        e: 0x10
        """
    )
    values = {e.key: scalar(e.value) for e in root}
    assert (values["a"].value, values["a"].text) == (1.1, "1.10")
    assert values["b"].value is True
    assert values["c"].value == "quoted\tstring"
    assert values["d"].value is None
    assert (values["e"].value, values["e"].text) == (16, "0x10")


def test_keys_are_text_as_written() -> None:
    """Non-string keys keep their source spelling and quoted keys are decoded."""
    root = load(
        """\
        1.0: a
        "x\\u0041": b
        true: c
        """
    )
    assert root.keys() == ("1.0", "xA", "true")


def test_duplicate_key_is_an_error_naming_both_lines(tmp_path: Path) -> None:
    """A key given twice is an error at the second one that names the first one's line."""
    err = fails(
        """\
        jobs:
          build:
            script: [a]
            image: x
            script: [b]
        """,
        tmp_path,
    )
    assert err.spot == SourceSpot(str(tmp_path / "p.yml"), 5, 5, "jobs.build.script")
    assert "duplicate key 'script' (first at line 3)" in err.message


def test_alias_repeats_the_anchored_value() -> None:
    """An alias yields the very same node as its anchor (built once, never copied)."""
    root = load(
        """\
        a: &x [1, 2]
        b: *x
        """
    )
    a, b = root.get("a"), root.get("b")
    assert a is not None
    assert b is not None
    assert a.value is b.value
    assert isinstance(b.value, Seq)
    assert [scalar(i).value for i in b.value.items] == [1, 2]


def test_merge_key_own_keys_win_and_order_follows_merge_position() -> None:
    """Own keys override merged ones, and merged keys appear where ``<<`` stands."""
    root = load(
        """\
        base: &base {image: a, timeout: 5}
        job:
          script: s
          <<: *base
          image: b
        """
    )
    job = root.get("job")
    assert job is not None
    assert isinstance(job.value, Map)
    assert job.value.keys() == ("script", "timeout", "image")
    assert scalar(job.value.entries[2].value).value == "b"
    assert scalar(job.value.entries[1].value).value == 5


def test_merge_list_earlier_mapping_wins() -> None:
    """With ``<<: [*a, *b]`` a key present in both comes from ``a``, as YAML specifies."""
    root = load(
        """\
        a: &a {k: from-a}
        b: &b {k: from-b, only_b: 1}
        c:
          <<: [*a, *b]
        """
    )
    c = root.get("c")
    assert c is not None
    assert isinstance(c.value, Map)
    assert c.value.keys() == ("k", "only_b")
    k = c.value.get("k")
    assert k is not None
    assert scalar(k.value).value == "from-a"


def test_merge_of_a_non_mapping_is_an_error(tmp_path: Path) -> None:
    """Merging a scalar is an error at the merged value naming what it got."""
    err = fails("z:\n  <<: 5\n", tmp_path)
    assert err.spot == SourceSpot(str(tmp_path / "p.yml"), 2, 7, "z.<<")
    assert "a merge key '<<' takes a mapping or a list of mappings, got a number" in err.message


def test_two_merge_keys_are_an_error(tmp_path: Path) -> None:
    """Two ``<<`` keys in one mapping are a duplicate; the message shows the list form."""
    err = fails("a: &a {x: 1}\nb:\n  <<: *a\n  <<: *a\n", tmp_path)
    assert (err.spot.line, err.spot.column) == (4, 3)
    assert "duplicate merge key '<<' (first at line 3)" in err.message
    assert "'<<: [*a, *b]'" in err.message


def test_recursive_alias_is_an_error(tmp_path: Path) -> None:
    """An alias inside its own anchored node is reported instead of recursing forever."""
    err = fails("x: &a [*a]\n", tmp_path)
    assert err.spot == SourceSpot(str(tmp_path / "p.yml"), 1, 4, "x[0]")
    assert "loop" in err.message


def test_syntax_error_is_one_paragraph_at_the_problem_mark(tmp_path: Path) -> None:
    """A YAML syntax error carries pyyaml's problem text and position, on one line."""
    err = fails("a: b\n c: d\n", tmp_path)
    assert err.spot == SourceSpot(str(tmp_path / "p.yml"), 2, 3)
    assert err.message == "YAML syntax error: mapping values are not allowed here"
    assert "\n" not in str(err)


def test_syntax_error_includes_context_position(tmp_path: Path) -> None:
    """The context pyyaml gives (what it was parsing, and where) is kept in the sentence."""
    err = fails("a: [1, 2\nb: 3\n", tmp_path)
    assert (err.spot.line, err.spot.column) == (2, 2)
    assert err.message == (
        "YAML syntax error: expected ',' or ']', but got ':'"
        " (while parsing a flow sequence at line 1, column 4)"
    )


def test_tab_indentation_gets_a_hint(tmp_path: Path) -> None:
    """A tab used for indentation is explained, not only reported."""
    err = fails("a:\n\tb: 1\n", tmp_path)
    assert (err.spot.line, err.spot.column) == (2, 1)
    assert err.message.endswith("; YAML indents with spaces, not tabs")


def test_undefined_alias_is_a_syntax_error(tmp_path: Path) -> None:
    """An alias without an anchor is reported at the alias."""
    err = fails("a: *nope\n", tmp_path)
    assert (err.spot.line, err.spot.column) == (1, 4)
    assert err.message == "YAML syntax error: found undefined alias 'nope'"


def test_second_document_is_an_error(tmp_path: Path) -> None:
    """A file holding two YAML documents is rejected at the second one."""
    err = fails("a: b\n---\nc: d\n", tmp_path)
    assert (err.spot.line, err.spot.column) == (2, 1)
    assert "but found another document" in err.message


@pytest.mark.parametrize(
    "text", ["", "\n\n", "# just a comment\n"], ids=["empty", "blank", "comment"]
)
def test_empty_file_is_an_error(text: str, tmp_path: Path) -> None:
    """A file without a document says it is empty and what a pipeline needs."""
    err = fails(text, tmp_path)
    assert err.spot == SourceSpot(str(tmp_path / "p.yml"), 1, 1)
    assert err.message == "the file is empty; a pipeline needs at least 'version' and 'jobs'"


@pytest.mark.parametrize(
    ("text", "got"),
    [("- a\n- b\n", "a list"), ("just text\n", "a string"), ("42\n", "a number")],
)
def test_top_level_must_be_a_mapping(text: str, got: str, tmp_path: Path) -> None:
    """A top level that is not a mapping is an error naming what it is."""
    err = fails(text, tmp_path)
    assert err.spot == SourceSpot(str(tmp_path / "p.yml"), 1, 1)
    assert err.message == (
        f"the top level must be a mapping (keys like 'version' and 'jobs'), got {got}"
    )


def test_unknown_tag_is_an_error(tmp_path: Path) -> None:
    """A tag outside YAML's core schema is an error, not a silently kept string."""
    err = fails("a: !reference [x, y]\n", tmp_path)
    assert err.spot == SourceSpot(str(tmp_path / "p.yml"), 1, 4, "a")
    assert err.message == "unsupported YAML tag '!reference' on a list"


def test_set_tag_is_rejected_with_its_short_name(tmp_path: Path) -> None:
    """Core tags this format has no use for are named the way they were written."""
    err = fails("a: !!set {x}\n", tmp_path)
    assert err.message == "unsupported YAML tag '!!set' on a mapping"


def test_loader_subclass_keeps_its_extra_tags() -> None:
    """A dialect's loader subclass gets its custom-tagged nodes back, tag and items intact."""

    class RefLoader(yamlsrc.SourceLoader):
        extra_tags: ClassVar[frozenset[str]] = frozenset({"!reference"})

    root = load_text("a: !reference [.setup, script]\nb: !reference x\n", "p.yml", RefLoader).root
    a, b = root.get("a"), root.get("b")
    assert a is not None
    assert b is not None
    assert isinstance(a.value, Seq)
    assert a.value.tag == "!reference"
    assert [scalar(i).value for i in a.value.items] == [".setup", "script"]
    assert (scalar(b.value).tag, scalar(b.value).value) == ("!reference", "x")


@pytest.mark.parametrize(
    ("value", "message"),
    [
        (
            "2024-13-45",
            "cannot read '2024-13-45' as YAML type '!!timestamp' (month must be in 1..12);"
            " quote the value to make it a string",
        ),
        (
            "!!int abc",
            "cannot read 'abc' as YAML type '!!int'; quote the value to make it a string",
        ),
        ("!!bool x", "cannot read 'x' as YAML type '!!bool'; quote the value to make it a string"),
    ],
)
def test_scalar_that_its_type_cannot_read_is_an_error(
    value: str, message: str, tmp_path: Path
) -> None:
    """A scalar its (implicit or explicit) type rejects is an error at it, not a traceback."""
    err = fails(f"a: {value}\n", tmp_path)
    assert err.spot == SourceSpot(str(tmp_path / "p.yml"), 1, 4, "a")
    assert err.message == message


def test_complex_key_is_an_error(tmp_path: Path) -> None:
    """A list used as a key is rejected with the reason."""
    err = fails("? [a, b]\n: c\n", tmp_path)
    assert err.message == "a key must be a plain value, not a list or mapping"
    assert (err.spot.line, err.spot.column) == (1, 3)


def test_invalid_utf8_names_the_line(tmp_path: Path) -> None:
    """A byte that is not UTF-8 is reported with its line and the fix."""
    err = fails(b"a: 1\nb: \xff\n", tmp_path)
    assert err.spot == SourceSpot(str(tmp_path / "p.yml"), 2)
    assert err.message == "the file is not valid UTF-8 (byte 0xff at offset 8); save it as UTF-8"


def test_control_character_is_reported_at_its_position(tmp_path: Path) -> None:
    """A character YAML forbids is reported at its line and column."""
    err = fails("a: 1\nb: x\x01y\n", tmp_path)
    assert err.spot == SourceSpot(str(tmp_path / "p.yml"), 2, 5)
    assert err.message == (
        "the file contains the character U+0001, which YAML does not allow; remove it"
    )


def test_missing_file_is_a_usage_error(tmp_path: Path) -> None:
    """Reading a file that does not exist is the caller's mistake and names the path."""
    with pytest.raises(UsageError, match="does not exist") as info:
        load_file(tmp_path / "nope.yml")
    assert str(tmp_path / "nope.yml") in str(info.value)


def test_describe_uses_yaml_type_words() -> None:
    """Type names in messages are YAML words with an article."""
    root = load(
        """\
        m: {}
        l: []
        s: x
        n: 1.5
        i: 3
        b: false
        z: null
        d: 2024-01-02
        """
    )
    assert [describe(e.value) for e in root] == [
        "a mapping",
        "a list",
        "a string",
        "a number",
        "a number",
        "a boolean",
        "nothing (null)",
        "a date",
    ]


def test_source_line_text() -> None:
    """``line_text`` returns a 1-based source line and "" past the end."""
    source = load_text("a: 1\nb: 2\n", "p.yml")
    assert source.line_text(2) == "b: 2"
    assert source.line_text(3) == ""
    assert source.line_text(0) == ""


def test_an_unterminated_string_is_reported_where_it_starts() -> None:
    """pyyaml notices at the end of the file; the line to fix is where the quote opens."""
    with pytest.raises(PipelineError) as caught:
        load_text('a: 1\nb: "open\n\nc: 2\n', "f.yml")
    assert caught.value.spot.line == 2
    assert "end of stream" in caught.value.message
