"""The GitLab API calls ``include`` needs, as GitLab's documented REST API has them.

* ``project``: ``GET /projects/:id/repository/files/:file_path/raw?ref=`` (``:id``
  and ``:file_path`` URL-encoded, ``/`` as ``%2F``); with no ``ref`` the project's
  default branch, from ``GET /projects/:id`` (GitLab reads ``HEAD``, the same thing).
* ``template``: ``GET /templates/gitlab_ci_ymls/:key`` (JSON ``{name, content}``),
  the key being the template name without ``.gitlab-ci.yml``, URL-encoded.
* ``component``: the project's releases (``GET /projects/:id/releases``) resolve
  ``~latest`` and partial versions; the file is ``templates/<name>.yml`` or
  ``templates/<name>/template.yml`` at the resolved ref.
* the file list of a project at a ref, for ``exists`` and wildcard ``local``
  includes inside a project's file: ``GET /projects/:id/repository/tree``,
  recursive, page by page.

The token goes with every request to the configured server and nowhere else.
"""

from __future__ import annotations

import json
import re
import urllib.parse
from dataclasses import dataclass

from runner.pipeline.gitlab.fetchcache import CachedFetcher
from runner.pipeline.gitlab.fetching import FetchError, Token

TEMPLATE_SUFFIX = ".gitlab-ci.yml"
PER_PAGE = 100
MAX_TREE_PAGES = 100
"""10,000 paths: more than GitLab's own ``exists`` looks at (it stops at 50,000 checks)."""

_SEMVER = re.compile(r"(\d+)\.(\d+)\.(\d+)(?:-([0-9A-Za-z.-]+))?(?:\+[0-9A-Za-z.-]+)?")
_PARTIAL = re.compile(r"(\d+)(?:\.(\d+))?")


@dataclass(frozen=True)
class Server:
    """The GitLab instance: its base URL (no trailing ``/``) and the token for it."""

    url: str
    token: Token | None = None

    @property
    def netloc(self) -> str:
        """``host[:port]`` as a component address starts with it."""
        return urllib.parse.urlsplit(self.url).netloc.rpartition("@")[2].lower()


@dataclass(frozen=True)
class Component:
    """A resolved component: where its file lives and the ref its own includes use."""

    project: str
    ref: str
    path: str
    text: str


class GitLabApi:
    """API requests to one server through the per-project cache."""

    def __init__(self, server: Server, fetch: CachedFetcher) -> None:
        self.server = server
        self.fetch = fetch
        self._default_branches: dict[str, str] = {}

    def _url(self, path: str, **query: str) -> str:
        tail = "?" + urllib.parse.urlencode(query) if query else ""
        return f"{self.server.url}/api/v4/{path}{tail}"

    def _json(self, url: str) -> object:
        body = self.fetch.get(url, self.server.token)
        try:
            return json.loads(body)
        except ValueError:
            shown = url.split("?", 1)[0]
            raise FetchError(f"{shown} did not answer with JSON", transient=False) from None

    def default_branch(self, project: str) -> str:
        """The project's default branch (what GitLab's ``HEAD`` means)."""
        if project not in self._default_branches:
            found = self._json(self._url(f"projects/{_id(project)}"))
            branch = found.get("default_branch") if isinstance(found, dict) else None
            if not isinstance(branch, str) or not branch:
                raise FetchError(
                    f"project '{project}' has no default branch (an empty repository?)",
                    transient=False,
                )
            self._default_branches[project] = branch
        return self._default_branches[project]

    def project_file(self, project: str, ref: str, path: str) -> str:
        """The raw file ``path`` of ``project`` at ``ref``."""
        url = self._url(f"projects/{_id(project)}/repository/files/{_id(path)}/raw", ref=ref)
        return _text(self.fetch.get(url, self.server.token), url)

    def template(self, name: str) -> str:
        """A CI template's content; ``name`` ends in ``.gitlab-ci.yml``."""
        key = name.removesuffix(TEMPLATE_SUFFIX)
        found = self._json(self._url(f"templates/gitlab_ci_ymls/{_id(key)}"))
        content = found.get("content") if isinstance(found, dict) else None
        if not isinstance(content, str):
            raise FetchError(f"template '{name}' came without content", transient=False)
        return content

    def tree(self, project: str, ref: str) -> list[str]:
        """Every file path of ``project`` at ``ref``, sorted."""
        paths: list[str] = []
        for page in range(1, MAX_TREE_PAGES + 1):
            url = self._url(
                f"projects/{_id(project)}/repository/tree",
                ref=ref, recursive="true", per_page=str(PER_PAGE), page=str(page),
            )
            found = self._json(url)
            items = found if isinstance(found, list) else []
            paths += [
                item["path"] for item in items
                if isinstance(item, dict) and item.get("type") == "blob"
                and isinstance(item.get("path"), str)
            ]
            if len(items) < PER_PAGE:
                break
        return sorted(paths)

    def component(self, project: str, name: str, version: str) -> Component:
        """The component ``name`` of ``project`` at ``version``, resolved as GitLab does."""
        ref = self._resolve(project, version)
        candidates = (f"templates/{name}.yml", f"templates/{name}/template.yml")
        for path in candidates:
            try:
                return Component(project, ref, path, self.project_file(project, ref, path))
            except FetchError as exc:
                if exc.status != 404:
                    raise
        raise FetchError(
            f"component '{name}' not found in project '{project}' at '{ref}': neither "
            + " nor ".join(candidates) + " exists",
            transient=False,
            status=404,
        )

    def _resolve(self, project: str, version: str) -> str:
        """``~latest`` and ``1``/``1.2`` become the newest matching release; others stay."""
        partial = _PARTIAL.fullmatch(version)
        if version != "~latest" and partial is None:
            return version  # a full version, tag, branch or SHA: GitLab's project.commit(version)
        found = self._json(self._url(f"projects/{_id(project)}/releases", per_page=str(PER_PAGE)))
        released: list[tuple[tuple[int, int, int], str]] = []
        for release in found if isinstance(found, list) else []:
            tag = release.get("tag_name") if isinstance(release, dict) else None
            match = _SEMVER.fullmatch(tag) if isinstance(tag, str) else None
            if match is None or match.group(4):  # not a version, or a pre-release
                continue
            number = (int(match.group(1)), int(match.group(2)), int(match.group(3)))
            if partial is not None and (
                number[0] != int(partial.group(1))
                or (partial.group(2) is not None and number[1] != int(partial.group(2)))
            ):
                continue
            released.append((number, str(tag)))
        if not released:
            wanted = "any released version" if partial is None else f"a release matching {version}"
            raise FetchError(f"project '{project}' has no {wanted}", transient=False, status=404)
        return max(released)[1]


def _id(text: str) -> str:
    """A path segment as the API wants it: everything but unreserved characters encoded."""
    return urllib.parse.quote(text, safe="")


def _text(body: bytes, url: str) -> str:
    try:
        return body.decode("utf-8")
    except UnicodeDecodeError:
        raise FetchError(f"{url.split('?', 1)[0]} is not UTF-8 text", transient=False) from None
