"""Tests of runner.pipeline.gitlab.expand: GitLab's and its runner's variable expansion."""

from __future__ import annotations

import pytest

from runner.pipeline.gitlab.expand import CircularReferenceError, Missing, expand, expand_all


@pytest.mark.parametrize(
    ("text", "variables", "expected"),
    [
        ("$A", {"A": "1"}, "1"),
        ("${A}", {"A": "1"}, "1"),
        ("x${A}y", {"A": "1"}, "x1y"),
        ("$A-$B", {"A": "1", "B": "2"}, "1-2"),
        ("$AB", {"A": "1"}, ""),
        ("${A}B", {"A": "1"}, "1B"),
        ("$U", {}, ""),
        ("a$$b", {}, "a$b"),
        ("$$A", {"A": "1"}, "$A"),
        ("%A%", {"A": "1"}, "%A%"),
        ("cost $5", {}, "cost "),
        ("[$*$#$?$@$!]", {}, "[]"),
        ("${}x", {}, "x"),
        ("a${b", {"b": "1"}, "ab"),
        ("a$", {}, "a$"),
        ("a$/b $ c", {}, "a$/b $ c"),
        ("${A B}", {"A B": "x"}, "x"),
        ("$A", {"A": "$B", "B": "2"}, "$B"),
        ("no references", {}, "no references"),
    ],
)
def test_expand_like_the_runner(text: str, variables: dict[str, str], expected: str) -> None:
    """The default is gitlab-runner's os.Expand, edge cases included."""
    assert expand(text, variables) == expected


def test_expand_like_the_runner_keeping_missing() -> None:
    """With missing="keep" only references to unknown names survive the runner's rules."""
    assert expand("$U-${U}-$A-$1-$$", {"A": "1"}, missing="keep") == "$U-${U}-1--$"


@pytest.mark.parametrize(
    ("text", "variables", "missing", "expected"),
    [
        ("$A ${A} %A%", {"A": "1"}, "empty", "1 1 1"),
        ("$U|${U}|%U%", {}, "empty", "||"),
        ("$U|${U}|%U%", {}, "keep", "$U|${U}|%U%"),
        ("$$A", {"A": "1"}, "empty", "$$A"),
        ("%%A%", {"A": "1"}, "empty", "%%A%"),
        ("${}", {}, "empty", "${}"),
        ("$1 $* ${A B}", {"A B": "x"}, "empty", "$1 $* ${A B}"),
        (
            "review/$CI_COMMIT_REF_NAME",
            {"CI_COMMIT_REF_NAME": "feature/x"},
            "empty",
            "review/feature/x",
        ),
        ("key%variable%%variable2%", {"variable": "value"}, "empty", "keyvalue"),
        ("key%variable%%variable2%", {"variable": "value"}, "keep", "keyvalue%variable2%"),
        ("key${variable}${variable2}", {"variable": "value"}, "keep", "keyvalue${variable2}"),
        ("$A", {"A": "$B", "B": "2"}, "empty", "$B"),
    ],
)
def test_expand_like_gitlab(
    text: str, variables: dict[str, str], missing: Missing, expected: str
) -> None:
    """server=True is GitLab's own mechanism: %NAME% too, escapes passed on to the runner."""
    assert expand(text, variables, missing=missing, server=True) == expected


@pytest.mark.parametrize(
    ("entries", "expected"),
    [
        # the docs' nested expansion example
        (
            [
                ("CI_BUILDS_DIR", "/output", True),
                ("BUILD_ROOT_DIR", "${CI_BUILDS_DIR}", True),
                ("OUT_PATH", "${BUILD_ROOT_DIR}/out", True),
                ("PACKAGE_PATH", "${OUT_PATH}/pkg", True),
            ],
            {
                "CI_BUILDS_DIR": "/output",
                "BUILD_ROOT_DIR": "/output",
                "OUT_PATH": "/output/out",
                "PACKAGE_PATH": "/output/out/pkg",
            },
        ),
        # GitLab's spec: chains and references to variables defined later
        (
            [
                ("variable", "value", True),
                ("variable2", "result", True),
                ("variable3", "key$variable$variable2", True),
                ("variable4", "key$variable$variable3", True),
            ],
            {
                "variable": "value",
                "variable2": "result",
                "variable3": "keyvalueresult",
                "variable4": "keyvaluekeyvalueresult",
            },
        ),
        (
            [("A", "$B", True), ("B", "$C", True), ("C", "c", True)],
            {"A": "c", "B": "c", "C": "c"},
        ),
        # GitLab's spec: a raw variable's value is inserted untouched, and itself unexpanded
        (
            [
                ("variable3", "key_${variable}_${variable2}", True),
                ("variable", "$variable2", False),
                ("variable2", "value2", True),
            ],
            {"variable3": "key_$variable2_value2", "variable": "$variable2", "variable2": "value2"},
        ),
        ([("R", "a$$b", False)], {"R": "a$$b"}),
        ([("R", "$$x", False), ("A", "<$R>", True)], {"R": "$$x", "A": "<$$x>"}),
        ([("A", "$B", True), ("B", "$A", False)], {"A": "$A", "B": "$A"}),
        # undefined references end up empty, $$ ends up $, %NAME% is GitLab's too
        ([("A", "x$U${U}", True)], {"A": "x"}),
        ([("A", "x%U%", True)], {"A": "x%U%"}),
        ([("P", "pa$$word", True), ("Q", "$P!", True)], {"P": "pa$word", "Q": "pa$word!"}),
        ([("B", "b", True), ("A", "%B%", True)], {"A": "b", "B": "b"}),
        # later definitions win; a self-reference reads the earlier one
        ([("A", "1", True), ("A", "2", True)], {"A": "2"}),
        ([("P", "/bin", True), ("P", "$P:/x", True)], {"P": "/bin:/x"}),
        # ...and with none, GitLab keeps "$A" and the runner fills in the value once
        ([("A", "x$A", True)], {"A": "xx$A"}),
        # GitLab's topological order puts a definition after those of the names it uses,
        # so this overridden one ends up last and wins, as it does on GitLab
        ([("A", "$A-x", True), ("A", "2", True)], {"A": "2-x"}),
        ([], {}),
    ],
)
def test_expand_all(entries: list[tuple[str, str, bool]], expected: dict[str, str]) -> None:
    """Job variables come out as the job's environment would hold them on GitLab."""
    assert expand_all(entries) == expected


@pytest.mark.parametrize(
    ("entries", "cycles"),
    [
        (
            [
                ("variable", "$variable2", True),
                ("variable2", "$variable3", True),
                ("variable3", "key$variable$variable2", True),
            ],
            (("variable", "variable2", "variable3"),),
        ),
        ([("A", "$B", True), ("B", "${A}", True)], (("A", "B"),)),
        ([("A", "%B%", True), ("B", "$A", True), ("C", "c", True)], (("A", "B"),)),
        ([("A", "$B", True), ("B", "$A", True), ("A", "1", True)], (("A", "B"),)),
        (
            [("A", "$B", True), ("B", "$A", True), ("C", "$D", True), ("D", "$C", True)],
            (("A", "B"), ("C", "D")),
        ),
    ],
)
def test_expand_all_cycles(
    entries: list[tuple[str, str, bool]], cycles: tuple[tuple[str, ...], ...]
) -> None:
    """Reference loops raise, naming every loop, as GitLab refuses such a pipeline."""
    with pytest.raises(CircularReferenceError) as caught:
        expand_all(entries)
    assert sorted(caught.value.cycles) == sorted(cycles)
    assert isinstance(caught.value, ValueError)


def test_cycle_message() -> None:
    """The message reads like GitLab's pipeline error."""
    with pytest.raises(CircularReferenceError) as caught:
        expand_all([("A", "$B", True), ("B", "$A", True)])
    assert str(caught.value) == 'circular variable reference detected: ["A", "B"]'


def test_long_chain_needs_no_recursion() -> None:
    """A chain far deeper than Python's recursion limit expands without overflowing."""
    depth = 5000
    entries = [(f"V{i}", f"$V{i + 1}", True) for i in range(depth)] + [(f"V{depth}", "end", True)]
    result = expand_all(entries)
    assert result["V0"] == "end"
    assert len(result) == depth + 1
