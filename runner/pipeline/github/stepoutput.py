"""A running step's output: passed on line by line, workflow commands acted on in order.

Behaviour from actions/runner ``ActionCommandManager.cs`` and ``Handlers/OutputManager.cs``:
a line that is a command is not shown (unless ``::echo::on``; ``add-mask`` then shows
``::add-mask::***``, and ``debug``/``error``/``warning``/``notice`` never echo); a
command that fails (``set-env`` and ``add-path`` are disabled, a bad ``echo`` value)
logs ``Unable to process command '...' successfully.`` and fails the step; after
``::stop-commands::TOKEN`` nothing is a command until ``::TOKEN::``, and that state
outlives the step, as the runner's one command manager per job does.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

from runner.pipeline.github import commands
from runner.pipeline.github.commands import Command
from runner.pipeline.steps import Messages

_OMIT_ECHO = frozenset({"add-mask", "debug", "error", "warning", "notice"})

SET_OUTPUT_DEPRECATED = (
    "The `{0}` command is deprecated and will be disabled soon. Please upgrade to using "
    "Environment Files. For more information see: https://github.blog/changelog/"
    "2022-10-11-github-actions-deprecating-save-state-and-set-output-commands/"
)
UNSECURE_DISABLED = (
    "The `{0}` command is disabled. Please upgrade to using Environment Files or opt into "
    "unsecure command execution by setting the `ACTIONS_ALLOW_UNSECURE_COMMANDS` environment "
    "variable to `true`. For more information see: https://github.blog/changelog/"
    "2020-10-01-github-actions-deprecating-set-env-and-add-path-commands/"
)
INVALID_STOP_MARKER = (
    "You cannot use a endToken that is an empty string, the string 'pause-logging', or "
    "another workflow command. For more information see: https://docs.github.com/actions/"
    "learn-github-actions/workflow-commands-for-github-actions#example-stopping-and-starting-"
    "workflow-commands or opt into insecure command execution by setting the "
    "`ACTIONS_ALLOW_UNSECURE_STOPCOMMAND_TOKENS` environment variable to `true`."
)


class _CommandFailed(Exception):
    """A command the runner refuses; fails the step."""


@dataclass
class StepCommandEffects:
    """What the commands of one step set, besides what went to the log."""

    outputs: dict[str, str] = field(default_factory=dict)
    state: dict[str, str] = field(default_factory=dict)
    env: dict[str, str] = field(default_factory=dict)
    path: list[str] = field(default_factory=list)
    failed: bool = False


class OutputProcessor:
    """Splits output into lines and acts on the commands among them; one per session."""

    def __init__(self, messages: Messages, workspace: str) -> None:
        self._messages = messages
        self._workspace = workspace
        self._partial = b""
        self._stop_token: str | None = None
        self._registered = set(commands.REGISTERED)
        self._echo = False
        self._env: Mapping[str, str] = {}
        self.effects = StepCommandEffects()

    def start_step(self, env: Mapping[str, str], echo: bool = False) -> None:
        """A new step begins: its own effects and echo setting; ``env`` is its env context."""
        self._env = env
        self._echo = echo
        self.effects = StepCommandEffects()
        self._partial = b""

    def feed(self, data: bytes) -> None:
        """Output as it arrives; a partial last line waits for its end (``\n`` or ``\r``, as
        .NET's ReadLine splits, so progress bars are not held back)."""
        data = self._partial + data
        cut = max(data.rfind(b"\n"), data.rfind(b"\r"))
        if cut == len(data) - 1 and data.endswith(b"\r"):
            # Hold a final "\r" back: a "\n" may follow it in the next chunk (one CRLF).
            cut = max(data.rfind(b"\n", 0, cut), data.rfind(b"\r", 0, cut))
        if cut < 0:
            self._partial = data
            return
        self._partial = data[cut + 1 :]
        self._lines(data[: cut + 1])

    def flush(self) -> None:
        """The output ended: its last line counts even without a newline."""
        rest, self._partial = self._partial, b""
        if rest:
            self._lines(rest)

    def _lines(self, data: bytes) -> None:
        if b"::" not in data and b"##[" not in data:
            self._messages.write(data)  # no command anywhere: skip the per-line work
            return
        plain = bytearray()
        for raw in data.splitlines(keepends=True):
            if b"::" not in raw and b"##[" not in raw:
                plain += raw
                continue
            line = raw.decode("utf-8", errors="replace").rstrip("\n").rstrip("\r")
            command = commands.parse(line, self._registered)
            if command is None:
                plain += raw
                continue
            if plain:
                self._messages.write(bytes(plain))
                plain.clear()
            if not self._handle(line, command):
                plain += raw
        if plain:
            self._messages.write(bytes(plain))

    def _show(self, line: str) -> None:
        self._messages.write(line.encode() + b"\n")

    def _handle(self, line: str, command: Command) -> bool:
        """Act on ``command``; False when it is output after all (commands are stopped)."""
        if self._stop_token is not None:
            if command.name != self._stop_token.lower():
                return False
            self._show(line)
            self._registered.discard(self._stop_token.lower())
            self._stop_token = None
            return True
        if command.name == "stop-commands":
            return self._stop(line, command.data)
        if self._echo and command.name not in _OMIT_ECHO:
            self._show(line)
        try:
            self._act(command)
        except _CommandFailed as failure:
            shown = command.name if command.name in _OMIT_ECHO else line
            self._error(f"Unable to process command '{shown}' successfully.")
            self._error(str(failure))
            self.effects.failed = True
        return True

    def _stop(self, line: str, token: str) -> bool:
        allowed = _truthy(self._env.get("ACTIONS_ALLOW_UNSECURE_STOPCOMMAND_TOKENS", ""))
        invalid = not token or token.lower() in self._registered or token.lower() == "pause-logging"
        if invalid and not allowed:
            self._error(f"Unable to process command '{line}' successfully.")
            self._error(INVALID_STOP_MARKER)
            self.effects.failed = True
            return True
        self._stop_token = token
        self._registered.add(token.lower())
        if len(token) > 6:
            self._messages.add_mask(token)
        self._show(line)
        return True

    def _error(self, text: str) -> None:
        self._messages.annotate("error", text, None)

    def _act(self, command: Command) -> None:
        handler = _HANDLERS.get(command.name)
        if handler is not None:
            handler(self, command)

    def _add_mask(self, command: Command) -> None:
        value = command.data
        if not value.strip():
            self._messages.annotate(
                "warning", "Can't add secret mask for empty string in ##[add-mask] command.", None
            )
            return
        if self._echo:
            self._show("::add-mask::***")
        self._messages.add_mask(value)
        for part in value.replace("\r", "\n").split("\n"):
            if part.strip() and part.strip() != value:
                self._messages.add_mask(part.strip())

    def _annotate(self, command: Command) -> None:
        title = command.properties.get("title")
        text = f"{title}: {command.data}" if title else command.data
        where = commands.annotation_where(command.properties, self._workspace)
        self._messages.annotate(command.name, text, where)

    def _group(self, command: Command) -> None:
        self._messages.group(command.data)

    def _end_group(self, _command: Command) -> None:
        self._messages.end_group()

    def _debug(self, command: Command) -> None:
        self._messages.debug(command.data)

    def _set_echo(self, command: Command) -> None:
        value = command.data.strip().upper()
        if value not in {"ON", "OFF"}:
            raise _CommandFailed(
                "Invalid echo command value. Possible values can be: 'on', 'off'. Current "
                f"value is: '{command.data}'."
            )
        self._echo = value == "ON"

    def _named(self, command: Command) -> str:
        name = command.properties.get("name", "")
        if not name:
            raise _CommandFailed(f"Required field 'name' is missing in ##[{command.name}] command.")
        return name

    def _set_output(self, command: Command) -> None:
        self._messages.annotate("warning", SET_OUTPUT_DEPRECATED.format(command.name), None)
        self.effects.outputs[self._named(command)] = command.data

    def _save_state(self, command: Command) -> None:
        self._messages.annotate("warning", SET_OUTPUT_DEPRECATED.format(command.name), None)
        self.effects.state[self._named(command)] = command.data

    def _unsecure_allowed(self) -> bool:
        return _truthy(self._env.get("ACTIONS_ALLOW_UNSECURE_COMMANDS", ""))

    def _set_env(self, command: Command) -> None:
        if not self._unsecure_allowed():
            raise _CommandFailed(UNSECURE_DISABLED.format(command.name))
        name = self._named(command)
        if name.upper() != "NODE_OPTIONS":
            self.effects.env[name] = command.data

    def _add_path(self, command: Command) -> None:
        if not self._unsecure_allowed():
            raise _CommandFailed(UNSECURE_DISABLED.format(command.name))
        if not command.data:
            raise _CommandFailed("Parameter 'path' cannot be null or empty.")
        self.effects.path.append(command.data)

    def _matcher(self, command: Command) -> None:
        self._messages.debug(f"Problem matchers are not supported; ignored ::{command.name}::")


def _truthy(text: str) -> bool:
    return text.strip().lower() == "true"


_HANDLERS: dict[str, Callable[[OutputProcessor, Command], None]] = {
    "add-mask": OutputProcessor._add_mask,
    "error": OutputProcessor._annotate,
    "warning": OutputProcessor._annotate,
    "notice": OutputProcessor._annotate,
    "group": OutputProcessor._group,
    "endgroup": OutputProcessor._end_group,
    "debug": OutputProcessor._debug,
    "echo": OutputProcessor._set_echo,
    "set-output": OutputProcessor._set_output,
    "save-state": OutputProcessor._save_state,
    "set-env": OutputProcessor._set_env,
    "add-path": OutputProcessor._add_path,
    "add-matcher": OutputProcessor._matcher,
    "remove-matcher": OutputProcessor._matcher,
}
