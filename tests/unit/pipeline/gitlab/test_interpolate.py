"""``$[[ ... ]]`` blocks and their functions, as GitLab's interpolation evaluates them.

Expected values come from GitLab's lib/gitlab/ci/config/interpolation: template.rb
(BLOCK_REGEXP, whole-node values), block.rb (at most 3 functions, ``matrix.`` left
alone), access.rb (messages), functions_stack.rb ("no function matching"),
functions/truncate.rb (``input_value[offset, length]``), posix_escape.rb (Ruby's
Shellwords.shellescape; its spec expects ``String\\ with\\ \\"\\ and\\ \\'...``),
expand_vars.rb (ExpandVariables.expand_existing, masked refused) and split.rb.
"""

from __future__ import annotations

import pytest

from runner.pipeline import yamlsrc
from runner.pipeline.gitlab.interpolate import InterpolationError, Variables, interpolate
from runner.pipeline.gitlab.preview import to_python
from runner.pipeline.gitlab.source import load_text

INPUTS = {"name": "Hello World's file", "tags": ["a", "b"], "n": 3, "csv": "a, b,,c "}


def run(body: str, variables: dict[str, str] | None = None, masked: frozenset[str] = frozenset()
        ) -> object:
    tree = load_text(body, "t.yml").root
    return to_python(interpolate(tree, INPUTS, Variables(lambda: variables or {}, masked)))


def error(body: str, masked: frozenset[str] = frozenset()) -> InterpolationError:
    with pytest.raises(InterpolationError) as info:
        run(body, {"TOKEN": "s"}, masked)
    return info.value


@pytest.mark.parametrize(
    ("block", "expected"),
    [
        ("inputs.name | truncate(0,5)", "Hello"),
        ("inputs.name | truncate( 6 , 100 )", "World's file"),
        ("inputs.name | truncate(50,2)", ""),
        ("inputs.name | truncate(0,3", "Hel"),  # GitLab's pattern makes ')' optional
        ("inputs.name | posix_escape", "Hello\\ World\\'s\\ file"),
        ("inputs.name | truncate(0,7) | posix_escape", "Hello\\ W"),
        ("inputs.csv | split(',')", ["a", "b", "c"]),
    ],
)
def test_functions(block: str, expected: object) -> None:
    assert run(f"v: $[[ {block} ]]\n") == {"v": expected}


def test_posix_escape_matches_shellwords() -> None:
    """posix_escape_spec.rb's example, and Shellwords' '' for an empty string."""
    tree = load_text("v: $[[ inputs.s | posix_escape ]]\n", "t.yml").root
    value = "String with \" and ' and  blanks"
    out = to_python(interpolate(tree, {"s": value}, Variables(dict)))
    assert out == {"v": 'String\\ with\\ \\"\\ and\\ \\\'\\ and\\ \\ blanks'}
    out = to_python(interpolate(tree, {"s": ""}, Variables(dict)))
    assert out == {"v": "''"}


def test_expand_vars_keeps_unknown_references_and_refuses_masked() -> None:
    body = "v: $[[ inputs.e | expand_vars ]]\n"
    tree = load_text(body, "t.yml").root
    given = {"e": "$CI_COMMIT_REF_NAME-${MISSING}-$TOKEN"}
    out = to_python(interpolate(tree, given, Variables(lambda: {"CI_COMMIT_REF_NAME": "main",
                                                                "TOKEN": "x"})))
    assert out == {"v": "main-${MISSING}-x"}
    with pytest.raises(InterpolationError) as info:
        interpolate(tree, given, Variables(lambda: {"TOKEN": "s"}, frozenset({"TOKEN"})))
    assert "masked variables cannot be expanded" in info.value.message


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ("v: $[[ inputs.nope ]]\n", "unknown interpolation key: `nope`"),
        ("v: $[[ nope.x ]]\n", "unknown interpolation key: `nope`"),
        ("v: $[[ inputs ]]\n", "invalid interpolation access pattern"),
        ("v: $[[ inputs.name | upcase ]]\n", "no function matching `upcase`: check that the"
         " function name, arguments, and types are correct"),
        ("v: $[[ inputs.n | truncate(0,1) ]]\n", "error in `truncate` function: invalid input"
         " type: truncate can only be used with string inputs"),
        ("v: $[[ inputs.name | posix_escape | posix_escape | posix_escape | posix_escape ]]\n",
         "too many functions in interpolation block"),
        ("v: $[[ inputs.csv | split('') ]]\n",
         "error in `split` function: invalid argument: separator cannot be empty"),
    ],
)
def test_errors_name_line_and_key(body: str, message: str) -> None:
    found = error("a: 1\nb:\n  - " + body.replace("v: ", "", 1))
    assert found.message == message
    assert (found.pos.line, found.key) == (3, "b[0]")


def test_matrix_blocks_and_references_are_left_alone() -> None:
    """Block::SKIP_INTERPOLATION_CONTEXTS; Config#recursive_replace skips tagged objects."""
    body = "v: a-$[[ matrix.X ]]-$[[ inputs.n ]]\nr: !reference [.x, '$[[ inputs.n ]]']\n"
    out = run(body)
    assert isinstance(out, dict) and out["v"] == "a-$[[ matrix.X ]]-3"
    tree = load_text(body, "t.yml").root
    entry = interpolate(tree, INPUTS, Variables(dict)).get("r")
    assert entry is not None and entry.value.tag == "!reference"


def test_one_character_data_and_non_strings_are_not_blocks() -> None:
    """BLOCK_REGEXP needs two characters of data; only strings are looked at."""
    assert run("v: $[[ x ]]\nn: 3\n") == {"v": "$[[ x ]]", "n": 3}


def test_same_block_twice_in_a_string() -> None:
    assert run('v: "$[[ inputs.n ]]$[[ inputs.n ]]"\n') == {"v": "33"}


def test_whole_value_node_types() -> None:
    tree = load_text("v: $[[ inputs.n ]]\n", "t.yml").root
    entry = interpolate(tree, INPUTS, Variables(dict)).get("v")
    assert entry is not None
    node = entry.value
    assert isinstance(node, yamlsrc.Scalar) and node.value == 3 and node.text == "3"
    assert node.pos.line == 1
