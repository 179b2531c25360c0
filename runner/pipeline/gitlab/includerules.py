"""``rules`` on an include, evaluated by the same code as job and workflow rules.

GitLab (lib/gitlab/ci/config/external/rules.rb) builds include rules with
``Build::Rules::Rule``, the class job rules use, limited to ``if``,
``changes``, ``exists`` and ``when`` (``always`` or ``never``). The first
rule that matches decides; none matching leaves the file out. Here the rules
are read and matched by ``rules.read_rules`` and ``rules.first_match``, so a
change to how ``changes`` or ``exists`` is evaluated reaches includes too.

``if`` sees the variables GitLab has when it expands includes: predefined,
project (the variables files) and pipeline (``--variable``) variables; not the
file's own ``variables:`` (GitLab's ``config_variables`` do not include YAML
variables). ``exists`` looks at the files of the project the including file
belongs to: the checkout, or another project's tree for a ``project`` or
``component`` file.
"""

from __future__ import annotations

from collections.abc import Mapping

from runner.pipeline.gitlab.changes import ChangeSet
from runner.pipeline.gitlab.globs import ProjectFiles
from runner.pipeline.gitlab.reading import GitLabReader, Notes
from runner.pipeline.gitlab.rules import first_match, read_rules
from runner.pipeline.yamlsrc import Map, Node, Seq, join_index

INCLUDE_RULE_KEYS = ("if", "changes", "exists", "when")


def include_passes(  # noqa: PLR0917 - the rules' own arguments plus where they look
    reader: GitLabReader,
    node: Node,
    key: str,
    variables: Mapping[str, str],
    files: ProjectFiles,
    notes: Notes,
    changes: ChangeSet,
) -> bool:
    """Whether the include's ``rules`` (at ``node``) let the file in."""
    seq = reader.expect_seq(node, key, "'rules' of an include")
    for index, rule in enumerate(seq.items):
        if isinstance(rule, Map):
            reader.check_keys(rule, INCLUDE_RULE_KEYS, join_index(key, index), "in an include rule")
        elif not isinstance(rule, Seq):
            reader.expect_map(rule, join_index(key, index), "an include rule")
    rules = read_rules(reader, node, key, "'rules' of an include", notes, workflow=True)
    matched = first_match(reader, rules, variables, files, changes)
    return matched is not None and matched.when != "never"
