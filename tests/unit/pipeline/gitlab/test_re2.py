"""Tests of runner.pipeline.gitlab.re2: RE2 syntax in `=~` regexes matches as GitLab's RE2 would."""

from __future__ import annotations

import pytest

from runner.pipeline.gitlab.expressions import evaluate


@pytest.mark.parametrize(
    ("pattern", "text", "expected"),
    [
        (r"/a(?i)b|c/", "C", True),
        (r"/a(?i)b|c/", "aB", True),
        (r"/a(?i)b|c/", "Ab", False),
        (r"/(x(?i)y|z)w/", "Zw", True),
        (r"/(?i:a)b/", "Ab", True),
        (r"/(?i:a)b/", "AB", False),
        (r"/(?<num>\d+)\.x/", "12.x", True),
        (r"/\Qa.b\E/", "axb", False),
        (r"/\Qa.b\E/", "a.b", True),
        (r"/\x{41}\x42\103/", "ABC", True),
        (r"/^[[:alpha:]_]+$/", "ab_c", True),
        (r"/^[[:alpha:]_]+$/", "ab1", False),
        (r"/a{,2}/", "a{,2}", True),
        (r"/^a{2}$/", "aa", True),
        (r"/\d/", "\u0663", False),
        (r"/[&~|]{2}/", "&~", True),
        (r"/a\z/", "a\n", False),
        (r"/^\w+$/", "\u00e9t\u00e9", False),
    ],
)
def test_re2_patterns(pattern: str, text: str, expected: bool) -> None:
    """RE2 syntax that Python spells differently matches as RE2 would."""
    assert evaluate(f"$T =~ {pattern}", {"T": text}) is expected
