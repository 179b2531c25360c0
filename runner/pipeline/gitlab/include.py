"""``include:`` as GitLab composes it: local files, remote URLs, other projects' files,
GitLab's templates and CI/CD components.

Checked against GitLab's lib/gitlab/ci/config/external (Processor, Mapper,
Context, File::Local/Remote/Project/Template/Component/Base):

* Included files (which may include others) are deep-merged in order, then the
  including file on top, so its keys win and mappings merge (``merge``).
* Where a file's own includes look is GitLab's context: ``local`` paths (and
  ``exists`` rules) in the checkout's files and in a ``local`` file's are
  relative to the checkout's root; in a ``project`` file to THAT project at the
  same ref; in a ``component``'s to the component's project at the resolved
  version. A ``remote`` or ``template`` file has no project, so a ``local``
  include in it is an error, as GitLab's "does not have project!".
* A local path with ``*`` is matched against every file of the project:
  ``**/`` is any run of directories (or none), ``**`` any characters, ``*``
  any characters but ``/``; matches come in path order; none is not an error.
* At most 150 distinct files in all (GitLab's ``ci_max_includes``; the same
  file from the same place counts once), a cycle is an error naming the chain.
* An item's ``inputs`` (or ``with``, its first name) are given to the included file's
  ``spec:inputs`` header (``inputs.load_with_inputs``).
* The file name must end in ``.yml`` or ``.yaml`` (a template in
  ``.gitlab-ci.yml``); ``remote`` may carry ``integrity: sha256-<base64>``.

Fetching goes through ``fetching`` (the one network seam) and ``fetchcache``
(the per-project copy for offline runs); the API calls are in ``gitlabapi``.
"""

from __future__ import annotations

import base64
import hashlib
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TypeVar

from runner.errors import PipelineError, UsageError
from runner.pipeline import yamlsrc
from runner.pipeline.bounds import check_pipeline_values
from runner.pipeline.fields import FieldReader
from runner.pipeline.gitlab import source as gitlab_source
from runner.pipeline.gitlab.changes import ChangeSet
from runner.pipeline.gitlab.fetchcache import CachedFetcher
from runner.pipeline.gitlab.fetching import Fetcher, FetchError
from runner.pipeline.gitlab.gitlabapi import TEMPLATE_SUFFIX, GitLabApi, Server
from runner.pipeline.gitlab.globs import ProjectFiles
from runner.pipeline.gitlab.includeitems import Request, check_item, items, requests, rules_of
from runner.pipeline.gitlab.includerules import include_passes
from runner.pipeline.gitlab.inputs import NO_VARIABLES, Variables, given_from_node, load_with_inputs
from runner.pipeline.gitlab.merge import deep_merge, without
from runner.pipeline.gitlab.predefined import GitInfo, read_git
from runner.pipeline.gitlab.reading import GitLabReader, Notes
from runner.pipeline.yamlsrc import Map, Node

_T = TypeVar("_T")

MAX_INCLUDES = 150
"""GitLab's default limit on included files per pipeline (``ci_max_includes``)."""

_YAML_NAME = re.compile(r".+\.(yml|yaml)", re.IGNORECASE)
_COMPONENT = re.compile(r"(?P<fqdn>[^/@]+)/(?P<project>[^@]+)/(?P<name>[^/@]+)@(?P<version>[^@/]+)")


@dataclass(frozen=True)
class IncludeSettings:
    """What include expansion needs from outside the file."""

    variables: Mapping[str, str] = field(default_factory=dict)
    """Raw values GitLab knows at include time: predefined, project and pipeline variables."""
    server: Server | None = None
    """The GitLab instance for ``project``, ``template`` and ``component``; None: not set."""
    cache: Path | None = None
    """The project's copy of fetched files; None keeps nothing."""
    notice: Callable[[str], None] | None = None
    """Where "using the cached copy" notices go at once (even for ``--list``); None: the notes."""
    expand_vars: Variables = NO_VARIABLES
    """What ``$[[ inputs.x | expand_vars ]]`` in an included file may read (``pipeline_inputs``)."""
    compare_to: str | None = None
    git: GitInfo | None = None
    """The checkout's commit and refs, read once per pipeline (None: read when needed)."""
    """``--compare-to``: what include ``rules:changes`` compare with (as job rules do)."""
    """What ``$[[ inputs.x | expand_vars ]]`` in an included file may read (``pipeline_inputs``)."""


@dataclass(frozen=True)
class _Where:
    """The project a file's ``local`` includes and ``exists`` rules refer to."""

    kind: str
    """``local`` (the checkout), ``project`` (another project's), ``remote`` or ``template``."""
    project: str = ""
    ref: str = ""
    server: Server | None = None
    """The server ``project`` is on (a component's may not be the configured one)."""


_CHECKOUT = _Where("local")


def expand_includes(
    source: yamlsrc.Source, root: Path, reader: FieldReader, settings: IncludeSettings | None = None
) -> tuple[Map, tuple[str, ...]]:
    """``source``'s tree with every included file merged in and ``include`` removed, and notes."""
    includer = _Includer(root, reader, settings or IncludeSettings())
    main = Path(source.file)
    tree = includer.expand(source.root, ((str(main.resolve()), source.file),), _CHECKOUT)
    return tree, (*includer.notes, *includer.rule_notes.render())


def wildcard_regex(pattern: str) -> re.Pattern[str]:
    """GitLab's regex for a wildcard local include (leading ``/`` dropped); use ``fullmatch``."""
    text = re.escape(pattern.lstrip("/"))
    text = text.replace(r"\*\*/", "(?:.*?/)?").replace(r"\*\*", ".*?").replace(r"\*", "[^/]*?")
    return re.compile(text)


class _FileList(ProjectFiles):
    """Another project's files at a ref, as ``exists`` and wildcards see them."""

    def __init__(self, listing: Callable[[], list[str]]) -> None:
        super().__init__(Path("/nonexistent"))
        self._listing = listing

    def files(self) -> tuple[str, ...]:
        if self._files is None:
            self._files = tuple(self._listing())
        return self._files


class _Includer:
    """One pipeline's include expansion: the files met so far and what to tell the user."""

    def __init__(self, root: Path, reader: FieldReader, settings: IncludeSettings) -> None:
        self.root = root
        self.real_root = root.resolve()
        self.reader = reader
        self.rules_reader = GitLabReader(reader.source)
        self.settings = settings
        self.included: set[tuple[str, ...]] = set()
        self.notes: list[str] = []
        self.rule_notes = Notes()
        self._changes: ChangeSet | None = None
        self.values = reader.source.values
        """Values of every file read so far, aliases expanded (bounded in ``bounds``)."""
        self.fetch = CachedFetcher(Fetcher(), settings.cache, settings.notice or self._notice)
        self._files: dict[_Where, ProjectFiles] = {}
        self._apis: dict[str, GitLabApi] = {}

    def changes(self) -> ChangeSet:
        """The pipeline's changed files for include ``rules:changes``, read on first use."""
        if self._changes is None:
            git = self.settings.git or read_git(self.root)
            self._changes = ChangeSet(self.root, git, self.settings.compare_to)
        return self._changes

    def _notice(self, text: str) -> None:
        if text not in self.notes:
            self.notes.append(text)

    def fail(self, node: Node, key: str, message: str) -> PipelineError:
        return self.reader.fail(node.pos, key, message)

    def expand(self, tree: Map, stack: tuple[tuple[str, str], ...], where: _Where) -> Map:
        """``tree`` (the file at the top of ``stack``) with its includes merged underneath."""
        entry = tree.get("include")
        if entry is None:
            return tree
        merged: Map | None = None
        variables = self.settings.variables
        for item, key in items(entry.value):
            check_item(self.reader, item, key)
            rules = rules_of(item, key)
            if rules is not None and not include_passes(
                self.rules_reader, *rules, variables, self.files(where), self.rule_notes,
                self.changes(),
            ):
                continue
            for request in requests(self.reader, item, key, variables):
                for included in self._include(request, stack, where):
                    merged = included if merged is None else deep_merge(merged, included)
        own = without(tree, "include")
        return own if merged is None else deep_merge(merged, own)

    def files(self, where: _Where) -> ProjectFiles:
        """The files ``exists`` and wildcards look at for a file from ``where``."""
        if where not in self._files:
            if where.kind == "local":
                self._files[where] = ProjectFiles(self.root)
            elif where.kind == "project":
                api = self.api(None, None, where.server)
                self._files[where] = _FileList(lambda: api.tree(where.project, where.ref))
            else:  # a remote or template file has no project: nothing exists
                self._files[where] = _FileList(list)
        return self._files[where]

    def api(self, node: Node | None, key: str | None, server: Server | None = None) -> GitLabApi:
        """The API of ``server`` (default: the configured one); an error says how to set one."""
        server = server or self.settings.server
        if server is None:
            message = (
                "this include needs a GitLab server; pass --gitlab-url URL (or set CI_SERVER_URL"
                " in the environment or a variables file) and a token with --gitlab-token NAME"
            )
            if node is None or key is None:
                raise UsageError(message)
            raise self.fail(node, key, message)
        if server.url not in self._apis:
            self._apis[server.url] = GitLabApi(server, self.fetch)
        return self._apis[server.url]

    def _include(
        self, request: Request, stack: tuple[tuple[str, str], ...], where: _Where
    ) -> list[Map]:
        """The file(s) ``request`` names, each loaded with its own includes expanded."""
        node, key, kind = request.node, request.key, request.kind
        if kind == "local":
            return self._local(request, stack, where)
        self._check_name(request.location, request)
        if kind == "remote":
            url = request.location
            return [self._fetched(("remote", url), url, request, stack, _Where("remote"),
                                  lambda: self._remote(request))]
        if kind == "template":
            name = request.location
            if not name.endswith(TEMPLATE_SUFFIX):
                raise self.fail(node, key, f"template '{name}' is not a valid location; GitLab's"
                                f" templates are named like 'Jobs/SAST{TEMPLATE_SUFFIX}'")
            api = self.api(node, key)
            return [self._fetched(("template", name), f"{api.server.url}/templates/{name}",
                                  request, stack, _Where("template"), lambda: api.template(name))]
        if kind == "project":
            assert request.project is not None
            server = self.api(node, key).server
            return [self._project(request.project, request.ref, request, stack, server)]
        return [self._component(request, stack)]

    def _check_name(self, location: str, request: Request) -> None:
        if request.kind == "component":
            return
        name = location.split("?", 1)[0] if request.kind == "remote" else location
        if not _YAML_NAME.fullmatch(name.rsplit("/", 1)[-1]):
            raise self.fail(request.node, request.key, f"included file '{location}' does not have"
                            " a YAML extension; GitLab includes only '.yml' and '.yaml' files")

    def _remote(self, request: Request) -> str:
        body = self.fetch.get(request.location)
        if request.integrity is not None:
            digest = "sha256-" + base64.b64encode(hashlib.sha256(body).digest()).decode()
            if digest != request.integrity:
                raise self.fail(request.node, request.key, f"remote file '{request.location}'"
                                f" does not match its integrity hash: it is {digest}")
        return _decoded(body, request.location)

    def _project(
        self,
        project: str,
        ref: str | None,
        request: Request,
        stack: tuple[tuple[str, str], ...],
        server: Server | None,
    ) -> Map:
        api = self.api(request.node, request.key, server)
        path = request.location
        resolved = ref or self._call(lambda: api.default_branch(project), request)
        label = f"{api.server.url}/{project}/-/blob/{resolved}/{path}"
        return self._fetched(("project", project, resolved, path), label, request, stack,
                             _Where("project", project, resolved, api.server),
                             lambda: api.project_file(project, resolved, path))

    def _component(self, request: Request, stack: tuple[tuple[str, str], ...]) -> Map:
        node, key, address = request.node, request.key, request.location
        match = _COMPONENT.fullmatch(address)
        if match is None:
            raise self.fail(node, key, f"component '{address}' must be written"
                            " '<host>/<group>/<project>/<name>@<version>'")
        fqdn = match["fqdn"].lower()
        server = self.settings.server
        if server is None:
            server = Server(f"https://{fqdn}")
        elif server.netloc != fqdn:
            raise self.fail(node, key, f"component '{address}' is on {fqdn}, not on the GitLab"
                            f" server {server.url}; GitLab includes components of its own"
                            " instance only (set --gitlab-url to that server)")
        api = self.api(node, key, server)
        found = self._call(lambda: api.component(match["project"], match["name"],
                                                 match["version"]), request)
        label = f"{server.url}/{found.project}/-/blob/{found.ref}/{found.path}"
        return self._fetched(("project", found.project, found.ref, found.path), label, request,
                             stack, _Where("project", found.project, found.ref, server),
                             lambda: found.text)

    def _local(
        self, request: Request, stack: tuple[tuple[str, str], ...], where: _Where
    ) -> list[Map]:
        """A ``local`` include: in the checkout, or in the project a fetched file came from."""
        pattern, node, key = request.location, request.node, request.key
        if where.kind in ("remote", "template"):
            raise self.fail(node, key, f"local file '{pattern}' does not have project: a"
                            f" {where.kind} file has no project of its own, so it cannot include"
                            " local files (as in GitLab); use 'project' and 'file'")
        if "*" in pattern:
            regex = wildcard_regex(pattern)
            paths = [path for path in self.files(where).files() if regex.fullmatch(path)]
            if not paths:
                where_ = self.reader.spot(node.pos, key)
                self._notice(f"{where_}: include '{pattern}' matched no files, so it adds nothing")
        else:
            paths = [pattern.lstrip("/")]
        if where.kind == "project":
            out = []
            for path in paths:
                self._check_name(path, request)
                nested = Request("project", path, node, key, inputs=request.inputs,
                                 inputs_key=request.inputs_key)
                out.append(self._project(where.project, where.ref, nested, stack, where.server))
            return out
        return [self._load_local(rel, request, stack) for rel in paths]

    def _load_local(self, rel: str, request: Request, stack: tuple[tuple[str, str], ...]) -> Map:
        """The checkout's file ``rel``, loaded and with its own includes expanded."""
        node, key = request.node, request.key
        self._check_name(rel, request)
        path = self.root / rel
        real = path.resolve()
        if not real.is_relative_to(self.real_root):
            raise self.fail(node, key, f"included file '{rel}' is outside the project root"
                            f" '{self.root}'; local includes name files of the project")
        if not real.is_file():
            raise self.fail(node, key, f"included file '{rel}' does not exist (local include paths"
                            f" are relative to the project root '{self.root}')")
        self._enter(("local", str(real)), str(path), request, stack)
        try:
            text = yamlsrc.read_text(path)
        except UsageError as exc:
            raise self.fail(node, key, str(exc)) from None
        tree = self._parse(text, str(path), request, rel)
        return self.expand(tree, (*stack, (str(real), str(path))), _CHECKOUT)

    def _fetched(  # noqa: PLR0917 - one file's whole description
        self,
        identity: tuple[str, ...],
        label: str,
        request: Request,
        stack: tuple[tuple[str, str], ...],
        where: _Where,
        read: Callable[[], str],
    ) -> Map:
        """A fetched file: counted, cycle-checked, read, parsed, its own includes expanded."""
        self._enter(identity, label, request, stack)
        tree = self._parse(self._call(read, request), label, request, request.location)
        return self.expand(tree, (*stack, ("\0".join(identity), label)), where)

    def _call(self, read: Callable[[], _T], request: Request) -> _T:
        """``read()``, a failed fetch turned into an error at the include that wanted it."""
        try:
            return read()
        except FetchError as exc:
            hint = ""
            if exc.transient:
                hint = ("; it was never fetched, so there is no copy to use offline: check the"
                        " network and --gitlab-url, then run again")
            raise self.fail(request.node, request.key,
                            f"cannot include {request.kind} '{request.location}': {exc.message}"
                            + hint) from None

    def _enter(
        self, identity: tuple[str, ...], label: str, request: Request,
        stack: tuple[tuple[str, str], ...],
    ) -> None:
        """Count the file and refuse a cycle (``label`` is how the chain shows it)."""
        ident = "\0".join(identity) if identity[0] != "local" else identity[1]
        if any(ident == seen for seen, _ in stack):
            chain = [shown for _, shown in stack]
            raise self.fail(request.node, request.key,
                            "include cycle: " + " -> ".join([*chain, label]))
        self.included.add(identity)
        if len(self.included) > MAX_INCLUDES:
            raise self.fail(request.node, request.key, f"more than {MAX_INCLUDES} files are"
                            f" included; GitLab allows at most {MAX_INCLUDES} includes in a"
                            " pipeline")

    def _parse(self, text: str, label: str, request: Request, shown: str) -> Map:
        if gitlab_source.is_blank(text):
            raise self.fail(request.node, request.key, f"included file '{shown}' is empty")
        given = (None if request.inputs is None else
                 given_from_node(request.inputs, request.inputs_key, self.reader.file))
        included = load_with_inputs(text, label, given, self.settings.expand_vars)
        self.notes.extend(included.warnings)
        self.values += included.values
        check_pipeline_values(self.reader.file, self.values, request.node.pos)
        return included.root


def _decoded(body: bytes, url: str) -> str:
    try:
        return body.decode("utf-8")
    except UnicodeDecodeError:
        raise FetchError(f"{url} is not UTF-8 text", transient=False) from None

