"""Tests of runner.pipeline.github.matrix: GitHub's matrix expansion and display names."""

from __future__ import annotations

import pytest

from runner.errors import PipelineError
from runner.pipeline.github.matrix import display_name, expand, loose_equal
from runner.pipeline.github.reading import WorkflowReader
from runner.pipeline.github.stepspec import Json
from runner.pipeline.yamlsrc import Pos, load_text


def _reader() -> WorkflowReader:
    return WorkflowReader(load_text("a: 1\n", "ci.yml"))


def _expand(raw: dict[str, Json]) -> list[tuple[dict[str, Json], tuple[str, ...]]]:
    reader = _reader()
    found = expand(reader, raw, Pos(1, 1), "jobs.t.strategy.matrix")
    if reader.problems:
        raise reader.problems[0]
    return [(i.matrix, i.segments) for i in found]


def test_product_in_key_order_first_key_slowest() -> None:
    assert [m for m, _ in _expand({"os": ["a", "b"], "v": [1.0, 2.0]})] == [
        {"os": "a", "v": 1.0}, {"os": "a", "v": 2.0}, {"os": "b", "v": 1.0},
        {"os": "b", "v": 2.0}]


def test_exclude_is_a_partial_match() -> None:
    """GitHub docs: an exclude entry names some keys; every combination matching them goes."""
    got = _expand({"os": ["macos", "windows"], "version": [12.0, 14.0, 16.0],
                   "environment": ["staging", "production"],
                   "exclude": [{"os": "macos", "version": 12.0, "environment": "production"},
                               {"os": "windows", "version": 16.0}]})
    assert len(got) == 12 - 1 - 2
    assert {"os": "windows", "version": 16.0, "environment": "staging"} not in [m for m, _ in got]


def test_include_docs_example_fruit_and_animal() -> None:
    """The example of GitHub's docs "Expanding or adding matrix configurations", exactly."""
    got = [m for m, _ in _expand({
        "fruit": ["apple", "pear"], "animal": ["cat", "dog"],
        "include": [{"color": "green"}, {"color": "pink", "animal": "cat"},
                    {"fruit": "apple", "shape": "circle"}, {"fruit": "banana"},
                    {"fruit": "banana", "animal": "cat"}]})]
    assert got == [
        {"fruit": "apple", "animal": "cat", "color": "pink", "shape": "circle"},
        {"fruit": "apple", "animal": "dog", "color": "green", "shape": "circle"},
        {"fruit": "pear", "animal": "cat", "color": "pink"},
        {"fruit": "pear", "animal": "dog", "color": "green"},
        {"fruit": "banana"},
        {"fruit": "banana", "animal": "cat"},
    ]


def test_include_never_overwrites_a_vector_value() -> None:
    """``os`` is a vector: an include naming another os is a new combination, not an edit."""
    got = [m for m, _ in _expand({"os": ["linux"], "include": [{"os": "mac", "x": "1"}]})]
    assert got == [{"os": "linux"}, {"os": "mac", "x": "1"}]


def test_include_only_matrix() -> None:
    got = _expand({"include": [{"site": "prod", "dc": "a"}, {"site": "dev", "dc": "b"}]})
    assert got == [({"site": "prod", "dc": "a"}, ("prod", "a")),
                   ({"site": "dev", "dc": "b"}, ("dev", "b"))]


def test_filters_compare_loosely_strings_ignore_case() -> None:
    got = [m for m, _ in _expand({"os": ["Linux", "mac"], "exclude": [{"os": "linux"}]})]
    assert got == [{"os": "mac"}]
    assert loose_equal(3.0, "3") and loose_equal(True, 1.0) and not loose_equal("a", "b")


def test_segments_leave_out_extras_and_show_numbers_as_github() -> None:
    """``3.10`` is the number 3.1 in YAML 1.2; extras from include are not in the name."""
    got = _expand({"python": [3.1, 3.11], "os": [{"name": "ubuntu", "v": 22.0}],
                   "include": [{"python": 3.1, "extra": "x"}]})
    assert [s for _, s in got] == [("3.1", "ubuntu", "22"), ("3.11", "ubuntu", "22")]
    assert display_name("test", got[0][1]) == "test (3.1, ubuntu, 22)"


def test_display_name_is_cut_at_100_characters() -> None:
    name = display_name("job", ("x" * 200,))
    assert len(name) == 100 and name.endswith("...")


@pytest.mark.parametrize(("raw", "message"), [
    ({"os": []}, "matrix vector 'os' has no values"),
    ({}, "the matrix defines no vector"),
    ({"a": list(range(17)), "b": list(range(16))}, "GitHub allows at most 256"),
    ({"os": ["a"], "exclude": [{"arch": "x"}]}, "exclude key 'arch' does not match any key"),
    ({"os": ["a"], "exclude": [{"os": "a"}]}, "every combination is excluded"),
    ({"os": "a"}, "must be a list"),
])
def test_bad_matrices_are_problems(raw: dict[str, Json], message: str) -> None:
    reader = _reader()
    converted = {k: ([float(i) for i in v] if isinstance(v, list) and v and isinstance(v[0], int)
                     else v) for k, v in raw.items()}
    assert expand(reader, converted, Pos(3, 7), "m") == ()
    assert reader.problems, raw
    assert message in reader.problems[0].message
    assert isinstance(reader.problems[0], PipelineError)
    assert str(reader.problems[0].spot) == "ci.yml:3:7 (key 'm')" or "m." in str(
        reader.problems[0].spot)

