"""``workflow:``: whether GitLab creates the pipeline at all, its name, its rule's variables.

Apart from ``translate`` because it is decided once per pipeline, from the
pipeline-wide variables only, before any job is placed: a pipeline that
workflow:rules leave out has no jobs however their own rules read.
"""

from __future__ import annotations

from runner.pipeline.gitlab.changes import ChangeSet
from runner.pipeline.gitlab.expand import expand
from runner.pipeline.gitlab.globs import ProjectFiles
from runner.pipeline.gitlab.predefined import GitInfo
from runner.pipeline.gitlab.reading import GitLabReader, Notes
from runner.pipeline.gitlab.rules import first_match, read_rules
from runner.pipeline.gitlab.variables import Var
from runner.pipeline.yamlsrc import Map

WORKFLOW_KEYS = ("rules", "name", "auto_cancel")


def read_workflow(
    reader: GitLabReader, notes: Notes, top: Map, raw: dict[str, str], *, git: GitInfo,
    files: ProjectFiles, changes: ChangeSet,
) -> tuple[bool, str | None, tuple[Var, ...]]:
    """Whether the pipeline is created, its name, and variables its matching rule sets.

    ``raw`` holds the pipeline-wide variables ``rules:if`` and ``name`` see;
    why no pipeline is created goes to ``notes``.
    """
    entry = top.get("workflow")
    if entry is None:
        return True, None, ()
    what = "'workflow'"
    spec = reader.expect_map(entry.value, "workflow", what)
    reader.check_keys(spec, WORKFLOW_KEYS, "workflow", f"in {what}")
    name = None
    if (got := reader.child(spec, "name", "workflow", what)) is not None:
        name = expand(reader.text(*got), raw, server=True)
    if (got := reader.child(spec, "auto_cancel", "workflow", what)) is not None:
        reader.expect_map(*got)
    got = reader.child(spec, "rules", "workflow", what)
    if got is None:
        return True, name, ()
    rules = read_rules(reader, *got, notes, workflow=True)
    rule = first_match(reader, rules, raw, files, changes)
    if rule is None:
        notes.add(
            f"no workflow:rules rule matches ref '{git.ref_name}', so GitLab would not create"
            " this pipeline; nothing to run"
        )
        return False, name, ()
    if rule.when == "never":
        where = f"{rule.pos.file or reader.file}:{rule.pos.line}"
        notes.add(
            f"the workflow rule at {where} says 'when: never' for ref '{git.ref_name}', so"
            " GitLab would not create this pipeline; nothing to run"
        )
        return False, name, ()
    return True, name, rule.variables
