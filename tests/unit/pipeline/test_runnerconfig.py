"""The user's runner config file: the default image and pull policy, mistakes with file:line."""

from __future__ import annotations

from pathlib import Path

import pytest

from runner.errors import PipelineError
from runner.pipeline.runnerconfig import RunnerConfig, config_path, load_runner_config


def _load(tmp_path: Path, text: str) -> RunnerConfig:
    path = tmp_path / "config.yml"
    path.write_text(text)
    return load_runner_config(path)


def test_the_file_lives_under_xdg_config_home(tmp_path: Path) -> None:
    assert config_path({"XDG_CONFIG_HOME": "/x"}, tmp_path) == Path("/x/runner/config.yml")
    assert config_path({}, tmp_path) == tmp_path / ".config/runner/config.yml"


def test_absent_or_blank_files_set_nothing(tmp_path: Path) -> None:
    assert load_runner_config(tmp_path / "none.yml") == RunnerConfig(tmp_path / "none.yml")
    assert _load(tmp_path, "\n# nothing\n") == RunnerConfig(tmp_path / "config.yml")


def test_image_and_pull_policy(tmp_path: Path) -> None:
    got = _load(tmp_path, "image: alpine:3.19\npull_policy: [always, if-not-present]\n")
    assert (got.image, got.pull_policy) == ("alpine:3.19", ("always", "if-not-present"))
    assert _load(tmp_path, "pull_policy: never\n").pull_policy == ("never",)


@pytest.mark.parametrize(("text", "line", "key", "says"), [
    ("image: 'Not An Image'\n", 1, "image", "is not an image reference"),
    ("pull_policy: [always, sometimes]\n", 1, "pull_policy[1]", "cannot be 'sometimes'"),
    ("image: a\npull_policy: []\n", 2, "pull_policy", "empty list"),
    ("image: a\nimgae: b\n", 2, "imgae", "unknown key 'imgae'"),
])
def test_mistakes_name_file_line_and_key(tmp_path: Path, text: str, line: int, key: str,
                                         says: str) -> None:
    with pytest.raises(PipelineError) as caught:
        _load(tmp_path, text)
    assert (caught.value.spot.file, caught.value.spot.line) == (str(tmp_path / "config.yml"),
                                                                line)
    assert caught.value.spot.key == key
    assert says in caught.value.message
