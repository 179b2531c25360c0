"""The agent's configuration file: YAML, mode 0600 (it holds runner tokens), one per agent.

``runner register`` writes it and ``runner agent`` reads it. A mistake in it
is reported like a pipeline mistake: file, line, column and key, with the
nearest valid key for a typo. Writing goes through a temporary file and a
rename, so a crash never leaves half a config (and a lost token) behind.
"""

from __future__ import annotations

import datetime
import os
import re
import secrets
import string
import urllib.parse
from dataclasses import dataclass, field, replace
from pathlib import Path

import yaml

from runner.engine.imageref import why_not
from runner.errors import UserInputError
from runner.pipeline import yamlsrc
from runner.pipeline.fields import FieldReader
from runner.pipeline.model import Limits
from runner.pipeline.sizes import parse_size
from runner.pipeline.yamlsrc import Map, Node, Scalar

SYSTEM_ID = re.compile(r"[sr]_[0-9a-zA-Z]{12}")

TOP_KEYS = ("concurrent", "check_interval", "shutdown_timeout", "listen_address", "data_dir",
            "system_id", "runners")
RUNNER_KEYS = ("name", "url", "token", "id", "token_obtained_at", "token_expires_at", "limit",
               "output_limit", "ca_file", "image", "network", "runtime", "limits")
LIMIT_KEYS = ("memory", "pids", "cpus", "disk")


@dataclass(frozen=True)
class RunnerEntry:
    """One registered runner: a GitLab URL and the token it polls with."""

    name: str
    url: str
    token: str = field(repr=False)
    id: int | None = None
    token_obtained_at: str | None = None
    """When this token was obtained (ISO 8601): with the expiry, it sets the reset time."""
    token_expires_at: str | None = None
    """When GitLab says the token expires (ISO 8601, as GitLab wrote it); None: never."""
    limit: int = 0
    """Jobs of this runner at once; 0: only ``concurrent`` bounds them."""
    output_limit_kib: int = 4096
    ca_file: Path | None = None
    image: str = "busybox:latest"
    """The image of jobs that name none (gitlab-runner's ``[runners.docker] image``)."""
    network: str | None = None
    runtime: str | None = None
    limits: Limits = field(default_factory=Limits)


@dataclass(frozen=True)
class AgentConfig:
    """The whole file."""

    path: Path
    system_id: str
    runners: tuple[RunnerEntry, ...] = ()
    concurrent: int = 1
    check_interval_s: float = 3.0
    shutdown_timeout_s: float = 30.0
    listen_address: str | None = None
    """``HOST:PORT`` of /metrics and /healthz; loopback only, None: not served."""
    data_dir: Path | None = None
    """Job workspaces, traces, caches; default ``$XDG_DATA_HOME/runner/agent``."""
    fresh_system_id: bool = False
    """The file had no ``system_id``, so one was made up now: save it, or GitLab sees a new
    runner manager at every start."""

    def work_root(self) -> Path:
        """Where the agent keeps everything of its own."""
        if self.data_dir is not None:
            return self.data_dir
        base = os.environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
        return Path(base) / "runner" / "agent"


def parse_time(text: str) -> datetime.datetime | None:
    """An ISO 8601 date and time (GitLab's ``token_expires_at``) in UTC, or None if it is not
    one; a time without a zone is taken as UTC."""
    try:
        moment = datetime.datetime.fromisoformat(text.strip())
    except ValueError:
        return None
    return moment if moment.tzinfo else moment.replace(tzinfo=datetime.UTC)


def default_path() -> Path:
    """``$XDG_CONFIG_HOME/runner/agent.yml``."""
    base = os.environ.get("XDG_CONFIG_HOME") or str(Path.home() / ".config")
    return Path(base) / "runner" / "agent.yml"


def new_system_id() -> str:
    """``r_`` and 12 random alphanumerics, gitlab-runner's form for a runner machine's id."""
    alphabet = string.ascii_letters + string.digits
    return "r_" + "".join(secrets.choice(alphabet) for _ in range(12))


def load(path: Path, *, missing_ok: bool = False, private: bool = True) -> AgentConfig:
    """Read and check the config; with ``missing_ok`` a missing file is an empty config.

    With ``private``, a config that holds tokens and that other users may read
    is refused, as ssh refuses such a private key: the tokens take jobs, and
    their secrets, from GitLab. ``register`` and ``unregister`` rewrite it
    0600 instead (``save``).
    """
    try:
        text = yamlsrc.read_text(path)
    except UserInputError:
        if missing_ok and not path.exists():
            return AgentConfig(path=path, system_id=new_system_id())
        raise
    if all(not line.strip() or line.lstrip().startswith("#") for line in text.splitlines()):
        return AgentConfig(path=path, system_id=new_system_id())  # nothing but comments
    config = _Reader(yamlsrc.load_text(text, str(path))).config(path)
    if private and config.runners:
        mode = path.stat().st_mode & 0o777
        if mode & 0o077:
            raise UserInputError(
                f"{path} holds runner tokens but has mode {mode:04o}, so other users can read"
                f" them; run: chmod 600 {path}")
    return config


def url_problem(url: str) -> str | None:
    """Why ``url`` cannot be a GitLab URL (``gitlab.example.com`` lacks its scheme), or None."""
    parts = urllib.parse.urlsplit(url)
    if parts.scheme in ("http", "https") and parts.hostname:
        return None
    if not parts.scheme or not parts.netloc:
        host = url.rsplit("://", maxsplit=1)[-1]
        return f"{url!r} is not a URL; write it with its scheme: https://{host}"
    return f"{url!r} is not an http(s) URL; write it like https://gitlab.example.com"


def save(config: AgentConfig) -> None:
    """Write ``config`` atomically, mode 0600 (it holds tokens), creating its directory 0700."""
    config.path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    temp = config.path.with_name(f".{config.path.name}.{os.getpid()}.tmp")
    fd = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o600)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as out:
            out.write("# runner agent configuration; written by `runner register`. Holds "
                      "tokens: keep it 0600.\n")
            yaml.safe_dump(_document(config), out, sort_keys=False)
        temp.replace(config.path)
    except BaseException:
        temp.unlink(missing_ok=True)  # half a config with tokens in it is not left behind
        raise


def with_runner(config: AgentConfig, entry: RunnerEntry) -> AgentConfig:
    """``config`` with ``entry`` added, replacing a runner of the same name."""
    kept = tuple(r for r in config.runners if r.name != entry.name)
    return replace(config, runners=(*kept, entry))


def _document(config: AgentConfig) -> dict[str, object]:
    doc: dict[str, object] = {
        "concurrent": config.concurrent,
        "check_interval": config.check_interval_s,
        "shutdown_timeout": config.shutdown_timeout_s,
        "system_id": config.system_id,
    }
    if config.listen_address:
        doc["listen_address"] = config.listen_address
    if config.data_dir is not None:
        doc["data_dir"] = str(config.data_dir)
    runners: list[dict[str, object]] = []
    for entry in config.runners:
        item: dict[str, object] = {"name": entry.name, "url": entry.url, "token": entry.token}
        if entry.id is not None:
            item["id"] = entry.id
        if entry.token_obtained_at:
            item["token_obtained_at"] = entry.token_obtained_at
        if entry.token_expires_at:
            item["token_expires_at"] = entry.token_expires_at
        item["limit"] = entry.limit
        item["output_limit"] = entry.output_limit_kib
        item["image"] = entry.image
        for key, value in (("ca_file", entry.ca_file), ("network", entry.network),
                           ("runtime", entry.runtime)):
            if value is not None:
                item[key] = str(value)
        limits = {k: v for k, v in (("memory", entry.limits.memory), ("pids", entry.limits.pids),
                                    ("cpus", entry.limits.cpus), ("disk", entry.limits.disk))
                  if v is not None}
        if limits:
            item["limits"] = limits
        runners.append(item)
    doc["runners"] = runners
    return doc


class _Reader(FieldReader):
    """The config's fields, each checked where it is written."""

    def config(self, path: Path) -> AgentConfig:
        root = self.source.root
        self.check_keys(root, TOP_KEYS, "", "in the agent config")
        system_id = new_system_id()
        if (found := self.child(root, "system_id", "", "the agent config")) is not None:
            node, key, what = found
            system_id = self.expect_str(node, key, what)
            if not SYSTEM_ID.fullmatch(system_id):
                raise self.fail(node.pos, key, f"{what} must look like r_ or s_ and 12 letters "
                                "or digits (delete it to get a new one)")
        runners: list[RunnerEntry] = []
        if (found := self.child(root, "runners", "", "the agent config")) is not None:
            node, key, what = found
            for index, item in enumerate(self.expect_seq(node, key, what).items):
                item_key = yamlsrc.join_index(key, index)
                entry = self._runner(item, item_key)
                if any(r.name == entry.name for r in runners):
                    named = item.get("name") if isinstance(item, Map) else None
                    raise self.fail(named.value.pos if named else item.pos,
                                    yamlsrc.join_key(item_key, "name"),
                                    f"two runners are named {entry.name!r}; names must be "
                                    "unique (they name the runner's files)")
                runners.append(entry)
        return AgentConfig(
            path=path, system_id=system_id, runners=tuple(runners),
            fresh_system_id=root.get("system_id") is None,
            concurrent=int(self._number(root, "concurrent", "", 1, minimum=1, whole=True)),
            check_interval_s=self._number(root, "check_interval", "", 3.0, minimum=0.05),
            shutdown_timeout_s=self._number(root, "shutdown_timeout", "", 30.0, minimum=0),
            listen_address=self._address(root),
            data_dir=self._path(root, "data_dir", ""),
        )

    def _runner(self, node: Node, key: str) -> RunnerEntry:
        mapping = self.expect_map(node, key, "a runner")
        self.check_keys(mapping, RUNNER_KEYS, key, "in a runner")
        name = self._str(mapping, "name", key, required=True) or ""
        url = self._str(mapping, "url", key, required=True) or ""
        if (problem := url_problem(url)) is not None:
            node, path, _ = self.child(mapping, "url", key, "a runner") or (mapping, key, "")
            raise self.fail(node.pos, path, problem)
        token = self._str(mapping, "token", key, required=True) or ""
        return RunnerEntry(
            name=name, url=url, token=token,
            id=None if mapping.get("id") is None
            else int(self._number(mapping, "id", key, 0, whole=True)),
            token_obtained_at=self._time(mapping, "token_obtained_at", key),
            token_expires_at=self._time(mapping, "token_expires_at", key),
            limit=int(self._number(mapping, "limit", key, 0, minimum=0, whole=True)),
            output_limit_kib=int(self._number(mapping, "output_limit", key, 4096, minimum=1,
                                              whole=True)),
            ca_file=self._path(mapping, "ca_file", key),
            image=self._image(mapping, key),
            network=self._str(mapping, "network", key),
            runtime=self._str(mapping, "runtime", key),
            limits=self._limits(mapping, key),
        )

    def _time(self, mapping: Map, name: str, key: str) -> str | None:
        """A point in time as GitLab writes it (ISO 8601, ``2027-01-05T10:00:00.000Z``)."""
        found = self.child(mapping, name, key, "a runner")
        if found is None:
            return None
        node, path, what = found
        value = node.value if isinstance(node, Scalar) else None
        if value is None:
            return None
        if isinstance(node, Scalar) and isinstance(value, datetime.date):
            text = node.text  # a YAML timestamp, written unquoted: kept as written
        else:
            text = self.nonempty_str(node, path, what)
        if parse_time(text) is None:
            raise self.fail(node.pos, path, f"{what} must be a date and time such as "
                            f"2027-01-05T10:00:00Z, got {text!r}")
        return text

    def _image(self, mapping: Map, key: str) -> str:
        """The default image of jobs that name none: an image reference, checked here."""
        image = self._str(mapping, "image", key) or "busybox:latest"
        if (problem := why_not(image)) is not None:
            found = self.child(mapping, "image", key, "a runner")
            node, path = (found[0], found[1]) if found else (mapping, key)
            raise self.fail(node.pos, path, problem)
        return image

    def _limits(self, mapping: Map, key: str) -> Limits:
        found = self.child(mapping, "limits", key, "a runner")
        if found is None:
            return Limits()
        node, sub, what = found
        limits = self.expect_map(node, sub, what)
        self.check_keys(limits, LIMIT_KEYS, sub, "in 'limits'")
        memory, disk = self._size(limits, "memory", sub), self._size(limits, "disk", sub)
        pids = (self._number(limits, "pids", sub, 0, minimum=1, whole=True)
                if limits.get("pids") else None)
        cpus = self._number(limits, "cpus", sub, 0, minimum=0.01) if limits.get("cpus") else None
        return Limits(memory=memory, pids=None if pids is None else int(pids), cpus=cpus,
                      disk=disk)

    def _size(self, mapping: Map, name: str, key: str) -> int | None:
        entry = mapping.get(name)
        if entry is None:
            return None
        node = entry.value
        text = str(node.value) if isinstance(node, Scalar) else ""
        try:
            return parse_size(text)
        except ValueError as exc:
            raise self.fail(node.pos, yamlsrc.join_key(key, name), str(exc)) from exc

    def _str(self, mapping: Map, name: str, key: str, *, required: bool = False) -> str | None:
        found = self.child(mapping, name, key, "a runner" if key else "the agent config")
        if found is None:
            if required:
                raise self.fail(mapping.pos, key, f"a runner needs '{name}'")
            return None
        node, sub, what = found
        if isinstance(node, Scalar) and node.value is None and not required:
            return None
        return self.nonempty_str(node, sub, what)

    def _path(self, mapping: Map, name: str, key: str) -> Path | None:
        text = self._str(mapping, name, key)
        return None if text is None else Path(text).expanduser()

    def _number(self, mapping: Map, name: str, key: str, default: float,
                minimum: float | None = None, *, whole: bool = False) -> float:
        found = self.child(mapping, name, key, "a runner" if key else "the agent config")
        if found is None:
            return default
        node, sub, what = found
        value = node.value if isinstance(node, Scalar) else None
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise self.fail(node.pos, sub, f"{what} must be a number, got "
                            f"{yamlsrc.describe(node)}")
        if whole and not float(value).is_integer():
            raise self.fail(node.pos, sub, f"{what} must be a whole number, got {value:g}")
        if minimum is not None and value < minimum:
            raise self.fail(node.pos, sub, f"{what} must be at least {minimum:g}")
        return float(value)

    def _address(self, root: Map) -> str | None:
        found = self.child(root, "listen_address", "", "the agent config")
        if found is None:
            return None
        node, key, what = found
        text = self.nonempty_str(node, key, what)
        host, _, port = text.rpartition(":")
        if (host not in ("127.0.0.1", "localhost", "[::1]") or not port.isdigit()
                or not 0 < int(port) < 65536):
            raise self.fail(node.pos, key, f"{what} must be a loopback HOST:PORT such as "
                            "127.0.0.1:9252 (metrics are not for other machines to read)")
        return text
