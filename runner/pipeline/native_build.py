"""The native format's image builds: a job's ``build`` and the top-level ``registries``.

A build job runs ``buildah build`` on the host instead of a script in a
container, so the keys that describe a container make no sense beside it and
are refused with the reason. Registry passwords are named, never written: a
``password_secret`` is the name of a pipeline secret.
"""

from __future__ import annotations

import functools
import os
import re
from pathlib import Path

from runner.pipeline import values, yamlsrc
from runner.pipeline.fields import FieldReader
from runner.pipeline.model import Build, Registry, SecretSource, Spot
from runner.pipeline.yamlsrc import Map, Node, Scalar, join_index

BUILD_KEYS = ("context", "containerfile", "tags", "args", "target", "platform", "labels",
              "push", "cache", "layers", "isolation")
BUILD_CACHE_KEYS = ("from", "to")
REGISTRY_KEYS = ("ca_file", "insecure", "username", "password_secret")
NOT_WITH_BUILD = ("image", "script", "after_script", "artifacts", "cache", "services",
                  "limits")
"""Job keys that describe a container; a build job has none."""
ISOLATIONS = ("rootless", "chroot")
REGISTRY_HOST = re.compile(r"[A-Za-z0-9.-]+(:[0-9]{1,5})?|\[[0-9A-Fa-f:]+\](:[0-9]{1,5})?")


class BuildReader(FieldReader):
    """Reads ``build`` mappings and the registry table; ``secrets`` are the pipeline's."""

    def __init__(self, source: yamlsrc.Source, secrets: dict[str, SecretSource]) -> None:
        super().__init__(source)
        self.secrets = secrets

    def build(self, node: Node, key: str, what: str) -> Build:
        """One job's ``build``: every field checked, nothing read from disk yet."""
        spec = self.expect_map(node, key, what)
        self.check_keys(spec, BUILD_KEYS, key, f"in {what}")

        sub = functools.partial(self.child, spec, key=key, what=what)

        context = "." if (got := sub("context")) is None else values.rel_path(self, *got)
        containerfile = None if (got := sub("containerfile")) is None else values.rel_path(
            self, *got)
        tags = () if (got := sub("tags")) is None else self.refs(*got)
        push = (got := sub("push")) is not None and self.expect_bool(*got)
        if push and not tags:
            pos = spec.pos if (got := sub("push")) is None else got[0].pos
            raise self.fail(pos, yamlsrc.join_key(key, "push"),
                            f"{what} has 'push: true' but no 'tags' to push to; add"
                            " 'tags: [registry.example.com/team/app:latest]'")
        cache_from: tuple[str, ...] = ()
        cache_to = None
        if (got := sub("cache")) is not None:
            cache_from, cache_to = self.cache(*got)
        isolation = "rootless"
        if (got := sub("isolation")) is not None:
            isolation = self.expect_str(*got[:2], got[2])
            if isolation not in ISOLATIONS:
                raise self.fail(got[0].pos, got[1], f"{got[2]} must be one of "
                                f"{', '.join(ISOLATIONS)}, got '{isolation}'")
        return Build(
            context=context,
            containerfile=containerfile,
            tags=tags,
            args=() if (got := sub("args")) is None else self.pairs(*got),
            target=None if (got := sub("target")) is None else self.nonempty_str(*got),
            platform=None if (got := sub("platform")) is None else self.platform(*got),
            labels=() if (got := sub("labels")) is None else self.pairs(*got),
            push=push,
            cache_from=cache_from,
            cache_to=cache_to,
            layers=(got := sub("layers")) is None or self.expect_bool(*got),
            isolation=isolation,
        )

    def refs(self, node: Node, key: str, what: str) -> tuple[str, ...]:
        """Image references (one string or a list), without whitespace, each once."""
        if isinstance(node, Scalar):
            return (values.image(self, node, key, what, expands=True),)
        items = self.expect_seq(node, key, f"{what} (a list of image references)").items
        refs: list[str] = []
        for index, item in enumerate(items):
            path = join_index(key, index)
            ref = values.image(self, item, path, f"an image reference in {what}", expands=True)
            if ref in refs:
                raise self.fail(item.pos, path, f"{what} lists '{ref}' twice")
            refs.append(ref)
        if not refs:
            raise self.fail(node.pos, key, f"{what} is empty; list at least one reference")
        return tuple(refs)

    def pairs(self, node: Node, key: str, what: str) -> tuple[tuple[str, str], ...]:
        """``args``/``labels``: names to scalar values, kept in file order."""
        mapping = self.expect_map(node, key, what)
        pairs: list[tuple[str, str]] = []
        for entry in mapping:
            path = yamlsrc.join_key(key, entry.key)
            if not entry.key or "=" in entry.key or any(c.isspace() for c in entry.key):
                raise self.fail(entry.key_pos, path, f"'{entry.key}' in {what} is not a valid"
                                " name (no '=', no spaces)")
            pairs.append((entry.key, values.variable_value(self, entry.value, path, entry.key)))
        return tuple(pairs)

    def cache(self, node: Node, key: str, what: str) -> tuple[tuple[str, ...], str | None]:
        """``cache: {from: [refs], to: ref}``: registry repositories holding layer cache."""
        spec = self.expect_map(node, key, what)
        self.check_keys(spec, BUILD_CACHE_KEYS, key, f"in {what}")
        sources: tuple[str, ...] = ()
        if (entry := spec.get("from")) is not None:
            sources = self.refs(entry.value, yamlsrc.join_key(key, "from"), f"'from' of {what}")
        dest = None
        if (entry := spec.get("to")) is not None:
            dest = values.image(self, entry.value, yamlsrc.join_key(key, "to"), f"'to' of {what}",
                                expands=True)
        if not sources and dest is None:
            raise self.fail(spec.pos, key, f"{what} needs 'from', 'to' or both")
        return sources, dest

    def platform(self, node: Node, key: str, what: str) -> str:
        text = self.nonempty_str(node, key, what)
        if not re.fullmatch(r"[a-z0-9]+/[a-z0-9_]+(/[a-z0-9]+)?", text):
            raise self.fail(node.pos, key, f"{what} must look like 'linux/amd64' or "
                            f"'linux/arm64/v8', got '{text}'")
        return text

    def not_with_build(self, body: Map, key: str, what: str) -> None:
        """Refuse container keys in a build job, saying why."""
        for name in NOT_WITH_BUILD:
            if (entry := body.get(name)) is not None:
                raise self.fail(entry.key_pos, yamlsrc.join_key(key, name),
                                f"{what} has 'build', so it runs no container and '{name}' does"
                                " not apply; move the commands to a job that needs it")

    def registries(self, node: Node, pipeline_file: Path) -> tuple[Registry, ...]:
        """The top-level ``registries``: per-host CA, ``insecure`` opt-in and credentials."""
        mapping = self.expect_map(node, "registries", "'registries'")
        found: list[Registry] = []
        for entry in mapping:
            path = yamlsrc.join_key("registries", entry.key)
            what = f"registry '{entry.key}'"
            if not REGISTRY_HOST.fullmatch(entry.key):
                raise self.fail(entry.key_pos, path, f"{what}: the key must be a registry host"
                                " such as 'registry.example.com' or '127.0.0.1:5000' (no scheme,"
                                " no path)")
            spec = self.expect_map(entry.value, path, what)
            self.check_keys(spec, REGISTRY_KEYS, path, f"in {what}")
            ca_file = None
            if (sub := spec.get("ca_file")) is not None:
                text = self.nonempty_str(sub.value, yamlsrc.join_key(path, "ca_file"),
                                         f"'ca_file' of {what}")
                base = pipeline_file.absolute().parent
                ca_file = Path(os.path.normpath(base / Path(text).expanduser()))
            username = None
            if (sub := spec.get("username")) is not None:
                username = self.nonempty_str(sub.value, yamlsrc.join_key(path, "username"),
                                             f"'username' of {what}")
            password = None
            if (sub := spec.get("password_secret")) is not None:
                key = yamlsrc.join_key(path, "password_secret")
                password = self.nonempty_str(sub.value, key, f"'password_secret' of {what}")
                if password not in self.secrets:
                    raise self.fail(sub.value.pos, key, f"'password_secret' of {what} names"
                                    f" secret '{password}', which is not defined under the"
                                    " top-level 'secrets' (write the secret's name, never the"
                                    " password itself)")
            if (username is None) != (password is None):
                raise self.fail(spec.pos, path, f"{what} needs both 'username' and"
                                " 'password_secret', or neither")
            insecure = False
            if (sub := spec.get("insecure")) is not None:
                insecure = self.expect_bool(sub.value, yamlsrc.join_key(path, "insecure"),
                                            f"'insecure' of {what}")
            found.append(Registry(entry.key, ca_file, insecure, username, password,
                                  Spot(self.file, entry.key_pos.line, entry.key_pos.column)))
        return tuple(found)

