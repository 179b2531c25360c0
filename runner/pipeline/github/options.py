"""``options:`` of a job container or a service: docker flags, parsed into what runner honours.

The text is split as a shell would (act does the same; GitHub's runner
pastes it into a ``docker create`` command line). Each option is looked up
in ``optiontable``: honoured ones become typed values here, options with no
local effect are returned as notes, and everything else raises
``OptionRefused`` naming the option and why. The caller (the workflow
loader) turns that into an error pointing at the file and line.

What is honoured, and where:

- ``-e/--env NAME=VALUE``: the container's environment (job or service).
- ``--health-cmd`` with ``--health-interval``, ``--health-timeout``,
  ``--health-retries``, ``--health-start-period`` (docker's durations:
  ``500ms``, ``10s``, ``1m30s``): a service's readiness (``model.Health``).
  On a job's container they have no effect, as on GitHub, which checks
  services only. ``--no-healthcheck`` turns the check off.
- ``--entrypoint``: a service's entrypoint (the job's container runs
  runner's step supervisor, and GitHub refuses it there too).
- ``-m/--memory``, ``--cpus``, ``--pids-limit``: the job's limits
  (``model.Limits``); a service runs under its job's limits.
"""

from __future__ import annotations

import re
import shlex
from dataclasses import dataclass, field

from runner.pipeline.github import optiontable
from runner.pipeline.model import Health, Limits
from runner.pipeline.sizes import parse_size


class OptionRefused(ValueError):
    """An option runner will not take, or one written wrongly; ``option`` is its name."""

    def __init__(self, option: str, why: str) -> None:
        super().__init__(f"option {option}: {why}")
        self.option = option


@dataclass(frozen=True)
class ContainerOptions:
    """What one ``options:`` string asks for, as far as runner honours it."""

    env: tuple[tuple[str, str], ...] = ()
    health: Health | None = None
    """A service's readiness command; None: none given (or ``--no-healthcheck``)."""
    entrypoint: tuple[str, ...] | None = None
    """A service's entrypoint (``()`` for ``--entrypoint ""``: none); None: the image's."""
    limits: Limits = field(default_factory=Limits)
    """A job container's limits (never set for a service)."""
    no_effect: tuple[tuple[str, str], ...] = ()
    """(option, why it does nothing here), in the order written, for the list of what
    does not apply locally."""


_ENV_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_GO_DURATION = re.compile(r"((?:\d+(?:\.\d*)?|\.\d+)(?:ns|us|µs|μs|ms|s|m|h))+")
_GO_PART = re.compile(r"(\d+(?:\.\d*)?|\.\d+)(ns|us|µs|μs|ms|s|m|h)")
_GO_UNITS = {"ns": 1e-9, "us": 1e-6, "µs": 1e-6, "μs": 1e-6, "ms": 1e-3, "s": 1.0, "m": 60.0,
             "h": 3600.0}
_HEALTH_DEFAULTS = Health(command="")
_JOB_ONLY = ("--memory", "--cpus", "--pids-limit")


def parse_container_options(text: str, *, service: bool = False) -> ContainerOptions:
    """The options in ``text`` for a job's container, or for a service with ``service``.

    Raises ``OptionRefused`` for the first option that is refused, unknown,
    missing its value or given a bad one.
    """
    try:
        words = shlex.split(text)
    except ValueError as exc:
        raise OptionRefused("options", f"cannot be split as a shell would ({exc})") from None
    given: list[tuple[str, str]] = []
    notes: list[tuple[str, str]] = []
    for option, value in _pairs(words):
        if option in optiontable.REFUSED:
            raise OptionRefused(option, f"refused: {optiontable.REFUSED[option]}")
        if option in optiontable.NO_EFFECT:
            notes.append((option, optiontable.NO_EFFECT[option]))
        elif service and option in _JOB_ONLY:
            raise OptionRefused(option, "refused on a service: a service runs under its job's"
                                        " limits; set them in the job container's options")
        elif not service and option == "--entrypoint":
            raise OptionRefused(option, "refused on a job's container: it runs runner's step"
                                        " supervisor (GitHub does not take it there either)")
        else:
            given.append((option, value))
    health = _health(given)
    if health is not None and not service:
        notes.append(("--health-cmd", "GitHub checks the health of service containers only"))
        health = None
    return ContainerOptions(
        env=tuple(_env(value) for option, value in given if option == "--env"),
        health=health,
        entrypoint=_entrypoint(given),
        limits=_limits(given),
        no_effect=tuple(notes),
    )


def parse_go_duration(option: str, text: str) -> float:
    """Seconds in a Go duration (``1m30s``, ``500ms``, ``0``), as docker reads them."""
    if text == "0":
        return 0.0
    if not _GO_DURATION.fullmatch(text):
        raise OptionRefused(option, f"{text!r} is not a duration (write it as docker does:"
                                    " 500ms, 10s, 1m30s, 1h)")
    return sum(float(number) * _GO_UNITS[unit] for number, unit in _GO_PART.findall(text))


def _pairs(words: list[str]) -> list[tuple[str, str]]:
    """(long option name, value) for each option, as docker's flag parser reads them.

    ``--name=value``, ``--name value``, ``-e value``, ``-evalue``, ``-e=value``
    and grouped one-letter switches (``-it``); booleans have the value "true"
    unless written ``--flag=false``.
    """
    pairs: list[tuple[str, str]] = []
    index = 0
    while index < len(words):
        word = words[index]
        index += 1
        if word.startswith("--") and len(word) > 2:
            name, eq, value = word.partition("=")
            name = optiontable.ALIASES.get(name, name)
        elif word.startswith("-") and len(word) > 1:
            name, eq, value = _short(word, pairs)
            if not name:
                continue
        else:
            raise OptionRefused(repr(word), "is not an option; `options:` holds only options"
                                            " (the image is the `image:` key)")
        if name not in optiontable.KNOWN:
            raise OptionRefused(name, "refused: not an option of docker create")
        if name in optiontable.BOOLEAN:
            pairs.append((name, _boolean(name, value) if eq else "true"))
        elif eq:
            pairs.append((name, value))
        elif index < len(words):
            pairs.append((name, words[index]))
            index += 1
        else:
            raise OptionRefused(name, "needs a value")
    return pairs


def _short(word: str, pairs: list[tuple[str, str]]) -> tuple[str, str, str]:
    """One-letter options: a run of switches (appended to ``pairs``), then maybe one with a value.

    Returns (name, "=" or "", value) for the option left to finish, or an empty name
    when the word held only switches.
    """
    for at in range(1, len(word)):
        letter = "-" + word[at]
        if letter not in optiontable.SHORT:
            raise OptionRefused(letter, "refused: not an option of docker create")
        name = optiontable.SHORT[letter]
        rest = word[at + 1:]
        if name not in optiontable.BOOLEAN:
            if rest:
                return name, "=", rest.removeprefix("=")
            return name, "", ""
        if rest.startswith("="):
            return name, "=", rest[1:]
        pairs.append((name, "true"))
    return "", "", ""


def _boolean(option: str, value: str) -> str:
    if value.lower() in ("true", "1", "t"):
        return "true"
    if value.lower() in ("false", "0", "f"):
        return "false"
    raise OptionRefused(option, f"takes true or false, not {value!r}")


def _env(value: str) -> tuple[str, str]:
    name, eq, rest = value.partition("=")
    if not eq:
        raise OptionRefused("--env", f"{value!r} has no value: write NAME=VALUE (docker would"
                                     " copy the variable from the machine running the job)")
    if not _ENV_NAME.fullmatch(name):
        raise OptionRefused("--env", f"{name!r} is not a variable name")
    return name, rest


def _last(given: list[tuple[str, str]], option: str) -> str | None:
    """The value written last for ``option`` (docker keeps the last of a repeated flag)."""
    values = [value for name, value in given if name == option]
    return values[-1] if values else None


def _health(given: list[tuple[str, str]]) -> Health | None:
    command = _last(given, "--health-cmd")
    settings = [name for name, _ in given if name.startswith("--health-")
                and name != "--health-cmd"]
    if _last(given, "--no-healthcheck") == "true":
        if command is not None:
            raise OptionRefused("--no-healthcheck", "cannot be combined with --health-cmd")
        return None
    if command is None:
        if settings:
            raise OptionRefused(settings[0], "needs --health-cmd: runner does not run an"
                                             " image's own HEALTHCHECK")
        return None
    if not command.strip():
        raise OptionRefused("--health-cmd", "is empty")
    retries_text = _last(given, "--health-retries")
    try:
        retries = int(retries_text) if retries_text is not None else 0
    except ValueError:
        raise OptionRefused("--health-retries", f"{retries_text!r} is not a whole number"
                            ) from None
    if retries < 0:
        raise OptionRefused("--health-retries", "cannot be negative")
    _seconds(given, "--health-start-interval")  # checked; runner probes often while starting
    defaults = _HEALTH_DEFAULTS
    return Health(  # docker: a zero (or absent) setting means its default
        command=command,
        interval_s=_seconds(given, "--health-interval") or defaults.interval_s,
        timeout_s=_seconds(given, "--health-timeout") or defaults.timeout_s,
        retries=retries or defaults.retries,
        start_period_s=_seconds(given, "--health-start-period") or defaults.start_period_s,
    )


def _seconds(given: list[tuple[str, str]], option: str) -> float:
    value = _last(given, option)
    return 0.0 if value is None else parse_go_duration(option, value)


def _entrypoint(given: list[tuple[str, str]]) -> tuple[str, ...] | None:
    value = _last(given, "--entrypoint")
    if value is None:
        return None
    return (value,) if value else ()


def _limits(given: list[tuple[str, str]]) -> Limits:
    memory = _last(given, "--memory")
    cpus = _last(given, "--cpus")
    pids = _last(given, "--pids-limit")
    try:
        memory_bytes = None if memory is None else parse_size(memory)
    except ValueError as exc:
        raise OptionRefused("--memory", str(exc)) from None
    return Limits(memory=memory_bytes, cpus=_cpus(cpus), pids=_pids(pids))


def _cpus(value: str | None) -> float | None:
    if value is None:
        return None
    try:
        cpus = float(value)
    except ValueError:
        raise OptionRefused("--cpus", f"{value!r} is not a number of CPUs") from None
    if not cpus > 0 or cpus == float("inf"):
        raise OptionRefused("--cpus", f"must be more than zero, not {value!r}")
    return cpus


def _pids(value: str | None) -> int | None:
    if value is None:
        return None
    try:
        pids = int(value)
    except ValueError:
        raise OptionRefused("--pids-limit", f"{value!r} is not a whole number") from None
    if pids in (0, -1):  # docker: 0 and -1 are no limit
        return None
    if pids < 0:
        raise OptionRefused("--pids-limit", f"must be more than zero, not {value!r}")
    return pids
