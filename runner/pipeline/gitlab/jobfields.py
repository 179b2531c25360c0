"""The smaller job keywords, each read and checked: image, when, allow_failure, retry, coverage.

GitLab's spellings become the model's: retry failure kinds map onto
``RetryOn``; kinds a local run cannot have (an archived job, a stale
schedule) are noted and never retried; ``coverage``'s RE2 regex becomes the
Python pattern that matches alike.
"""

from __future__ import annotations

import re

from runner.pipeline import yamlsrc
from runner.pipeline.gitlab.artifacts import Located
from runner.pipeline.gitlab.re2 import RegexError, compile_re2
from runner.pipeline.gitlab.reading import GitLabReader, Notes
from runner.pipeline.model import PULL_POLICIES, RetryOn
from runner.pipeline.yamlsrc import Map, Node, Scalar

IMAGE_KEYS = ("name", "entrypoint", "pull_policy", "docker", "kubernetes")
RETRY_KEYS = ("max", "when", "exit_codes")
ALLOW_FAILURE_KEYS = ("exit_codes",)
JOB_WHENS = ("on_success", "on_failure", "always", "manual", "delayed")
MAX_RETRY = 2

RETRY_KINDS: dict[str, tuple[RetryOn, ...]] = {
    "always": (),
    "script_failure": (RetryOn.SCRIPT_FAILURE,),
    "job_execution_timeout": (RetryOn.TIMEOUT,),
    "stuck_or_timeout_failure": (RetryOn.TIMEOUT,),
    "runner_system_failure": (RetryOn.SYSTEM_FAILURE,),
    "unknown_failure": (RetryOn.SYSTEM_FAILURE,),
    "api_failure": (RetryOn.SYSTEM_FAILURE,),
    "scheduler_failure": (RetryOn.SYSTEM_FAILURE,),
    "data_integrity_failure": (RetryOn.SYSTEM_FAILURE,),
}
RETRY_NEVER_LOCAL = (
    "runner_unsupported",
    "stale_schedule",
    "archived_failure",
    "unmet_prerequisites",
)
"""GitLab failure kinds a local run cannot have: retrying on them never happens."""
_SLASHED = re.compile(r"\A/(.*)/\Z", re.DOTALL)


def read_image(
    reader: GitLabReader, node: Node, key: str, what: str, *, notes: Notes, job: str
) -> Located:
    """The image name as written (expanded per instance); other image keys are noted."""
    if not isinstance(node, Map):
        return reader.nonempty_str(node, key, what), node.pos, key
    reader.check_keys(node, IMAGE_KEYS, key, f"in {what}")
    got = reader.child(node, "name", key, what)
    if got is None:
        raise reader.fail(node.pos, yamlsrc.join_key(key, "name"), f"{what} has no 'name'")
    name = (reader.nonempty_str(*got), got[0].pos, got[1])
    if (sub := reader.child(node, "entrypoint", key, what)) is not None:
        entry = [text for text, _, _ in reader.strings(*sub)]
        if entry not in ([], [""]):
            notes.ignored("image:entrypoint", job)
    for other in ("docker", "kubernetes"):
        if (sub := reader.child(node, other, key, what)) is not None:
            reader.expect_map(*sub)
            notes.ignored(f"image:{other}", job)
    return name


def read_pull_policy(reader: GitLabReader, node: Node, key: str, what: str) -> tuple[str, ...]:
    """``pull_policy`` of an image or service map: one policy or a list, tried in order.

    ``()`` when the node is no map or has none: the runner's default applies.
    """
    if not isinstance(node, Map):
        return ()
    got = reader.child(node, "pull_policy", key, what)
    if got is None:
        return ()
    words = [
        reader.word(Scalar(text, text, pos, yamlsrc.STR_TAG), path, got[2], PULL_POLICIES)
        for text, pos, path in reader.strings(*got)
    ]
    return tuple(dict.fromkeys(words))


def read_when(
    reader: GitLabReader, body: Map, key: str, what: str
) -> tuple[str | None, float | None]:
    """Job-level ``when`` (never is for rules only, as in GitLab) and ``start_in``."""
    when: str | None = None
    if (got := reader.child(body, "when", key, what)) is not None:
        if isinstance(got[0], Scalar) and got[0].value == "never":
            raise reader.fail(
                got[0].pos,
                got[1],
                f"{got[2]} cannot be 'never' (GitLab allows it only in rules); to leave the"
                " job out write 'rules: [{when: never}]'",
            )
        when = reader.word(*got, JOB_WHENS)
    start = reader.child(body, "start_in", key, what)
    if start is not None and when != "delayed" and body.get("rules") is None:
        raise reader.fail(start[0].pos, start[1], f"{start[2]} goes with 'when: delayed' only")
    if start is None and when == "delayed":
        raise reader.fail(
            body.pos, yamlsrc.join_key(key, "start_in"), f"{what} is delayed but has no 'start_in'"
        )
    return when, None if start is None else reader.duration(*start)


def read_allow_failure(
    reader: GitLabReader, node: Node, key: str, what: str
) -> tuple[bool, tuple[int, ...]]:
    """``allow_failure``: a boolean, or ``{exit_codes: N | [N, ...]}``."""
    if not isinstance(node, Map):
        return reader.expect_bool(node, key, what), ()
    reader.check_keys(node, ALLOW_FAILURE_KEYS, key, f"in {what}")
    got = reader.child(node, "exit_codes", key, what)
    if got is None:
        raise reader.fail(
            node.pos, yamlsrc.join_key(key, "exit_codes"), f"{what} has no 'exit_codes'"
        )
    return True, exit_codes(reader, *got)


def exit_codes(reader: GitLabReader, node: Node, key: str, what: str) -> tuple[int, ...]:
    items = node.items if isinstance(node, yamlsrc.Seq) else (node,)
    return tuple(
        reader.integer(item, key, f"an exit code in {what}", 0, 255) for item in items
    )


def read_retry(
    reader: GitLabReader, node: Node, key: str, what: str, *, notes: Notes, job: str
) -> tuple[int, tuple[RetryOn, ...], tuple[int, ...]]:
    """``retry``: 0-2, or ``{max, when, exit_codes}``: (max, kinds of ``when``, exit codes).

    GitLab retries a failure whose kind ``when`` lists *or* whose exit code
    ``exit_codes`` lists; ``when`` defaults to ``always`` only without
    ``exit_codes``. So with exit codes, ``always`` is spelled out as every kind
    (an empty tuple then means no kind: only the codes).
    """
    if not isinstance(node, Map):
        count = reader.integer(node, key, f"{what} (or a mapping with 'max')", 0, MAX_RETRY)
        return count, (), ()
    reader.check_keys(node, RETRY_KEYS, key, f"in {what}")
    count = 0
    if (got := reader.child(node, "max", key, what)) is not None:
        count = reader.integer(*got, 0, MAX_RETRY)
    codes: tuple[int, ...] = ()
    if (got := reader.child(node, "exit_codes", key, what)) is not None:
        codes = tuple(dict.fromkeys(exit_codes(reader, *got)))
    got = reader.child(node, "when", key, what)
    if got is None:
        return count, (), codes
    kinds: list[RetryOn] = []
    every = False
    for text, pos, path in reader.strings(*got):
        word = reader.word(
            Scalar(text, text, pos, yamlsrc.STR_TAG),
            path,
            f"a 'when' of {what}",
            (*RETRY_KINDS, *RETRY_NEVER_LOCAL),
        )
        if word in RETRY_NEVER_LOCAL:
            notes.ignored(f"retry:when:{word}", job)
            continue
        every = every or word == "always"
        kinds.extend(k for k in RETRY_KINDS[word] if k not in kinds)
    if every:
        return count, (tuple(RetryOn) if codes else ()), codes
    if not kinds and not codes:
        return 0, (), ()  # only kinds of failure a local run cannot have
    return count, tuple(kinds), codes


def read_coverage(reader: GitLabReader, node: Node, key: str, what: str) -> str:
    """``coverage: '/regex/'`` (RE2) as the Python pattern that matches alike."""
    text = reader.expect_str(node, key, what)
    found = _SLASHED.match(text)
    if found is None:
        raise reader.fail(
            node.pos, key, f"{what} must be a regex between slashes, like '/Total: \\d+%/'"
        )
    try:
        return compile_re2(found.group(1), "").pattern
    except RegexError as exc:
        raise reader.fail(node.pos, key, f"{what} is not a valid regex: {exc}") from None
