"""GitLab's variable expansion: its server's and its runner's rules, and nested job variables."""

# Checked against docs.gitlab.com "Where variables can be used" (expansion mechanisms),
# gitlab's lib/expand_variables.rb and lib/gitlab/ci/variables/collection{,/item,/sort}.rb,
# and gitlab-runner's spec/variables.go (Variables.Expand over Go's os.Expand).
#
# Which mechanism a keyword gets (the docs' table):
#
# * runner, ``expand(text, vars)``: image, services, cache:key/paths/policy,
#   artifacts:name/paths/exclude, and the final pass over job variables.  Go's
#   os.Expand: ``$NAME`` / ``${NAME}``, ``$$`` is ``$``, undefined is empty, ``%NAME%``
#   is left alone (it is Windows cmd syntax and the runner never expands it).
# * GitLab, ``expand(text, vars, server=True)``: environment:name (checked: it uses
#   ExpandVariables.expand, undefined -> empty) and the other keywords in the docs'
#   "GitLab" column; rules:changes, rules:exists and tags keep undefined references
#   (``missing="keep"``, ExpandVariables.expand_existing, checked).  GitLab expands
#   ``%NAME%`` here too, "no matter which OS/shell handles the job".
# * none: rules:if compares the raw, unexpanded values (see expressions.evaluate);
#   script lines are left to the job's shell.

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from typing import Literal

__all__ = ["CircularReferenceError", "Missing", "expand", "expand_all"]

Missing = Literal["empty", "keep"]
_Lookup = Callable[[str], str | None]

# GitLab's reference syntax (Collection::Item::VARIABLES_REGEXP): escapes first, then the
# three reference forms.  Group 1, 2 or 3 holds the name; none for $$, %% and ${}.
_SERVER_REFERENCE = re.compile(
    r"\$\$|%%|\$([A-Za-z_][A-Za-z0-9_]*)|\$\{([A-Za-z_][A-Za-z0-9_]*)?\}|%([A-Za-z_][A-Za-z0-9_]*)%"
)
_SHELL_SPECIAL = frozenset("*#$@!?-0123456789")
_RUNNER_BUILTIN = {"$": "$", **dict.fromkeys("*#@!?0123456789", "")}
"""Names gitlab-runner answers itself (spec.Variables.value): ``$$`` is ``$``, ``$1`` empty."""


class CircularReferenceError(ValueError):
    """Variables that reference each other in a loop; GitLab refuses to create such a job."""

    def __init__(self, cycles: Sequence[Sequence[str]]) -> None:
        self.cycles = tuple(tuple(cycle) for cycle in cycles)
        listed = ", ".join("[" + ", ".join(f'"{name}"' for name in c) + "]" for c in self.cycles)
        super().__init__(f"circular variable reference detected: {listed}")


def expand(
    text: str,
    variables: Mapping[str, str],
    *,
    missing: Missing = "empty",
    server: bool = False,
) -> str:
    """``text`` with its variable references replaced, by the runner's or GitLab's rules.

    By default this is gitlab-runner's expansion (Go's ``os.Expand``), including its
    edges: ``$$`` is ``$``; ``$1``, ``$*``, ``$?`` and friends are empty; ``${}`` and an
    unclosed ``${`` are dropped; a ``$`` before anything else stays.  ``%NAME%`` is
    not expanded: only GitLab's own mechanism knows that form.

    ``server=True`` is GitLab's mechanism instead: ``$NAME``, ``${NAME}`` and
    ``%NAME%`` with names ``[A-Za-z_][A-Za-z0-9_]*``, while ``$$`` and ``%%`` pass
    through untouched for the runner to unescape later, as GitLab's variables
    collection does.  (Its keyword expander, ``ExpandVariables``, knows no escape and
    would read ``$$A`` as ``$`` and ``$A``; that bug is not copied.)

    ``missing`` says what an undefined reference becomes: ``"empty"`` (the runner, and
    GitLab's ``ExpandVariables.expand``) or ``"keep"``, the reference verbatim (GitLab's
    ``expand_existing``, used for rules:changes, rules:exists and tags).
    """
    if server:
        return _expand_server(text, variables.get, missing)
    return _expand_runner(text, variables, missing)


def expand_all(variables: Sequence[tuple[str, str, bool]]) -> dict[str, str]:
    """The values a job sees for ``(name, value, expand)`` triples given lowest precedence first.

    Two passes, as GitLab and its runner do.  GitLab first orders the variables so that
    every one comes after all definitions of the names it references (a topological
    sort that otherwise keeps the given order) and expands each against those before
    it: ``%NAME%`` included, references to undefined names kept for the runner, and
    references to ``expand: false`` variables kept too so that their raw value is
    inserted untouched later.  The runner then expands each non-raw value once more
    with `expand`'s default rules, against the first pass's values: undefined
    references become empty and ``$$`` becomes ``$``.  When a name is defined several
    times the last one in that order wins, as in the job's environment.

    ``expand`` is False for ``expand: false`` and raw project variables.  A reference
    to the variable's own name reads its other definitions (``PATH: $PATH:/x``
    extends the inherited one).  References that loop through other variables raise
    `CircularReferenceError`: GitLab's sort then hands back the values unexpanded,
    but pipeline creation reports ``<job>: circular variable reference detected: …``
    for the job and fails, so there is nothing sensible to run.
    """
    entries = list(variables)
    order = _dependency_order(entries)
    first: list[tuple[str, str, bool]] = []
    latest: dict[str, tuple[str, bool]] = {}
    for index in order:
        name, value, expandable = entries[index]
        if expandable:
            value = _expand_server(value, _lookup_for_first_pass(latest), "keep")
        first.append((name, value, expandable))
        latest[name] = (value, expandable)
    source = {name: value for name, value, _ in first}
    result: dict[str, str] = {}
    for name, value, expandable in first:
        result[name] = _expand_runner(value, source, "empty") if expandable else value
    return result


def _lookup_for_first_pass(latest: Mapping[str, tuple[str, bool]]) -> _Lookup:
    """GitLab's first pass inserts expandable values and defers raw ones to the runner."""

    def lookup(name: str) -> str | None:
        found = latest.get(name)
        if found is None or not found[1]:
            return None
        return found[0]

    return lookup


def _dependency_order(entries: Sequence[tuple[str, str, bool]]) -> list[int]:
    """Entry indices with each after every definition of the names it uses (Tarjan's SCCs).

    Like GitLab's ``Collection::Sort``, an entry depends on *all* definitions of each
    name it references, a raw entry on nothing; a strongly connected component of more
    than one entry is a cycle.  A self-reference alone is not.
    """
    positions: dict[str, list[int]] = {}
    for index, (name, _, _) in enumerate(entries):
        positions.setdefault(name, []).append(index)
    children = [
        [child for used in _referenced_names(value) for child in positions.get(used, ())]
        if expandable
        else []
        for _, value, expandable in entries
    ]
    components = _strongly_connected(children)
    cycles = [sorted(c) for c in components if len(c) > 1]
    if cycles:
        raise CircularReferenceError([[entries[i][0] for i in cycle] for cycle in cycles])
    return [component[0] for component in components]


def _referenced_names(value: str) -> list[str]:
    found = (m.group(1) or m.group(2) or m.group(3) for m in _SERVER_REFERENCE.finditer(value))
    return [name for name in found if name]


def _strongly_connected(children: Sequence[Sequence[int]]) -> list[list[int]]:
    """Tarjan's algorithm without recursion; components come out dependencies first."""
    index: dict[int, int] = {}
    low: dict[int, int] = {}
    stack: list[int] = []
    on_stack: set[int] = set()
    components: list[list[int]] = []
    for root in range(len(children)):
        if root in index:
            continue
        index[root] = low[root] = len(index)
        stack.append(root)
        on_stack.add(root)
        work = [(root, 0)]
        while work:
            node, next_child = work[-1]
            if next_child < len(children[node]):
                work[-1] = (node, next_child + 1)
                child = children[node][next_child]
                if child not in index:
                    index[child] = low[child] = len(index)
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, 0))
                elif child in on_stack:
                    low[node] = min(low[node], index[child])
                continue
            work.pop()
            if work:
                parent = work[-1][0]
                low[parent] = min(low[parent], low[node])
            if low[node] == index[node]:
                component: list[int] = []
                while not component or component[-1] != node:
                    component.append(stack.pop())
                    on_stack.discard(component[-1])
                components.append(component)
    return components


def _expand_server(text: str, lookup: _Lookup, missing: Missing) -> str:
    """GitLab's gsub over its reference syntax."""
    if "$" not in text and "%" not in text:
        return text

    def replace(match: re.Match[str]) -> str:
        name = match.group(1) or match.group(2) or match.group(3)
        if not name:
            return match.group()
        value = lookup(name)
        if value is not None:
            return value
        return match.group() if missing == "keep" else ""

    return _SERVER_REFERENCE.sub(replace, text)


def _expand_runner(text: str, variables: Mapping[str, str], missing: Missing) -> str:
    """Go's ``os.Expand`` with gitlab-runner's mapping, rewritten from its documented rules."""
    out: list[str] = []
    done = 0
    dollar = text.find("$")
    while dollar != -1 and dollar + 1 < len(text):
        out.append(text[done:dollar])
        name, width = _shell_name(text, dollar + 1)
        reference = text[dollar : dollar + 1 + width]
        if name:
            out.append(_runner_value(name, reference, variables, missing))
        elif width == 0:
            out.append("$")  # a $ before no name stays
        done = dollar + 1 + width
        dollar = text.find("$", done)
    out.append(text[done:])
    return "".join(out)


def _shell_name(text: str, start: int) -> tuple[str, int]:
    """The name after a ``$`` at ``start - 1`` and how many characters it spans.

    An empty name with a width is invalid syntax (``${}``, unclosed ``${``), which Go
    drops; an empty name without width means the ``$`` is just a dollar sign.
    """
    first = text[start]
    if first == "{":
        if text[start + 2 : start + 3] == "}" and text[start + 1] in _SHELL_SPECIAL:
            return text[start + 1], 3
        close = text.find("}", start + 1)
        if close == -1:
            return "", 1
        return text[start + 1 : close], close - start + 1
    if first in _SHELL_SPECIAL:
        return first, 1
    end = start
    while end < len(text) and (text[end] == "_" or (text[end].isascii() and text[end].isalnum())):
        end += 1
    return text[start:end], end - start


def _runner_value(name: str, reference: str, variables: Mapping[str, str], missing: Missing) -> str:
    builtin = _RUNNER_BUILTIN.get(name)
    if builtin is not None:
        return builtin
    value = variables.get(name)
    if value is not None:
        return value
    return reference if missing == "keep" else ""
