"""A job run alone takes what its needs kept in an earlier run, as gitlab-ci-local does.

``runner exec FILE test`` runs ``test`` without the jobs it needs (``--needs``
runs them first). Like gitlab-ci-local, which copies in
``.gitlab-ci-local/artifacts/<need>/`` and stops with "doesn't exist, did you
forget --needs" when a need never ran, the job gets the artifacts its needs
left in ``STATE/artifacts/`` and the dotenv variables they handed on.

``STATE/artifacts/<need>`` holds whatever the need's latest run kept there,
which is not always a passing run's: ``artifacts:when: always`` keeps a
failed run's files. So every run that passes or keeps artifacts records its
outcome in ``STATE/kept/<job>.json``: the run id, whether it passed, whether
it kept artifacts, and the dotenv variables it handed on (kept in the record
itself, since dotenv reports are read whatever the outcome). A failed run
that kept no artifacts leaves the record of the last passing run alone, whose
artifacts are then still the ones there. A need is taken only from a passing
run's record; otherwise the run stops before anything starts (exit 2),
naming the need and ``--needs``.

Records are read only from a state dir that is the user's own, with no link
in it (``check_state_dir``), and opened without following links: a project
cannot ship a record or point one at another tenant's files.
"""

from __future__ import annotations

import contextlib
import json
import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from runner.errors import UserInputError
from runner.execute.layout import RunLayout, safe_name
from runner.execute.results import Taken
from runner.execute.statedir import check_state_dir, open_new
from runner.pipeline.model import Job, Need, Pipeline, When

KEPT = "kept"
OPTIONAL = frozenset({When.MANUAL, When.ON_FAILURE})
"""Needs whose jobs a passing pipeline may leave unrun: never required to have passed."""
MAX_RECORD_BYTES = 1 << 20
"""A record holds at most 20 dotenv variables of 5 KiB files: far less than this."""


@dataclass(frozen=True)
class Record:
    """One job's latest run that passed or replaced its kept files."""

    run_id: str
    status: str
    passed: bool
    artifacts: bool
    dotenv: tuple[tuple[str, str], ...] = ()


def record_path(state: Path, job: str) -> Path:
    """Where ``job``'s record is (``safe_name`` plus a fixed suffix: one file per job)."""
    return state / KEPT / f"{safe_name(job)}.json"


def write_record(state: Path, job: str, record: Record) -> None:
    """Replace ``job``'s record at once: written under a name of the run's own, then renamed
    (rename replaces a link itself, never what it points to)."""
    final = record_path(state, job)
    final.parent.mkdir(exist_ok=True)
    temporary = final.with_name(f".{final.name}.{record.run_id}")
    doc = {"job": job, "run_id": record.run_id, "status": record.status,
           "passed": record.passed, "artifacts": record.artifacts,
           "dotenv": [list(pair) for pair in record.dotenv]}
    with os.fdopen(open_new(temporary, 0o600), "w") as out:
        json.dump(doc, out)
    temporary.replace(final)


def read_record(state: Path, job: str) -> Record | None:
    """``job``'s record; None if there is none, or it is not one runner wrote."""
    try:
        fd = os.open(record_path(state, job), os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC)
    except OSError:
        return None
    with os.fdopen(fd, "rb") as stream:
        data = stream.read(MAX_RECORD_BYTES + 1)
    with contextlib.suppress(ValueError, TypeError, KeyError):
        doc = json.loads(data) if len(data) <= MAX_RECORD_BYTES else None
        if isinstance(doc, dict) and doc.get("job") == job:
            pairs = tuple((str(k), str(v)) for k, v in doc["dotenv"])
            if all(isinstance(doc[key], bool) for key in ("passed", "artifacts")):
                return Record(str(doc["run_id"]), str(doc["status"]), doc["passed"],
                              doc["artifacts"], pairs)
    return None


def artifact_layers(layout: RunLayout, taken: Sequence[Taken], job: Job) -> list[Path]:
    """The artifacts dirs restored into ``job``'s workspace, in need order: this run's needs',
    then those it takes from earlier runs."""
    return [*(layout.artifacts(need.job) for need in job.needs if need.artifacts),
            *(layout.artifacts(t.need) for t in taken if t.job == job.name and t.artifacts)]


def taken_dotenv(taken: Sequence[Taken], job: Job) -> list[tuple[str, str]]:
    """The dotenv variables ``job`` takes from its needs' earlier runs."""
    return [pair for t in taken if t.job == job.name for pair in t.dotenv]


def take_kept(state: Path, whole: Pipeline, left: Sequence[tuple[str, Need]],
              command: str) -> tuple[tuple[Taken, ...], list[str]]:
    """What each selected job takes from the needs it runs without, and notes saying so.

    ``left`` is (job, need) for every need left out (``select.left_out``);
    ``command`` is the command line to suggest with ``--needs``. Raises
    UserInputError naming every need that has no passing run to take from,
    unless it is a manual or on_failure job (then the job runs without it).
    """
    check_state_dir(state)
    taken: list[Taken] = []
    notes: list[str] = []
    missing: list[str] = []
    without: dict[str, list[str]] = {}
    for job, need in left:
        if not need.artifacts or whole.job(need.job).build is not None:
            without.setdefault(job, []).append(need.job)
            continue
        record = read_record(state, need.job)
        if (record is None or not record.passed) and whole.job(need.job).when in OPTIONAL:
            # Jobs a passing pipeline does not run either (an earlier stage's manual or
            # on_failure job): the job runs without them, as it would in GitLab.
            without.setdefault(job, []).append(need.job)
        elif record is None:
            missing.append(f"'{need.job}' (needed by '{job}') has no passing run kept in "
                           f"{state}")
        elif not record.passed:
            missing.append(f"'{need.job}' (needed by '{job}') {record.status} in its last run "
                           f"({record.run_id}), which replaced what it had kept")
        else:
            artifacts = record.artifacts and (state / "artifacts" / safe_name(need.job)).is_dir()
            taken.append(Taken(job, need.job, record.run_id, artifacts, record.dotenv))
            notes.append(f"job '{job}' takes the artifacts and dotenv variables of "
                         f"'{need.job}' from its run {record.run_id}; add --needs to run "
                         f"'{need.job}' again first")
    for job, names in without.items():
        shown = ", ".join(f"'{name}'" for name in names)
        notes.append(f"job '{job}' runs without {shown}, which it needs; add --needs to run "
                     "them first")
    if missing:
        raise UserInputError(
            "a job named alone takes the artifacts of the jobs it needs from their last "
            f"passing run, and there is none to take: {'; '.join(missing)}."
        ).with_hint(f"run them first with --needs: {command} --needs")
    return tuple(taken), notes
