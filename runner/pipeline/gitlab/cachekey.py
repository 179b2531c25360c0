"""``cache:key:files`` and ``cache:key:files_commits`` digests, computed as GitLab computes them.

GitLab's ``Seed::Build::Cache`` makes the key ``<prefix>-<digest>`` (no
dash without a prefix), where the digest is the SHA-1 of the sorted, unique
ids joined by ``-``, or ``default`` when there is no id at all:

- ``files``: the git blob ids of the listed files at the pipeline's commit
  (a pattern with ``*`` is first expanded against the repository's files);
- ``files_commits``: the id of the last commit that changed each file.

So two runs of the same commit share their cache, here as on GitLab. A
local run may have uncommitted edits: a file's blob id is taken from the
working tree (``git hash-object``'s id, the same as the committed one when the
file is unchanged), so editing a lock file changes the key before you commit.
A symbolic link's blob is its target text, as git stores it; it is never
followed. Last commits come from ``git log`` on ``HEAD``; without git or a
commit there are none, and the key is ``default``, as GitLab's for files that
no commit touched.
"""

from __future__ import annotations

import hashlib
import os
import subprocess
from pathlib import Path

from runner.pipeline.gitlab.globs import ProjectFiles, glob_regex
from runner.pipeline.projectfiles import git_argv

DEFAULT_KEY = "default"
GIT_TIMEOUT_S = 30.0


def digest_of(ids: list[str | None]) -> str:
    """GitLab's ``digest_from_hashes``: SHA-1 over the sorted unique ids, ``default`` if none."""
    kept = sorted({i for i in ids if i})
    return hashlib.sha1("-".join(kept).encode()).hexdigest() if kept else DEFAULT_KEY  # noqa: S324


def blob_id(data: bytes) -> str:
    """The id git gives a blob with these bytes (``git hash-object``)."""
    return hashlib.sha1(b"blob %d\0" % len(data) + data).hexdigest()  # noqa: S324


class KeyDigests:
    """Digests for ``key:files`` and ``key:files_commits``, each file list worked out once."""

    def __init__(self, root: Path, files: ProjectFiles | None = None) -> None:
        self.root = root
        self.project = files or ProjectFiles(root)
        self._known: dict[tuple[str, tuple[str, ...]], str] = {}

    def digest(self, files: tuple[str, ...]) -> str:
        """``key:files``: over the blob ids of the files (``*`` patterns expanded)."""
        key = ("files", files)
        if key not in self._known:
            paths = [path for pattern in dict.fromkeys(files) for path in self._expand(pattern)]
            self._known[key] = digest_of([self._blob(path) for path in paths])
        return self._known[key]

    def commits_digest(self, files: tuple[str, ...]) -> str:
        """``key:files_commits``: over the last commit that changed each file."""
        key = ("commits", files)
        if key not in self._known:
            self._known[key] = digest_of([self._last_commit(path)
                                          for path in dict.fromkeys(files)])
        return self._known[key]

    def _expand(self, pattern: str) -> list[str]:
        path = pattern.removeprefix("./")
        if "*" not in path:
            return [path]
        regex = glob_regex(path.lstrip("/"))
        return [name for name in self.project.files() if regex.match(name)]

    def _blob(self, name: str) -> str | None:
        path = self.root / name.lstrip("/")
        try:
            if not path.parent.resolve().is_relative_to(self.root.resolve()):
                return None  # through a link out of the project: not a file of its repository
            if path.is_symlink():
                return blob_id(os.fsencode(path.readlink()))
            if not path.is_file():
                return None
            return blob_id(path.read_bytes())
        except OSError:
            return None

    def _last_commit(self, name: str) -> str | None:
        try:
            proc = subprocess.run(
                git_argv(self.root, "log", "-1", "--format=%H", "HEAD", "--",
                         ":(literal)" + name.removeprefix("./").lstrip("/")),
                capture_output=True, check=False, timeout=GIT_TIMEOUT_S,
            )
        except (OSError, subprocess.TimeoutExpired):
            return None
        text = proc.stdout.decode("ascii", errors="replace").strip()
        return text if proc.returncode == 0 and text else None
