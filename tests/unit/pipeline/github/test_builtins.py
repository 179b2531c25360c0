"""Tests of runner.pipeline.github.builtins: checkout, artifacts and cache at any version."""

from __future__ import annotations

import pytest

from runner.pipeline.github.builtins import BuiltinError, builtin_for, is_builtin
from runner.pipeline.steps import (
    Checkout,
    DownloadArtifact,
    RestoreCache,
    SaveCache,
    UploadArtifact,
)


def test_is_builtin_any_ref_only_known_actions() -> None:
    """Any ref of the known actions is built in; others and ref-less names are not."""
    assert is_builtin("actions/checkout@v4")
    assert is_builtin("Actions/Cache/Restore@0123abcd")
    assert not is_builtin("actions/checkout")
    assert not is_builtin("actions/setup-python@v5")
    assert not is_builtin("docker://alpine")


def test_checkout_path_and_ignored_inputs_named() -> None:
    """Checkout honours ``path`` and names the inputs it ignores in one notice."""
    built = builtin_for("actions/checkout@v4", {"path": "./src/", "fetch-depth": "0", "token": "t"})
    assert built.action == Checkout("src")
    assert built.notes == (
        "actions/checkout: input(s) token, fetch-depth ignored: "
        "they have no meaning in a local run",
    )
    with pytest.raises(BuiltinError, match="Repository path '/w/x' is not under '/w/app'"):
        builtin_for("actions/checkout@v4", {"path": "../x"}, "/w/app")
    inside = builtin_for("actions/checkout@v4", {"path": "/w/app/sub/"}, "/w/app")
    assert inside.action == Checkout("sub")
    assert builtin_for("actions/checkout@v4", {"path": "."}, "/w/app").action == Checkout("")


def test_upload_defaults_and_lines() -> None:
    """Upload: name defaults to ``artifact``; path lines keep ``!`` excludes, drop blanks."""
    built = builtin_for("actions/upload-artifact@v4", {"path": "dist/\n!dist/*.tmp\n\n"})
    assert built.action == UploadArtifact("artifact", ("dist/", "!dist/*.tmp"))
    full = builtin_for(
        "actions/upload-artifact@v4",
        {"name": "n", "path": "a", "if-no-files-found": "error", "overwrite": "True",
         "include-hidden-files": "true", "retention-days": "3"},
    )
    assert full.action == UploadArtifact("n", ("a",), "error", True, True, 3)


def test_upload_bad_inputs_fail_with_actions_messages() -> None:
    """Missing path, unknown if-no-files-found and non-boolean flags fail as the action does."""
    with pytest.raises(BuiltinError, match="Input required and not supplied: path"):
        builtin_for("actions/upload-artifact@v4", {})
    with pytest.raises(BuiltinError, match="Unrecognized if-no-files-found input"):
        builtin_for("actions/upload-artifact@v4", {"path": "a", "if-no-files-found": "x"})
    with pytest.raises(BuiltinError, match="Core Schema"):
        builtin_for("actions/upload-artifact@v4", {"path": "a", "overwrite": "yes"})


def test_download() -> None:
    """Download maps name, pattern, path and merge-multiple."""
    built = builtin_for(
        "actions/download-artifact@v4",
        {"pattern": "dist-*", "merge-multiple": "true", "path": "out"},
    )
    assert built.action == DownloadArtifact("out", None, "dist-*", True)


def test_cache_has_a_save_post_step_that_runs_on_success() -> None:
    """actions/cache restores and adds a post save with its ``post-if: success()``."""
    built = builtin_for(
        "actions/cache@v4", {"path": "~/.cache/pip\n", "key": "k-1", "restore-keys": "k-\nx-\n"}
    )
    assert built.action == RestoreCache("k-1", ("~/.cache/pip",), ("k-", "x-"))
    assert built.post == SaveCache("k-1", ("~/.cache/pip",))
    assert built.post_if == "success()"


def test_cache_restore_and_save_alone() -> None:
    """cache/restore has no post step; cache/save saves in its own step."""
    inputs = {"path": "p", "key": "k", "lookup-only": "true"}
    restore = builtin_for("actions/cache/restore@v4", inputs)
    assert restore.post is None
    assert restore.action == RestoreCache("k", ("p",), lookup_only=True)
    save = builtin_for("actions/cache/save@v4", {"path": "p", "key": "k"})
    assert save.action == SaveCache("k", ("p",))
    with pytest.raises(BuiltinError, match="Input required and not supplied: key"):
        builtin_for("actions/cache@v4", {"path": "p"})
