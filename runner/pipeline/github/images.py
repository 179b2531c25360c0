"""Where a job runs: ``runs-on`` labels mapped to images, ``container:``, ``services:``.

GitHub runs a job on a machine chosen by labels; runner always runs it in a
container, so each label needs an image: ``--platform LABEL=IMAGE`` (act's
``-P``), else ``platforms:`` in the user's runner config. A ``container:``
image replaces the label's (and then the label needs no mapping). Values
here are fixed when the file is read: expressions may read ``github``,
``inputs``, ``vars``, ``matrix`` and ``strategy``, not ``needs`` (the image
must be known for ``--list`` and before the job's needs have run).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field

from runner.engine.imageref import registry_of, why_not
from runner.pipeline import yamlsrc
from runner.pipeline.github import exprs
from runner.pipeline.github.options import ContainerOptions, OptionRefused, parse_container_options
from runner.pipeline.github.reading import WorkflowReader, value
from runner.pipeline.github.stepspec import Json
from runner.pipeline.model import Limits, Registry, Service
from runner.pipeline.yamlsrc import Map, Node, Pos, Scalar, Seq

CONTAINER_KEYS = ("image", "credentials", "env", "ports", "volumes", "options")
_SECRET = re.compile(r"\$\{\{\s*secrets\.([A-Za-z_][A-Za-z0-9_]*)\s*\}\}")
_VOLUME_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]*")


@dataclass(frozen=True)
class Placement:
    """A job's image, where it came from (label or container), and what goes with it."""

    image: str
    label: str
    """The ``runs-on`` label(s) as written, for ``--list``."""
    container: bool
    env: tuple[tuple[str, str], ...] = ()
    registries: tuple[Registry, ...] = ()
    services: tuple[Service, ...] = ()
    limits: Limits = field(default_factory=Limits)


class Images:
    """Reads runs-on/container/services of one job instance into a ``Placement``."""

    def __init__(self, reader: WorkflowReader, platforms: Mapping[str, str],
                 platform_hint: str, secrets: frozenset[str]) -> None:
        self.reader = reader
        self.platforms = platforms
        self.hint = platform_hint
        self.secrets = secrets
        self.notes: list[str] = []
        """Options written that have no effect locally, as ``file:line: ...`` sentences."""

    def _text(self, node: Node, key: str, place: str, contexts: Mapping[str, Json]) -> str | None:
        """A string value with its ``${{ }}`` evaluated now."""
        raw = self.reader.string(node, key, f"'{key}'")
        if raw is None or "${{" not in raw:
            return raw
        template = exprs.check(self.reader, raw, node.pos, key, place)
        if template is None:
            return None
        if any("needs" in e.contexts() for e in template.expressions):
            self.reader.problem(node.pos, key, f"'{key}' depends on 'needs'; runner decides "
                                "images when it reads the file, so write it without needs")
            return None
        try:
            return exprs.render(template, contexts)
        except Exception as exc:
            self.reader.problem(node.pos, key, f"cannot evaluate '{raw}': "
                                f"{getattr(exc, 'message', exc)}")
            return None

    def labels(self, node: Node, key: str, contexts: Mapping[str, Json]) -> list[str]:
        """``runs-on`` as labels: a string, a list, or ``{group, labels}``."""
        if isinstance(node, Map):
            self.reader.keys(node, ("group", "labels"), key, "in 'runs-on'")
            found = []
            if (got := node.get("labels")) is not None:
                found += self.labels(got.value, f"{key}.labels", contexts)
            if (got := node.get("group")) is not None:
                group = self._text(got.value, f"{key}.group", exprs.JOB + "runs-on", contexts)
                found += [group] if group else []
            return found
        items = node.items if isinstance(node, Seq) else (node,)
        found = []
        for index, item in enumerate(items):
            at = yamlsrc.join_index(key, index) if isinstance(node, Seq) else key
            label = self._text(item, at, exprs.JOB + "runs-on", contexts)
            if label:
                found.append(label)
        return found

    def placement(self, job: Map, key: str, contexts: Mapping[str, Json]) -> Placement | None:
        """The job's image and services; None after recording a problem."""
        labels: list[str] = []
        runs_on = job.get("runs-on")
        if runs_on is not None:
            labels = self.labels(runs_on.value, f"{key}.runs-on", contexts)
        shown = ", ".join(labels) or "-"
        env: tuple[tuple[str, str], ...] = ()
        registries: list[Registry] = []
        options = None
        image = None
        if (found := job.get("container")) is not None:
            got = self._container(found.value, f"{key}.container", contexts, registries)
            if got is None:
                return None
            image, env, options = got
            env += options.env if options else ()
        if not image:
            image = next((self.platforms[label] for label in labels if label in self.platforms),
                         None)
            if image is None:
                self._unmapped(runs_on.key_pos if runs_on else job.pos, key, labels)
                return None
        services = self._services(job, key, contexts, registries)
        return Placement(image, shown, found is not None, env, tuple(registries), services,
                         options.limits if options else Limits())

    def _unmapped(self, pos: Pos, key: str, labels: list[str]) -> None:
        if not labels:
            self.reader.problem(pos, key, "the job has no 'runs-on' and no 'container'; "
                                "add 'runs-on: LABEL' (mapped to an image) or 'container: IMAGE'")
            return
        label = labels[0]
        self.reader.problem(pos, f"{key}.runs-on", f"runs-on label '{label}' has no image: "
                            f"map it with --platform {label}=IMAGE or under 'platforms:' in "
                            f"{self.hint}, or give the job a 'container:'")

    def _container(self, node: Node, key: str, contexts: Mapping[str, Json],
                   registries: list[Registry]
                   ) -> tuple[str, tuple[tuple[str, str], ...], ContainerOptions | None] | None:
        if isinstance(node, Scalar):
            image = self._text(node, key, exprs.JOB + "container", contexts) or ""
            return (image, (), None) if self._image_ok(image, node.pos, key) else None
        mapping = self.reader.mapping(node, key, f"'{key}'")
        if mapping is None:
            return None
        self.reader.keys(mapping, CONTAINER_KEYS, key, f"in '{key}'")
        image = ""
        if (got := mapping.get("image")) is not None:
            image = self._text(got.value, f"{key}.image", exprs.JOB + "container", contexts) or ""
            if not self._image_ok(image, got.value.pos, f"{key}.image"):
                return None
        env = self._env(mapping, key, contexts)
        if (got := mapping.get("credentials")) is not None and image:
            self._credentials(got.value, f"{key}.credentials", image, contexts, registries)
        if (got := mapping.get("volumes")) is not None:
            self._volumes(got.value, f"{key}.volumes")
        options = None
        if (got := mapping.get("options")) is not None:
            options = self._options(got.value, f"{key}.options", contexts, service=False)
        if (got := mapping.get("ports")) is not None:
            self._ports(got.value, f"{key}.ports")
        return image, env, options

    def _image_ok(self, image: str, pos: Pos, key: str) -> bool:
        if image and (problem := why_not(image)) is not None:
            self.reader.problem(pos, key, problem)
            return False
        return True

    def _env(self, mapping: Map, key: str, contexts: Mapping[str, Json]
             ) -> tuple[tuple[str, str], ...]:
        found = mapping.get("env")
        if found is None:
            return ()
        pairs = []
        for name, raw, node in self.reader.env(found.value, f"{key}.env", f"'{key}.env'"):
            at = f"{key}.env.{name}"
            if _SECRET.search(raw):
                self.reader.problem(node.pos, at, "runner does not support secrets in a "
                                    "container's or service's 'env' (they would be written "
                                    "into its configuration); use them in step 'env:'")
                continue
            got = self._text(node, at, exprs.JOB + "container", contexts)
            if got is not None:
                pairs.append((name, got))
        return tuple(pairs)

    def _credentials(self, node: Node, key: str, image: str, contexts: Mapping[str, Json],
                     registries: list[Registry]) -> None:
        mapping = self.reader.mapping(node, key, f"'{key}'")
        if mapping is None:
            return
        self.reader.keys(mapping, ("username", "password"), key, f"in '{key}'")
        user = mapping.get("username")
        password = mapping.get("password")
        if user is None or password is None:
            self.reader.problem(mapping.pos, key, "credentials need 'username' and 'password'")
            return
        raw = value(password.value) if isinstance(password.value, Scalar) else None
        secret = _SECRET.fullmatch(raw.strip()) if isinstance(raw, str) else None
        if secret is None:
            self.reader.problem(password.value.pos, f"{key}.password", "the password must be "
                                "a secret, written '${{ secrets.NAME }}' (a literal password "
                                "in the file would be readable by everyone with the repository)")
            return
        if secret.group(1) not in self.secrets:
            self.reader.problem(password.value.pos, f"{key}.password",
                                f"secret '{secret.group(1)}' is not given; pass it with "
                                f"--secret {secret.group(1)} (from the environment)")
            return
        username = self._text(user.value, f"{key}.username", exprs.JOB + "container", contexts)
        if username is None:
            return
        host = registry_of(image) or "docker.io"
        registries.append(Registry(host=host, username=username,
                                   password_secret=secret.group(1)))

    def _volumes(self, node: Node, key: str) -> None:
        """Refused: a host path would reach outside the job, and the pipeline model has no
        volumes for named ones yet (each job already gets its own workspace)."""
        for raw, item, at in self.reader.strings(node, key, f"'{key}'"):
            source = raw.partition(":")[0]
            if _VOLUME_NAME.fullmatch(source):
                why = "named volumes are not supported yet"
            else:
                why = "it mounts a host path, which a rootless job apart from the host may not"
            self.reader.problem(item.pos, at, f"runner does not support volume '{raw}': {why}")

    def _options(self, node: Node, key: str, contexts: Mapping[str, Json], *,
                 service: bool) -> ContainerOptions | None:
        """``options:`` parsed as docker flags; refused ones are problems at their line."""
        raw = self._text(node, key, exprs.JOB + "container", contexts)
        if not raw or not raw.strip():
            return None
        try:
            got = parse_container_options(raw, service=service)
        except OptionRefused as exc:
            self.reader.problem(node.pos, key, f"runner does not support this in '{key}': {exc}")
            return None
        self.notes += [f"{self.reader.file}:{node.pos.line}: '{key}' {option}: {why}"
                       for option, why in got.no_effect]
        return got

    def _ports(self, node: Node, key: str) -> tuple[int, ...]:
        """``5432:5432``, ``5432`` or ``8080:80/tcp``: the container's port is what counts."""
        found = []
        for raw, item, at in self.reader.strings(node, key, f"'{key}'"):
            inner = raw.rpartition(":")[2].partition("/")[0]
            if not inner.isdigit() or not 0 < int(inner) < 65536:
                self.reader.problem(item.pos, at, f"port '{raw}' must be PORT or "
                                    "HOST_PORT:CONTAINER_PORT")
            else:
                found.append(int(inner))
        return tuple(found)

    def _services(self, job: Map, key: str, contexts: Mapping[str, Json],
                  registries: list[Registry]) -> tuple[Service, ...]:
        found = job.get("services")
        if found is None:
            return ()
        mapping = self.reader.mapping(found.value, f"{key}.services", f"'{key}.services'")
        if mapping is None:
            return ()
        services = []
        for entry in mapping:
            at = f"{key}.services.{entry.key}"
            spec = self.reader.mapping(entry.value, at, f"service '{entry.key}'")
            if spec is None:
                continue
            self.reader.keys(spec, CONTAINER_KEYS, at, f"in service '{entry.key}'")
            image_node = spec.get("image")
            if image_node is None:
                self.reader.problem(spec.pos, at, f"service '{entry.key}' needs an 'image'")
                continue
            image = self._text(image_node.value, f"{at}.image", exprs.JOB + "container", contexts)
            if not image:
                continue  # GitHub skips a service whose image is empty
            if not self._image_ok(image, image_node.value.pos, f"{at}.image"):
                continue
            env = self._env(spec, at, contexts)
            ports: tuple[int, ...] = ()
            if (got := spec.get("ports")) is not None:
                ports = self._ports(got.value, f"{at}.ports")
            if (got := spec.get("credentials")) is not None:
                self._credentials(got.value, f"{at}.credentials", image, contexts, registries)
            if (got := spec.get("volumes")) is not None:
                self._volumes(got.value, f"{at}.volumes")
            options = None
            if (got := spec.get("options")) is not None:
                options = self._options(got.value, f"{at}.options", contexts, service=True)
            services.append(Service(
                image=image, aliases=(entry.key,),
                variables=env + (options.env if options else ()), ports=ports,
                health=options.health if options else None,
                entrypoint=options.entrypoint if options else None))
        return tuple(services)

