"""``spec:inputs`` headers, include ``inputs:`` and ``--input``, read as GitLab reads them.

Expected results come from GitLab's lib/gitlab/ci/config/interpolation/inputs.rb and
inputs/{base,string,number,boolean,array}_input.rb (checks and their messages),
interpolator.rb ("unknown input arguments" without a header), the header entries
lib/gitlab/ci/config/header/{root,spec,input}.rb, and the documented examples of
docs.gitlab.com/ci/inputs.
"""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from runner.errors import PipelineError
from runner.pipeline.gitlab.compose import Composed, compose
from runner.pipeline.gitlab.preview import to_python

MAIN = ".gitlab-ci.yml"


def write(root: Path, files: dict[str, str]) -> None:
    for name, text in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text))


def composed(root: Path, files: dict[str, str], **cli: str) -> Composed:
    write(root, files)
    if not cli:
        return compose(root / MAIN, root)
    from runner.pipeline.gitlab.inputs import given_from_cli  # noqa: PLC0415 - new in issue 16

    return compose(root / MAIN, root, given=given_from_cli(cli))


def jobs(result: Composed) -> dict[str, object]:
    return {name: to_python(job) for name, job in result.jobs}


def failure(root: Path, files: dict[str, str], **cli: str) -> PipelineError:
    with pytest.raises(PipelineError) as info:
        composed(root, files, **cli)
    return info.value


def including(inputs: str, header: str, body: str = "job:\n  script: [\"echo $[[ inputs.x ]]\"]\n"
              ) -> dict[str, str]:
    """A main file including ci/t.yml with ``inputs`` (flow YAML), and that file."""
    return {
        MAIN: f"include:\n  - local: ci/t.yml\n    inputs: {inputs}\n",
        "ci/t.yml": "spec:\n  inputs:\n" + textwrap.indent(textwrap.dedent(header), "    ")
        + "---\n" + body,
    }


def script_of(result: Composed, job: str = "job") -> object:
    found = jobs(result)[job]
    assert isinstance(found, dict)
    return found["script"]


# -- types and defaults ------------------------------------------------------------


def test_string_input_given_by_an_include_is_interpolated(tmp_path: Path) -> None:
    """An input without ``type`` is a string (StringInput.matches? accepts a nil spec)."""
    result = composed(tmp_path, including("{x: hello}", "x:\n"))
    assert script_of(result) == ["echo hello"]


def test_default_is_used_when_no_value_is_given(tmp_path: Path) -> None:
    """BaseInput#actual_value: the default when the value is nil."""
    files = including("{}", "x:\n  default: fallback\n")
    assert script_of(composed(tmp_path, files)) == ["echo fallback"]


def test_number_boolean_and_array_whole_values_keep_their_type(tmp_path: Path) -> None:
    """Template#get_interpolated_node_content!: a node that is exactly one block becomes the
    value itself, so an array stays a list and a number a number."""
    files = including(
        "{n: 3, b: false, a: [x, y]}",
        "n: {type: number}\nb: {type: boolean}\na: {type: array}\n",
        "job:\n  script: $[[ inputs.a ]]\n  parallel: $[[ inputs.n ]]\n"
        "  allow_failure: $[[ inputs.b ]]\n",
    )
    assert jobs(composed(tmp_path, files))["job"] == {
        "script": ["x", "y"], "parallel": 3, "allow_failure": False,
    }


def test_values_inside_strings_read_as_ruby_to_s(tmp_path: Path) -> None:
    """interpolate_string_node!: ``block.value.to_s``; an Array's to_s is its inspect."""
    files = including(
        "{n: 1.5, b: true, a: [x, 2]}",
        "n: {type: number}\nb: {type: boolean}\na: {type: array}\n",
        'job:\n  script: ["n=$[[ inputs.n ]] b=$[[ inputs.b ]] a=$[[ inputs.a ]]"]\n',
    )
    assert script_of(composed(tmp_path, files)) == ['n=1.5 b=true a=["x", 2]']


def test_keys_are_interpolated_and_keep_their_line(tmp_path: Path) -> None:
    """Config#recursive_replace replaces keys as well as values."""
    files = including("{x: api}", "x:\n", "test-$[[ inputs.x ]]:\n  script: [run]\n")
    result = composed(tmp_path, files)
    assert [name for name, _ in result.jobs] == ["test-api"]


def test_a_file_without_header_keeps_blocks_as_text(tmp_path: Path) -> None:
    """Interpolator#interpolate!: no header, the content is returned as it is."""
    write(tmp_path, {MAIN: 'job:\n  script: ["echo $[[ inputs.x ]]"]\n'})
    assert script_of(compose(tmp_path / MAIN, tmp_path)) == ["echo $[[ inputs.x ]]"]


# -- errors, each with file:line and key -------------------------------------------------


def test_required_input_not_given_names_the_include(tmp_path: Path) -> None:
    """BaseInput#validate_required: 'required value has not been provided'."""
    error = failure(tmp_path, including("{}", "x:\n"))
    assert (error.spot.file, error.spot.line, error.spot.key) == (
        str(tmp_path / MAIN), 3, "include[0].inputs")
    assert "`x` input: required value has not been provided" in error.message


def test_unknown_input_is_an_error_at_its_key(tmp_path: Path) -> None:
    """Inputs#validate!: 'unknown input arguments'."""
    error = failure(tmp_path, including("{x: a, y: b}", "x:\n"))
    assert (error.spot.line, error.spot.key) == (3, "include[0].inputs.y")
    assert "unknown input 'y'" in error.message
    assert "unknown input arguments" in error.message


def test_inputs_to_a_file_without_header_are_an_error(tmp_path: Path) -> None:
    """Interpolator#inputs_without_header?: 'unknown input arguments'."""
    error = failure(tmp_path, {
        MAIN: "include:\n  - local: ci/t.yml\n    inputs: {x: 1}\n",
        "ci/t.yml": "job:\n  script: [x]\n",
    })
    assert (error.spot.line, error.spot.key) == (3, "include[0].inputs")
    assert "no 'spec:inputs' header" in error.message


@pytest.mark.parametrize(
    ("given", "header", "message"),
    [
        ("{x: 1}", "x:\n", "`x` input: provided value is not a string"),
        ("{x: '1'}", "x: {type: number}\n", "`x` input: provided value is not a number"),
        ("{x: 'true'}", "x: {type: boolean}\n", "`x` input: provided value is not a boolean"),
        ("{x: a}", "x: {type: array}\n", "`x` input: provided value is not an array"),
        ("{x: c}", "x: {options: [a, b]}\n",
         "`x` input: `c` cannot be used because it is not in the list of allowed options"),
        ("{x: 3}", "x: {type: number, options: [1, 2]}\n",
         "`x` input: `3` cannot be used because it is not in the list of allowed options"),
        ("{x: v1.x}", "x: {regex: '^v\\d+\\.\\d+$'}\n",
         "`x` input: provided value does not match required RegEx pattern"),
        ("{x: true}", "x: {type: boolean, options: [true]}\n",
         "`x` input: Options can only be used with string and number inputs"),
        ("{x: 1}", "x: {type: number, regex: '1'}\n",
         "`x` input: RegEx validation can only be used with string inputs"),
    ],
)
def test_wrong_values_are_errors_at_the_value(
    tmp_path: Path, given: str, header: str, message: str
) -> None:
    """StringInput/NumberInput/BooleanInput/ArrayInput#validate_type, validate_options,
    validate_regex, with GitLab's messages, at the given value's line and key."""
    error = failure(tmp_path, including(given, header))
    assert (error.spot.file, error.spot.line, error.spot.key) == (
        str(tmp_path / MAIN), 3, "include[0].inputs.x")
    assert message in error.message


def test_regex_is_unanchored_re2_and_a_match_passes(tmp_path: Path) -> None:
    """UntrustedRegexp#match? searches: 'v1' anywhere matches ``v\\d``."""
    files = including("{x: release-v1}", "x: {regex: 'v\\d'}\n")
    assert script_of(composed(tmp_path, files)) == ["echo release-v1"]


def test_a_bad_default_is_an_error_at_the_default(tmp_path: Path) -> None:
    """BaseInput#validate!: defaults are checked too ('default value is not a number')."""
    error = failure(tmp_path, including("{}", "x:\n  type: number\n  default: two\n"))
    assert (error.spot.file, error.spot.line, error.spot.key) == (
        str(tmp_path / "ci/t.yml"), 5, "spec.inputs.x.default")
    assert "`x` input: default value is not a number" in error.message


def test_unknown_type_and_unknown_key_in_a_declaration(tmp_path: Path) -> None:
    """Header input entry: type among array, boolean, number, string; allowed keys only."""
    error = failure(tmp_path, including("{x: a}", "x: {type: text}\n"))
    assert (error.spot.file, error.spot.line, error.spot.key) == (
        str(tmp_path / "ci/t.yml"), 3, "spec.inputs.x.type")
    assert "valid types: array, boolean, number, string" in error.message
    error = failure(tmp_path, including("{x: a}", "x: {defualt: a}\n"))
    assert error.spot.key == "spec.inputs.x.defualt"
    assert "did you mean 'default'?" in error.message


def test_several_problems_come_together(tmp_path: Path) -> None:
    """GitLab lists every input's errors; so do we, each at its own spot."""
    error = failure(tmp_path, including("{x: 1, z: 2}", "x:\ny:\n"))
    text = str(error)
    assert "3 problems" in text
    assert "include[0].inputs.z" in text and "include[0].inputs.x" in text
    assert "`y` input: required value has not been provided" in text


# -- documents ------------------------------------------------------------------------------


def test_header_with_leading_divider_and_body(tmp_path: Path) -> None:
    """MultiDocYaml: a leading '---' does not count; blank documents are dropped."""
    write(tmp_path, {MAIN: "---\nspec:\n  inputs:\n    x: {default: a}\n---\n\n"
                           "job:\n  script: [\"$[[ inputs.x ]]\"]\n"})
    result = compose(tmp_path / MAIN, tmp_path)
    assert script_of(result) == ["a"]
    assert result.jobs[0][1].pos.line == 8  # its first key, on the file's line 8


def test_a_header_alone_is_an_error_naming_spec(tmp_path: Path) -> None:
    """A blank body is dropped, so the header is read as the pipeline; 'spec' is no job."""
    error = failure(tmp_path, {MAIN: "spec:\n  inputs:\n    x:\n---\n"})
    assert (error.spot.line, error.spot.key) == (1, "spec")
    assert "header document of its own" in error.message


def test_a_first_document_that_is_not_a_header_is_an_error(tmp_path: Path) -> None:
    """Header::Root allows only 'spec' in the first of two documents."""
    error = failure(tmp_path, {MAIN: "a:\n  script: [x]\n---\nb:\n  script: [y]\n"})
    assert (error.spot.line, error.spot.key) == (1, "a")
    assert "only 'spec'" in error.message


def test_more_documents_use_the_last_piece_and_say_so(tmp_path: Path) -> None:
    """Split into at most three pieces; the header is the first, the body the first document
    of the last piece (Psych reads one document), so GitLab skips the middle one."""
    write(tmp_path, {MAIN: "spec:\n  inputs:\n    x: {default: a}\n---\nskipped:\n  script: [s]\n"
                           "---\nused:\n  script: [\"$[[ inputs.x ]]\"]\n"
                           "---\nalso:\n  script: [z]\n"})
    result = compose(tmp_path / MAIN, tmp_path)
    assert [name for name, _ in result.jobs] == ["used"]
    assert any("starting on line 5, 11 are not read" in note for note in result.notes)


# -- the main file: --input ---------------------------------------------------------------


MAIN_HEADER = """\
spec:
  inputs:
    count: {type: number, default: 1}
    on: {type: boolean, default: false}
    list: {type: array, default: []}
    name: {default: none}
---
job:
  script: ["$[[ inputs.name ]] $[[ inputs.count ]] $[[ inputs.on ]] $[[ inputs.list ]]"]
"""


def test_cli_inputs_are_typed_by_the_declaration(tmp_path: Path) -> None:
    """Pipeline inputs arrive as text and are typed by their declared type."""
    result = composed(tmp_path, {MAIN: MAIN_HEADER}, count="5", on="true", list="[a, 1]",
                      name="n")
    assert script_of(result) == ['n 5 true ["a", 1]']
    assert script_of(composed(tmp_path, {MAIN: MAIN_HEADER})) == ["none 1 false []"]


def test_cli_input_of_the_wrong_type_names_the_declaration(tmp_path: Path) -> None:
    error = failure(tmp_path, {MAIN: MAIN_HEADER}, count="many")
    assert (error.spot.line, error.spot.key) == (3, "spec.inputs.count")
    assert "--input count: `count` input: provided value is not a number" in error.message


def test_unknown_cli_input(tmp_path: Path) -> None:
    error = failure(tmp_path, {MAIN: MAIN_HEADER}, cuont="1")
    assert "unknown --input cuont" in error.message and "did you mean 'count'?" in error.message
    error = failure(tmp_path, {MAIN: "job:\n  script: [x]\n"}, x="1")
    assert "no 'spec:inputs' header" in error.message
