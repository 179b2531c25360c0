"""GitLab files load as Ruby's Psych loads them: duplicate keys and ``<<`` in document order.

GitLab reads ``.gitlab-ci.yml`` with ``YAML.safe_load(config, ..., aliases: true)``
(lib/gitlab/config/loader/yaml.rb), so a mapping becomes a Ruby Hash through
Psych's ``Psych::Visitors::ToRuby#revive_hash`` (ruby/psych,
lib/psych/visitors/to_ruby.rb). Every expected value below is what that method
returns, worked out by hand from its code:

- each pair is applied in document order with ``hash[key] = val``: a later
  duplicate replaces the value, and a Ruby Hash keeps the key where it was FIRST
  inserted;
- a key equal to ``"<<"`` whose node is not tagged ``!!str`` (a quoted ``"<<"`` has
  no tag in Psych, so it merges too) is a merge: for an alias or a mapping,
  ``hash.merge!(val)`` (later wins, so a ``<<`` after explicit keys overrides them);
  for a written sequence, ``h = {}; val.reverse_each { |v| h.merge!(v) }; hash.merge!(h)``
  (the first mapping wins, and ``h``'s key order starts with the LAST mapping's keys);
- ``merge!`` of something that is not a Hash raises TypeError, rescued into
  ``hash["<<"] = val``: a plain ``<<`` key (alias to a list or null, a list holding a
  non-mapping, the partial merge thrown away); a scalar value is a plain key too.

The native format stays strict (tests/unit/pipeline/test_yamlsrc.py).
"""

from __future__ import annotations

import textwrap
from pathlib import Path

from runner.pipeline.gitlab.compose import compose
from runner.pipeline.gitlab.predefined import GitInfo
from runner.pipeline.gitlab.source import load_text
from runner.pipeline.gitlab.translate import Options, translate
from runner.pipeline.yamlsrc import Map, Node, Scalar, Seq, Source

FILE = ".gitlab-ci.yml"


def plain(node: Node) -> object:
    """The tree as Ruby would print it: mappings as lists of pairs, so order is compared."""
    if isinstance(node, Map):
        return [(entry.key, plain(entry.value)) for entry in node]
    if isinstance(node, Seq):
        return [plain(item) for item in node.items]
    assert isinstance(node, Scalar)
    return node.value


def loaded(text: str) -> Source:
    return load_text(textwrap.dedent(text), FILE)


def top(text: str) -> object:
    return plain(loaded(text).root)


def job(text: str, name: str = "job") -> object:
    entry = loaded(text).root.get(name)
    assert entry is not None
    return plain(entry.value)


def test_duplicate_job_later_value_wins_at_the_first_position() -> None:
    """{"build"=>{"script"=>["b"]}, "test"=>...}: the second 'build' replaces the value only."""
    assert top(
        """\
        build: {script: [a]}
        test: {script: [t]}
        build: {script: [b]}
        """
    ) == [("build", [("script", ["b"])]), ("test", [("script", ["t"])])]


def test_duplicate_key_warns_with_file_line_and_keeps_the_winning_line() -> None:
    """The later key wins and is where messages point; a warning names both lines."""
    source = loaded(
        """\
        x:
          image: alpine
          script: [one]
          stage: test
          script: [two]
        """
    )
    entry = source.root.get("x")
    assert entry is not None and isinstance(entry.value, Map)
    script = entry.value.get("script")
    assert script is not None
    assert entry.value.keys() == ("image", "script", "stage")
    assert (script.key_pos.line, script.value.pos.line) == (5, 5)
    assert source.warnings == (
        "warning: .gitlab-ci.yml:5: duplicate key 'script' in job 'x' (first at line 3);"
        " the later value wins, as GitLab's YAML loader does",
    )


def test_duplicate_nested_and_top_level_keys_are_named_by_place() -> None:
    """A duplicate variable names its mapping; a duplicate job says 'at the top level'."""
    source = loaded(
        """\
        variables:
          A: "1"
          A: "2"
        x:
          variables: {B: b, B: c}
          script: [s]
        x:
          script: [t]
        """
    )
    assert source.warnings == (
        "warning: .gitlab-ci.yml:3: duplicate key 'A' in 'variables' (first at line 2);"
        " the later value wins, as GitLab's YAML loader does",
        "warning: .gitlab-ci.yml:5: duplicate key 'B' in 'x.variables' (first at line 5);"
        " the later value wins, as GitLab's YAML loader does",
        "warning: .gitlab-ci.yml:7: duplicate key 'x' at the top level (first at line 4);"
        " the later value wins, as GitLab's YAML loader does",
    )
    assert plain(source.root) == [("variables", [("A", "2")]), ("x", [("script", ["t"])])]


def test_merge_after_explicit_keys_overrides_them() -> None:
    """hash.merge!(base) after 'image' was set: {"image"=>"ruby", "script"=>..., "stage"=>...}."""
    source = loaded(
        """\
        .base: &base {image: ruby, stage: test}
        job:
          image: alpine
          script: [x]
          <<: *base
        """
    )
    entry = source.root.get("job")
    assert entry is not None
    assert plain(entry.value) == [("image", "ruby"), ("script", ["x"]), ("stage", "test")]
    assert source.warnings == (
        "warning: .gitlab-ci.yml:5: the merge key '<<' replaces 'image' in job 'job' written"
        " before it (line 3); the merged value wins, as GitLab's YAML loader does",
    )


def test_explicit_key_after_merge_overrides_at_the_merged_position() -> None:
    """{"image"=>"c", "tags"=>["x"]}: 'image' stays first, where the merge inserted it."""
    assert job(
        """\
        .a: &a {image: a, tags: [x]}
        job:
          <<: *a
          image: c
        """
    ) == [("image", "c"), ("tags", ["x"])]


def test_repeated_merge_keys_apply_in_order_later_wins() -> None:
    """merge!(a), 'script', merge!(b): b's image replaces a's at a's position."""
    source = loaded(
        """\
        .a: &a {image: a, tags: [x]}
        .b: &b {image: b, retry: 1}
        job:
          <<: *a
          script: [s]
          <<: *b
        """
    )
    entry = source.root.get("job")
    assert entry is not None
    assert plain(entry.value) == [
        ("image", "b"), ("tags", ["x"]), ("script", ["s"]), ("retry", 1)
    ]
    assert source.warnings == ()  # no key written twice, no written key replaced


def test_merge_list_first_mapping_wins_and_last_mappings_keys_come_first() -> None:
    """reverse_each into h: h = {k: from-b, y: 2} then merge!(a) -> {k: from-a, y: 2, x: 1}."""
    assert job(
        """\
        .a: &a {k: from-a, x: 1}
        .b: &b {k: from-b, y: 2}
        job:
          <<: [*a, *b]
        """
    ) == [("k", "from-a"), ("y", 2), ("x", 1)]


def test_merge_of_a_scalar_is_a_plain_key() -> None:
    """The 'else' branch: hash["<<"] = 5."""
    assert job("job:\n  <<: 5\n  script: [x]\n") == [("<<", 5), ("script", ["x"])]


def test_merge_of_an_alias_to_a_list_is_a_plain_key() -> None:
    """Nodes::Alias -> merge!(Array) raises TypeError -> hash["<<"] = the whole array."""
    assert job(
        """\
        .a: &a {image: a}
        .all: &all [*a]
        job:
          <<: *all
        """
    ) == [("<<", [[("image", "a")]])]


def test_merge_of_an_alias_to_null_is_a_plain_key() -> None:
    """Psych's own test_merge_nil: {'<<' => nil}."""
    assert job(".d: &d\njob:\n  <<: *d\n") == [("<<", None)]


def test_merge_list_with_a_non_mapping_is_a_plain_key_and_merges_nothing() -> None:
    """Psych's test_merge_is_not_partial: the partial h is dropped, '<<' keeps the list."""
    assert job(
        """\
        .a: &a {image: a}
        job:
          <<: [*a, 1]
        """
    ) == [("<<", [[("image", "a")], 1])]


def test_quoted_merge_key_merges_and_explicit_str_tag_does_not() -> None:
    """Only a '<<' tagged !!str is a plain key; a quoted one carries no tag in Psych."""
    text = """\
        .a: &a {image: a}
        quoted:
          "<<": *a
        tagged:
          !!str <<: *a
        """
    assert job(text, "quoted") == [("image", "a")]
    assert job(text, "tagged") == [("<<", [("image", "a")])]


def test_a_written_merge_mapping_merges() -> None:
    """Nodes::Mapping is merged as an alias is (Psych's test_merge_key_with_bare_hash)."""
    assert job("job:\n  script: [x]\n  <<:\n    script: [y]\n    stage: s\n") == [
        ("script", ["y"]), ("stage", "s")
    ]


MAIN = GitInfo(sha="a" * 40, short_sha="a" * 8, ref_name="main", branch="main", tag=None,
               default_branch="main", message="m\n", title="m",
               timestamp="2026-11-23T10:00:00+00:00", author="Dev <dev@example.com>")


def test_pipeline_job_order_and_values_follow_psych(tmp_path: Path) -> None:
    """A job defined twice runs the later definition, in the first one's place; warned once."""
    (tmp_path / FILE).write_text(
        textwrap.dedent(
            """\
            .defaults: &defaults
              image: alpine:3.20
              stage: test
            lint:
              script: [echo old-lint]
            unit:
              <<: *defaults
              script: [echo unit]
            lint:
              stage: build
              script: [echo new-lint]
              <<: *defaults
            """
        )
    )
    composed = compose(tmp_path / FILE, tmp_path)
    pipeline = translate(composed, tmp_path, Options(git=MAIN))
    assert [(j.name, j.stage, j.script) for j in pipeline.jobs] == [
        ("lint", "test", ("echo new-lint",)),
        ("unit", "test", ("echo unit",)),
    ]
    label = str(tmp_path / FILE)
    warned = [note for note in pipeline.notes if note.startswith("warning:")]
    assert warned == [
        f"warning: {label}:9: duplicate key 'lint' at the top level (first at line 4);"
        " the later value wins, as GitLab's YAML loader does",
        f"warning: {label}:12: the merge key '<<' replaces 'stage' in job 'lint' written before"
        " it (line 10); the merged value wins, as GitLab's YAML loader does",
    ]


def test_warnings_of_an_included_file_name_that_file(tmp_path: Path) -> None:
    """A duplicate key in a local include is warned about with the include's own name."""
    (tmp_path / "ci").mkdir()
    (tmp_path / "ci" / "jobs.yml").write_text("a:\n  script: [x]\n  script: [y]\n")
    (tmp_path / FILE).write_text("include: ci/jobs.yml\nb:\n  script: [z]\n")
    composed = compose(tmp_path / FILE, tmp_path)
    assert any(
        note.startswith(f"warning: {tmp_path / 'ci' / 'jobs.yml'}:3: duplicate key 'script'")
        for note in composed.notes
    ), composed.notes
