"""No value of the wrong type anywhere in a job gives a traceback: only a clear error or a run.

For real-world fixtures, every key of every job (and of the top level) gets
each of a few wrongly typed values in turn; compose and translate must
either accept the result or raise a RunnerError, never anything else.
"""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import pytest
import yaml

from runner.errors import RunnerError
from runner.pipeline.gitlab.compose import compose
from runner.pipeline.gitlab.translate import Options, translate
from tests.unit.pipeline.gitlab.test_fixtures import FIXTURES, MAIN

ODD: list[Any] = [None, ["a", ["b"]], {"x": {"y": 1}}, 7, "/(/"]
CASES = ["17-rules-if-expressions", "22-parallel-matrix-naming", "23-artifacts-cache-options",
         "24-retry-timeout-allow-failure", "25-variables-forms-predefined"]


def _variants(doc: dict[str, Any]) -> list[tuple[str, dict[str, Any]]]:
    out: list[tuple[str, dict[str, Any]]] = []
    for top, value in doc.items():
        if isinstance(value, dict):
            for key in value:
                for odd in ODD:
                    copy = yaml.safe_load(yaml.safe_dump(doc))
                    copy[top][key] = odd
                    out.append((f"{top}.{key}={odd!r}", copy))
        for odd in ODD[:3]:
            copy = yaml.safe_load(yaml.safe_dump(doc))
            copy[top] = odd
            out.append((f"{top}={odd!r}", copy))
    return out


@pytest.mark.parametrize("name", CASES)
def test_wrong_types_never_escape_as_tracebacks(name: str, tmp_path: Path) -> None:
    """Each mutated file is accepted or refused with a RunnerError; nothing else escapes."""
    root = tmp_path / name
    shutil.copytree(FIXTURES / name, root)
    path = root / ".gitlab-ci.yml"
    doc = yaml.safe_load(path.read_text())
    escaped: list[str] = []
    for label, variant in _variants(doc):
        path.write_text(yaml.safe_dump(variant, sort_keys=False))
        try:
            translate(compose(path, root), root, Options(git=MAIN))
        except RunnerError:
            pass
        except Exception as exc:  # collecting what escaped is the point
            escaped.append(f"{label}: {type(exc).__name__}: {exc}")
    assert escaped == []
