"""The user's runner settings file: what gitlab-runner keeps in ``[runners.docker]``.

``$XDG_CONFIG_HOME/runner/config.yml`` (``~/.config/runner/config.yml``)::

    image: docker.io/library/alpine:3.19   # jobs of a GitLab file that name no image
    pull_policy: [always, if-not-present]  # images that name no pull_policy
    platforms:                             # GitHub workflows: runs-on label -> image
      ubuntu-latest: localhost/runner-ci:bookworm

Both are the executor's, not a project's: a project names its own image
with ``default: image:`` in its file, so no project directory is read here
(a checkout could otherwise choose the image other jobs of the user run).
Mistakes are errors naming the file, line and key.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from runner.engine.imageref import why_not
from runner.errors import UserInputError
from runner.pipeline import yamlsrc
from runner.pipeline.fields import FieldReader
from runner.pipeline.model import PULL_POLICIES
from runner.pipeline.yamlsrc import Scalar, Seq

KEYS = ("image", "pull_policy", "platforms")


@dataclass(frozen=True)
class RunnerConfig:
    """The settings the file gives (nothing when there is no file)."""

    path: Path
    image: str | None = None
    pull_policy: tuple[str, ...] = ()
    platforms: tuple[tuple[str, str], ...] = ()
    """A GitHub workflow's ``runs-on`` labels and the images their jobs run in."""


def config_path(environ: Mapping[str, str], home: Path) -> Path:
    """Where the user's file is, whether or not it exists."""
    return Path(environ.get("XDG_CONFIG_HOME") or home / ".config") / "runner" / "config.yml"


def load_runner_config(path: Path) -> RunnerConfig:
    """The settings of ``path``; an absent or blank file gives none."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return RunnerConfig(path)
    except (OSError, UnicodeDecodeError) as exc:
        raise UserInputError(f"runner config {path} cannot be read: {exc}") from exc
    if all(not line.strip() or line.lstrip().startswith("#") for line in text.splitlines()):
        return RunnerConfig(path)  # nothing set yet: not an error
    source = yamlsrc.load_file(path)
    reader = FieldReader(source)
    reader.check_keys(source.root, KEYS, "", f"in {path}")
    image = None
    if (got := reader.child(source.root, "image", "", "the runner config")) is not None:
        image = reader.nonempty_str(*got)
        if (problem := why_not(image)) is not None:
            raise reader.fail(got[0].pos, got[1], f"'image': {problem}")
    policy: tuple[str, ...] = ()
    if (got := reader.child(source.root, "pull_policy", "", "the runner config")) is not None:
        node, key, what = got
        items = node.items if isinstance(node, Seq) else (node,)
        words = []
        for index, item in enumerate(items):
            at = yamlsrc.join_index(key, index) if isinstance(node, Seq) else key
            word = reader.expect_str(item, at, what)
            if word not in PULL_POLICIES or not isinstance(item, Scalar):
                raise reader.fail(item.pos, at, f"{what} cannot be '{word}'; use "
                                  + ", ".join(PULL_POLICIES) + " (or a list of them)")
            words.append(word)
        if not words:
            raise reader.fail(node.pos, key, f"{what} is an empty list; name at least one policy")
        policy = tuple(dict.fromkeys(words))
    return RunnerConfig(path, image, policy, _platforms(reader, source))


def _platforms(reader: FieldReader, source: yamlsrc.Source) -> tuple[tuple[str, str], ...]:
    """``platforms:``: label -> image, each image a valid reference."""
    got = reader.child(source.root, "platforms", "", "the runner config")
    if got is None:
        return ()
    node, key, what = got
    mapping = reader.expect_map(node, key, what)
    pairs = []
    for entry in mapping:
        at = yamlsrc.join_key(key, entry.key)
        image = reader.nonempty_str(entry.value, at, f"the image of label '{entry.key}'")
        if (problem := why_not(image)) is not None:
            raise reader.fail(entry.value.pos, at, problem)
        pairs.append((entry.key, image))
    return tuple(pairs)
