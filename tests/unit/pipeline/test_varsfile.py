"""The variables file: plain values and GitLab's masked/file/protected flags."""

from __future__ import annotations

from pathlib import Path

import pytest

from runner.errors import PipelineError
from runner.pipeline.varsfile import FileVariable, load_variables_file


def _load(tmp_path: Path, text: str) -> tuple[FileVariable, ...]:
    path = tmp_path / "vars.yml"
    path.write_text(text)
    return load_variables_file(path)


def test_plain_and_flagged_variables(tmp_path: Path) -> None:
    """Plain values keep their spelling; flags are read per variable."""
    got = _load(tmp_path, "A: text\nN: 010\nT:\n  value: s3cret-token\n  masked: true\n"
                "K: {value: 'line', file: true, protected: true}\n")
    assert got == (
        FileVariable("A", "text"),
        FileVariable("N", "010"),
        FileVariable("T", "s3cret-token", masked=True),
        FileVariable("K", "line", as_file=True, protected=True),
    )


@pytest.mark.parametrize(("text", "where", "message"), [
    ("1A: x\n", "1:1 (key '1A')", "'1A' is not a valid variable name"),
    ("A: {masked: true}\n", "1:4 (key 'A')", "variable 'A' needs a 'value'"),
    ("A: {value: x, maskd: true}\n", "1:15 (key 'A.maskd')",
     "unknown key 'maskd' of variable 'A'; did you mean 'masked'?"),
    ("A: [x]\n", "1:4 (key 'A')",
     "the value of 'A' must be a string, number or boolean, got a list"),
    ("A: {value: x, masked: 'yes'}\n", "1:23 (key 'A.masked')",
     "'masked' of variable 'A' must be a boolean (true or false), got a string"),
])
def test_mistakes_name_file_line_and_key(
    tmp_path: Path, text: str, where: str, message: str
) -> None:
    """Each mistake is one error at its spot, naming the key."""
    with pytest.raises(PipelineError) as info:
        _load(tmp_path, text)
    assert str(info.value).startswith(f"{tmp_path / 'vars.yml'}:{where}: {message}")
