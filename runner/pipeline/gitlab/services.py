"""GitLab's ``services``: read once per job, made into model ``Service``s per job instance.

A service's ``name`` and ``alias`` use variables, so they are decided per
instance (``parallel:matrix`` values and rule variables differ); everything
else is checked once when the job is read.

Host names follow gitlab-runner (helpers/container/services/services.go and
executors/docker/services.go): the image name without its tag or digest, and
without the registry's port, is an alias with ``/`` written ``__`` and a
second with ``/`` written ``-`` (``registry:5000/team/redis:7`` gives
``registry__team__redis`` and ``registry-team-redis``); the ``alias`` value,
several names split by commas or spaces, adds to those. gitlab-runner starts a
service only when at least one of its names is not taken by an earlier
service of the job, so two unaliased ``postgres`` services run once; a name two
services share stays with the first.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from runner.errors import PipelineError
from runner.pipeline import yamlsrc
from runner.pipeline.aliases import claim, default_aliases, is_hostname
from runner.pipeline.gitlab.artifacts import Located
from runner.pipeline.gitlab.expand import CircularReferenceError, expand, expand_all
from runner.pipeline.gitlab.jobfields import read_pull_policy
from runner.pipeline.gitlab.reading import MAX_NESTING, GitLabReader, Notes
from runner.pipeline.gitlab.variables import Var, read_variables
from runner.pipeline.model import Service
from runner.pipeline.yamlsrc import Map, Node, Pos, Scalar, Seq, describe

SERVICE_KEYS = (
    "name", "alias", "entrypoint", "command", "variables", "pull_policy", "docker", "kubernetes",
)
HEALTHCHECK_VARIABLE = "HEALTHCHECK_TCP_PORT"
"""gitlab-runner waits for this one port, when the service's environment has it (any case)."""

# The docker reference grammar (distribution/reference's ReferenceRegexp): group 1 is
# the name, which the runner's aliases come from.


@dataclass(frozen=True)
class ServiceSpec:
    """One ``services`` item as written; ``name`` and ``alias`` are expanded per instance."""

    name: Located
    alias: Located | None
    entrypoint: tuple[str, ...] | None
    command: tuple[str, ...] | None
    variables: tuple[Var, ...]
    variables_at: tuple[Pos, str] | None
    what: str
    pull_policy: tuple[str, ...] = ()


def read_services(
    reader: GitLabReader, node: Node, key: str, what: str, *, notes: Notes, job: str
) -> tuple[ServiceSpec, ...]:
    """A job's ``services``: a list (nested lists flattened, as GitLab does) of images or maps."""
    if not isinstance(node, Seq):
        raise reader.fail(
            node.pos,
            key,
            f"{what} must be a list of images or service mappings, got {describe(node)};"
            " write 'services: [postgres:16]' for one",
        )
    return tuple(
        _read_one(reader, item, path, f"service {n} of job '{job}'", notes=notes, job=job)
        for n, (item, path) in enumerate(_flatten(reader, node, key, what, depth=1), 1)
    )


def _flatten(
    reader: GitLabReader, seq: Seq, key: str, what: str, *, depth: int
) -> list[tuple[Node, str]]:
    """The items with their key paths; lists inside (anchors, ``!reference``) spliced in."""
    if depth > MAX_NESTING:
        raise reader.fail(seq.pos, key, f"{what} nests lists more than {MAX_NESTING} deep")
    out: list[tuple[Node, str]] = []
    for index, item in enumerate(seq.items):
        path = yamlsrc.join_index(key, index)
        if isinstance(item, Seq):
            out += _flatten(reader, item, path, what, depth=depth + 1)
        else:
            out.append((item, path))
    return out


def _read_one(
    reader: GitLabReader, node: Node, key: str, what: str, *, notes: Notes, job: str
) -> ServiceSpec:
    if not isinstance(node, Map):
        if not isinstance(node, Scalar) or not isinstance(node.value, str):
            raise reader.fail(
                node.pos, key, f"{what} must be an image name or a mapping with 'name',"
                f" got {describe(node)}",
            )
        name = (reader.nonempty_str(node, key, what), node.pos, key)
        return ServiceSpec(name, None, None, None, (), None, what)
    if (ports := node.get("ports")) is not None:
        raise reader.fail(
            ports.key_pos,
            yamlsrc.join_key(key, "ports"),
            f"'ports' of {what} is not allowed: GitLab takes service ports only in Web IDE"
            " terminal configurations (config contains disallowed keys: ports); runner waits"
            " for HEALTHCHECK_TCP_PORT or the ports the image exposes",
        )
    reader.check_keys(node, SERVICE_KEYS, key, f"in {what}")
    got = reader.child(node, "name", key, what)
    if got is None:
        raise reader.fail(node.pos, yamlsrc.join_key(key, "name"), f"{what} has no 'name'")
    name = (reader.nonempty_str(*got), got[0].pos, got[1])
    alias = None
    if (got := reader.child(node, "alias", key, what)) is not None:
        alias = (reader.expect_str(*got), got[0].pos, got[1])
    entrypoint = command = None
    if (got := reader.child(node, "entrypoint", key, what)) is not None:
        entrypoint = _argv(reader, *got)
    if (got := reader.child(node, "command", key, what)) is not None:
        command = _argv(reader, *got)
    variables: tuple[Var, ...] = ()
    variables_at = None
    if (got := reader.child(node, "variables", key, what)) is not None:
        variables = _read_variables(reader, *got)
        variables_at = (got[0].pos, got[1])
    for other in ("docker", "kubernetes"):
        if (got := reader.child(node, other, key, what)) is not None:
            reader.expect_map(*got)
            notes.ignored(f"services:{other}", job)
    return ServiceSpec(name, alias, entrypoint, command, variables, variables_at, what,
                       read_pull_policy(reader, node, key, what))


def _read_variables(reader: GitLabReader, node: Node, key: str, what: str) -> tuple[Var, ...]:
    """Plain values only: GitLab refuses the ``{value, expand}`` form for a service."""
    for entry in reader.expect_map(node, key, what):
        if isinstance(entry.value, Map):
            raise reader.fail(
                entry.value.pos,
                yamlsrc.join_key(key, entry.key),
                f"variable '{entry.key}' in {what} must be a"
                " string, number or boolean; GitLab takes no 'value'/'expand' mapping for"
                " service variables",
            )
    return read_variables(reader, node, key, what)


def _argv(reader: GitLabReader, node: Node, key: str, what: str) -> tuple[str, ...] | None:
    """``entrypoint``/``command``: a list of strings, as GitLab requires (a string is refused).

    An empty list leaves the image's own, as gitlab-runner does; ``[""]`` is kept, and
    means "no entrypoint" to container engines.
    """
    if not isinstance(node, Seq):
        raise reader.fail(
            node.pos,
            key,
            f"{what} must be a list of strings, like [\"/bin/sh\", \"-c\"], got {describe(node)}"
            " (GitLab does not take a single string here)",
        )
    argv = tuple(text for text, _, _ in reader.strings(node, key, what))
    return argv or None


def services_for(
    reader: GitLabReader,
    specs: Sequence[ServiceSpec],
    values: Mapping[str, str],
    public: Mapping[str, str],
    *,
    job: str,
    notes: Notes,
) -> tuple[Service, ...]:
    """The services of one job instance.

    ``values`` are what the job's variables expand to (secrets as ``$NAME``), for
    ``name`` and ``alias``, expanded the runner's way. ``public`` are the job's
    variables without secrets: service ``variables`` are expanded over them by the
    job variable rules, and a secret referenced there is empty, as gitlab-runner
    gives services only public variables.
    """
    out: list[Service] = []
    taken: set[str] = set()
    for spec in specs:
        image = _image(reader, spec, values)
        names = list(default_aliases(image) or ())
        if spec.alias is not None:
            names += _explicit_aliases(reader, spec, spec.alias, values)
        fresh = claim(names, taken)
        if fresh is None:
            where = f"{spec.name[1].file or reader.file}:{spec.name[1].line}"
            notes.add(
                f"{spec.what} ({image}, at {where}) is not started: its host names are all"
                " taken by earlier services, and GitLab starts such a service only once; give"
                " it an 'alias' of its own to run both"
            )
            continue
        own = _variables(reader, spec, public, job)
        out.append(
            Service(
                image=image,
                aliases=fresh,
                entrypoint=spec.entrypoint,
                command=spec.command,
                variables=own,
                ports=_health_port(spec, public, own, notes),
                ready_on_any=True,
                pull_policy=spec.pull_policy,
            )
        )
    return tuple(out)


def _health_port(spec: ServiceSpec, public: Mapping[str, str],
                 own: tuple[tuple[str, str], ...], notes: Notes) -> tuple[int, ...]:
    """The port ``HEALTHCHECK_TCP_PORT`` names in the service's environment (see
    ``health_check_port``); a value that is not a port is noted."""
    port = health_check_port({**public, **dict(own)})
    if port is None:
        return ()
    if port == 0:
        notes.add(f"{spec.what}: {HEALTHCHECK_VARIABLE} is not a port number; runner waits"
                  " for the ports its image exposes instead")
        return ()
    return (port,)


def health_check_port(env: Mapping[str, str]) -> int | None:
    """The port ``HEALTHCHECK_TCP_PORT`` (any case) names in a service's environment:
    None without one, 0 for a value that is not a port.

    gitlab-runner reads the service container's environment (the job's public
    variables, the service's own over them) and waits for that port alone. A
    value that is not a port fails its health check at once there; callers wait
    for the image's exposed ports instead and say so.
    """
    value = next((v for n, v in env.items() if n.upper() == HEALTHCHECK_VARIABLE), None)
    if value is None:
        return None
    text = value.strip()
    return int(text) if text.isdigit() and 0 < int(text) < 65536 else 0


def _image(reader: GitLabReader, spec: ServiceSpec, values: Mapping[str, str]) -> str:
    text, pos, key = spec.name
    image = expand(text, values).strip()
    if default_aliases(image) is None:
        shown = f"'{image}'" if image else "empty"
        after = f" after expanding '{text}'" if image != text else ""
        raise reader.fail(
            pos,
            key,
            f"the image of {spec.what} is {shown}{after}, which is not an image reference"
            " (like 'postgres:16' or 'registry.example.com/group/image:tag'; lowercase path)",
        )
    return image


def _explicit_aliases(
    reader: GitLabReader, spec: ServiceSpec, alias: Located, values: Mapping[str, str]
) -> list[str]:
    """``alias``, expanded (gitlab-runner does, since its build.expandContainerOptions),
    split on commas and spaces as ``spec.Image.Aliases`` does; each must be a host name."""
    text, pos, key = alias
    expanded = expand(text, values)
    names = expanded.replace(",", " ").split()
    for name in names:
        if not is_hostname(name):
            after = f" (after expanding '{text}')" if expanded != text else ""
            raise reader.fail(
                pos,
                key,
                f"alias '{name}'{after} of {spec.what} is not a host name; use letters, digits,"
                " '-' and '_' in dot-separated parts of at most 63 characters, not starting or"
                " ending with '-'; separate several aliases with commas or spaces",
            )
    return names


def _variables(
    reader: GitLabReader, spec: ServiceSpec, public: Mapping[str, str], job: str
) -> tuple[tuple[str, str], ...]:
    """The service's own variables, over the job's (its own names win).

    gitlab-runner expands them in one pass over the job's public variables and
    the service's; the job variable rules used here agree but for chains
    between service variables (resolved here) and cycles (an error here).
    """
    if not spec.variables:
        return ()
    layers = [(name, value, False) for name, value in public.items()]
    layers += [(var.name, var.value, var.expand) for var in spec.variables]
    try:
        result = expand_all(layers)
    except CircularReferenceError as exc:
        pos, key = spec.variables_at or (spec.name[1], spec.name[2])
        raise PipelineError(reader.spot(pos, key), f"{spec.what}: {exc}") from None
    names = dict.fromkeys(var.name for var in spec.variables)
    return tuple((name, result[name]) for name in names)
