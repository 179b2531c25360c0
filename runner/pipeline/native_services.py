"""A native job's ``services``: containers beside the job's, in its own pod.

An item is an image name, or ``{image, alias, entrypoint, command,
variables, ports}``. Every service is reachable on localhost and by its
aliases: the ones written plus, as in GitLab, those derived from the image
name (``postgres:15`` is ``postgres``).
"""

from __future__ import annotations

from runner.pipeline import values, yamlsrc
from runner.pipeline.aliases import default_aliases, is_hostname
from runner.pipeline.fields import FieldReader
from runner.pipeline.model import OUTPUT_REF, Service
from runner.pipeline.yamlsrc import Map, Node, Scalar, describe, join_index

SERVICE_KEYS = ("image", "alias", "entrypoint", "command", "variables", "ports")


class ServiceReader(FieldReader):
    """Reads a job's ``services`` list."""

    def services(self, node: Node, key: str, what: str) -> tuple[Service, ...]:
        items = self.expect_seq(node, key, f"{what} (a list of images or mappings)")
        found: list[Service] = []
        for index, item in enumerate(items.items):
            found.append(self.service(item, join_index(key, index), f"a service of {what}"))
        return tuple(found)

    def image(self, node: Node, key: str, what: str) -> str:
        """A service's image; build outputs live in a project's build store, not the pod's."""
        image = values.image(self, node, key, what)
        if OUTPUT_REF.search(image):
            raise self.fail(node.pos, key, f"{what} cannot be a build job's output (services run"
                            " from the user's image store; push the image and name it instead)")
        return image

    def service(self, node: Node, key: str, what: str) -> Service:
        if isinstance(node, Scalar):
            image = self.image(node, key, what)
            return Service(image, default_aliases(image) or ())
        spec = self.expect_map(node, key, f"{what} (an image name or a mapping)")
        self.check_keys(spec, SERVICE_KEYS, key, f"in {what}")
        got = self.child(spec, "image", key, what)
        if got is None:
            raise self.fail(spec.pos, yamlsrc.join_key(key, "image"), f"{what} has no 'image'")
        image = self.image(*got)
        aliases = list(default_aliases(image) or ())
        if (got := self.child(spec, "alias", key, what)) is not None:
            for alias, pos, path in self.words(*got):
                if not is_hostname(alias):
                    raise self.fail(pos, path, f"alias '{alias}' of {what} is not a valid host"
                                    " name (letters, digits, '-', '_' and dots)")
                if alias not in aliases:
                    aliases.append(alias)
        variables: tuple[tuple[str, str], ...] = ()
        if (got := self.child(spec, "variables", key, what)) is not None:
            variables = tuple(values.variable_map(self, *got)[0].items())
        return Service(
            image=image,
            aliases=tuple(aliases),
            entrypoint=self.argv(spec, "entrypoint", key, what),
            command=self.argv(spec, "command", key, what),
            variables=variables,
            ports=() if (got := self.child(spec, "ports", key, what)) is None
            else self.ports(*got),
        )

    def argv(self, spec: Map, name: str, key: str, what: str) -> tuple[str, ...] | None:
        """``entrypoint``/``command``; absent or empty means the image's own."""
        got = self.child(spec, name, key, what)
        words = () if got is None else tuple(word for word, _, _ in self.words(*got))
        return words or None

    def words(self, node: Node, key: str, what: str) -> list[tuple[str, yamlsrc.Pos, str]]:
        """A string or a list of strings, each with where it is written."""
        if isinstance(node, Scalar):
            return [(self.nonempty_str(node, key, what), node.pos, key)]
        items = self.expect_seq(node, key, f"{what} (a string or a list of strings)")
        return [(self.nonempty_str(item, join_index(key, i), f"an item of {what}"), item.pos,
                 join_index(key, i)) for i, item in enumerate(items.items)]

    def ports(self, node: Node, key: str, what: str) -> tuple[int, ...]:
        """TCP ports the service must accept connections on before the job starts."""
        items = self.expect_seq(node, key, f"{what} (a list of port numbers)")
        ports: list[int] = []
        for index, item in enumerate(items.items):
            value = item.value if isinstance(item, Scalar) else None
            if isinstance(value, bool) or not isinstance(value, int) or not 0 < value < 65536:
                shown = not isinstance(value, bool) and isinstance(value, int | float | str)
                got = repr(value) if shown else describe(item)
                raise self.fail(item.pos, join_index(key, index), f"an item of {what} must be a"
                                f" port number from 1 to 65535, got {got}")
            ports.append(value)
        return tuple(ports)
