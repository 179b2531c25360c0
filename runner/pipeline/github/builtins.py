"""The ``uses:`` actions runner carries out itself (checkout, artifacts, cache), at any version.

Each maps its ``with:`` inputs (already evaluated) to one of the executor's
built-in actions (``runner.pipeline.steps``), checked as the action itself
checks them (``@actions/core`` boolean inputs, required inputs), so a bad input
fails the step with the action's own message. Inputs that make no sense on
this machine (tokens, other repositories, SSH keys) are named in a notice and
otherwise ignored. Every other action is refused before the run (``is_builtin``).
"""

from __future__ import annotations

import posixpath
from collections.abc import Mapping
from dataclasses import dataclass

from runner.pipeline.steps import (
    Action,
    Checkout,
    DownloadArtifact,
    RestoreCache,
    SaveCache,
    UploadArtifact,
)

CHECKOUT = "actions/checkout"
UPLOAD = "actions/upload-artifact"
DOWNLOAD = "actions/download-artifact"
CACHE = "actions/cache"
CACHE_RESTORE = "actions/cache/restore"
CACHE_SAVE = "actions/cache/save"

_KNOWN = frozenset({CHECKOUT, UPLOAD, DOWNLOAD, CACHE, CACHE_RESTORE, CACHE_SAVE})

CACHE_POST_IF = "success()"
"""``runs.post-if`` of actions/cache's ``action.yml``: the save runs only while the job succeeds."""

_CHECKOUT_IGNORED = (
    "repository", "ref", "token", "ssh-key", "ssh-known-hosts", "ssh-strict", "ssh-user",
    "persist-credentials", "clean", "filter", "sparse-checkout", "sparse-checkout-cone-mode",
    "fetch-depth", "fetch-tags", "show-progress", "lfs", "submodules", "set-safe-directory",
    "github-server-url",
)  # fmt: skip
_DOWNLOAD_IGNORED = ("github-token", "repository", "run-id", "artifact-ids")
_UPLOAD_IGNORED = ("compression-level",)
_CACHE_IGNORED = ("upload-chunk-size", "enablecrossosarchive", "save-always")


class BuiltinError(Exception):
    """The action would fail at once on these inputs; the message is the action's own."""


@dataclass(frozen=True)
class Builtin:
    """What a built-in ``uses:`` step does, and its post step if the action has one."""

    action: Action
    post: Action | None = None
    post_if: str = "always()"
    notes: tuple[str, ...] = ()


def action_name(uses: str) -> str:
    """``actions/cache/restore@v4`` -> ``actions/cache/restore`` (lower-case)."""
    return uses.partition("@")[0].strip().lower()


def is_builtin(uses: str) -> bool:
    """Whether runner carries out ``uses`` itself (any ref: ``@v4``, ``@main``, a sha)."""
    return "@" in uses and action_name(uses) in _KNOWN


def _bool(inputs: Mapping[str, str], name: str, default: bool = False) -> bool:
    # @actions/core getBooleanInput: YAML 1.2 core schema spellings only.
    value = inputs.get(name, "")
    if value == "":
        return default
    if value in {"true", "True", "TRUE"}:
        return True
    if value in {"false", "False", "FALSE"}:
        return False
    raise BuiltinError(
        f'Input does not meet YAML 1.2 "Core Schema" specification: {name}\n'
        "Support boolean input list: `true | True | TRUE | false | False | FALSE`"
    )


def _required(inputs: Mapping[str, str], name: str) -> str:
    value = inputs.get(name, "").strip()
    if not value:
        raise BuiltinError(f"Input required and not supplied: {name}")
    return value


def _lines(text: str) -> tuple[str, ...]:
    stripped = (line.strip() for line in text.splitlines())
    return tuple(line for line in stripped if line and not line.startswith("#"))


def _ignored(action: str, inputs: Mapping[str, str], names: tuple[str, ...]) -> tuple[str, ...]:
    used = [name for name in names if inputs.get(name, "") != ""]
    if not used:
        return ()
    return (f"{action}: input(s) {', '.join(used)} ignored: they have no meaning in a local run",)


def _checkout_path(path: str, workspace: str) -> str:
    """checkout's ``path`` relative to the workspace (absolute ones inside it too); outside
    it is refused with checkout's message."""
    root = posixpath.normpath(workspace or "/")
    resolved = posixpath.normpath(posixpath.join(root, path.strip()))
    if resolved == root:
        return ""
    if not resolved.startswith(root.rstrip("/") + "/"):
        raise BuiltinError(f"Repository path '{resolved}' is not under '{root}'")
    return resolved[len(root.rstrip("/")) + 1 :]


def builtin_for(uses: str, inputs: Mapping[str, str], workspace: str = "/") -> Builtin:
    """The built-in action for ``uses`` with its evaluated ``with:`` inputs (any case);
    ``workspace`` is ``github.workspace``, which checkout's ``path`` must stay under."""
    inputs = {key.lower(): value for key, value in inputs.items()}
    name = action_name(uses)
    if name == CHECKOUT:
        path = _checkout_path(inputs.get("path", ""), workspace)
        return Builtin(Checkout(path), notes=_ignored(name, inputs, _CHECKOUT_IGNORED))
    if name == UPLOAD:
        return Builtin(_upload(inputs), notes=_ignored(name, inputs, _UPLOAD_IGNORED))
    if name == DOWNLOAD:
        download = DownloadArtifact(
            path=inputs.get("path", "").strip(),
            name=inputs.get("name", "").strip() or None,
            pattern=inputs.get("pattern", "").strip() or None,
            merge_multiple=_bool(inputs, "merge-multiple"),
        )
        return Builtin(download, notes=_ignored(name, inputs, _DOWNLOAD_IGNORED))
    if name == CACHE_SAVE:
        save = SaveCache(key=_required(inputs, "key"), paths=_paths(inputs))
        return Builtin(save, notes=_ignored(name, inputs, _CACHE_IGNORED))
    if name in {CACHE, CACHE_RESTORE}:
        restore = RestoreCache(
            key=_required(inputs, "key"),
            paths=_paths(inputs),
            restore_keys=_lines(inputs.get("restore-keys", "")),
            fail_on_cache_miss=_bool(inputs, "fail-on-cache-miss"),
            lookup_only=_bool(inputs, "lookup-only"),
        )
        post = SaveCache(restore.key, restore.paths) if name == CACHE else None
        notes = _ignored(name, inputs, _CACHE_IGNORED)
        return Builtin(restore, post=post, post_if=CACHE_POST_IF, notes=notes)
    raise BuiltinError(f"'{uses}' is not an action runner carries out")


def _paths(inputs: Mapping[str, str]) -> tuple[str, ...]:
    return _lines(_required(inputs, "path"))


def _upload(inputs: Mapping[str, str]) -> UploadArtifact:
    paths = _lines(_required(inputs, "path"))
    if_no_files = inputs.get("if-no-files-found", "").strip() or "warn"
    if if_no_files not in {"warn", "error", "ignore"}:
        raise BuiltinError(
            f"Unrecognized if-no-files-found input. Provided: {if_no_files}. "
            "Available options: warn,error,ignore"
        )
    retention: int | None = None
    text = inputs.get("retention-days", "").strip()
    if text:
        try:
            retention = int(text)
        except ValueError:
            raise BuiltinError("Invalid retention-days") from None
    return UploadArtifact(
        name=inputs.get("name", "").strip() or "artifact",
        paths=paths,
        if_no_files_found=if_no_files,
        overwrite=_bool(inputs, "overwrite"),
        include_hidden=_bool(inputs, "include-hidden-files"),
        retention_days=retention,
    )
