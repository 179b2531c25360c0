"""Tests of runner.pipeline.gitlab.compose: includes, defaults and inherit, the job list, errors.

``extends`` and ``!reference`` have their own files (test_compose_extends.py,
test_compose_reference.py); merge and preview are in test_compose_merge.py.
"""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from runner.errors import PipelineError, SourceSpot
from runner.pipeline.gitlab.compose import Composed, compose
from runner.pipeline.gitlab.preview import to_python

MAIN = ".gitlab-ci.yml"


def write(root: Path, files: dict[str, str]) -> None:
    for name, text in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text))


def composed(root: Path, files: dict[str, str]) -> Composed:
    write(root, files)
    return compose(root / MAIN, root)


def jobs(result: Composed) -> dict[str, object]:
    return {name: to_python(job) for name, job in result.jobs}


def failure(root: Path, files: dict[str, str]) -> PipelineError:
    with pytest.raises(PipelineError) as info:
        composed(root, files)
    return info.value


def spot(root: Path, name: str, line: int, column: int, key: str | None) -> SourceSpot:
    return SourceSpot(str(root / name), line, column, key)


# -- include: merging ---------------------------------------------------------


def test_string_include_is_merged_underneath_the_main_file(tmp_path: Path) -> None:
    """Included keys come first; the main file's keys win; mappings merge, lists are replaced."""
    result = composed(
        tmp_path,
        {
            MAIN: """\
            include: ci/base.yml
            variables: {B: main, C: main}
            build:
              script: [main]
              variables: {Y: main}
            """,
            "ci/base.yml": """\
            variables: {A: base, B: base}
            build:
              stage: build
              script: [base1, base2]
              variables: {X: base, Y: base}
            deploy:
              script: [deploy]
            """,
        },
    )
    assert to_python(result.top) == {"variables": {"A": "base", "B": "main", "C": "main"}}
    assert jobs(result) == {
        "build": {"stage": "build", "script": ["main"], "variables": {"X": "base", "Y": "main"}},
        "deploy": {"script": ["deploy"]},
    }
    assert [name for name, _ in result.jobs] == ["build", "deploy"]
    assert result.notes == ()


def test_list_include_merges_in_order_and_later_files_win(tmp_path: Path) -> None:
    """Strings and {local: ...} mix, a leading / is fine, and a later file overrides an earlier."""
    result = composed(
        tmp_path,
        {
            MAIN: """\
            include:
              - ci/one.yml
              - local: /ci/two.yml
            job: {script: [main]}
            """,
            "ci/one.yml": "job: {image: one, tags: [one]}\nfirst: {script: [first]}\n",
            "ci/two.yml": "job: {image: two}\nsecond: {script: [second]}\n",
        },
    )
    assert jobs(result) == {
        "job": {"image": "two", "tags": ["one"], "script": ["main"]},
        "first": {"script": ["first"]},
        "second": {"script": ["second"]},
    }
    assert [name for name, _ in result.jobs] == ["job", "first", "second"]


def test_nested_includes_are_relative_to_the_project_root(tmp_path: Path) -> None:
    """A file included by an included file is found from the root, not from its includer."""
    result = composed(
        tmp_path,
        {
            MAIN: "include: ci/a.yml\n",
            "ci/a.yml": "include: ci/deeper/b.yml\na: {script: [a], image: from-a}\n",
            "ci/deeper/b.yml": "a: {image: from-b, tags: [b]}\nb: {script: [b]}\n",
        },
    )
    assert jobs(result) == {
        "a": {"image": "from-a", "tags": ["b"], "script": ["a"]},
        "b": {"script": ["b"]},
    }


def test_the_same_file_may_be_included_twice(tmp_path: Path) -> None:
    """A diamond (two files including a third) is allowed, as in GitLab."""
    result = composed(
        tmp_path,
        {
            MAIN: "include: [ci/a.yml, ci/b.yml]\n",
            "ci/a.yml": "include: ci/common.yml\na: {script: [a]}\n",
            "ci/b.yml": "include: ci/common.yml\nb: {script: [b]}\n",
            "ci/common.yml": "common: {script: [common]}\n",
        },
    )
    assert [name for name, _ in result.jobs] == ["common", "a", "b"]


def test_star_matches_one_directory_level_in_path_order(tmp_path: Path) -> None:
    result = composed(
        tmp_path,
        {
            MAIN: "include: 'ci/*.yml'\n",
            "ci/b.yml": "b: {script: [b]}\n",
            "ci/a.yml": "a: {script: [a]}\n",
            "ci/sub/c.yml": "c: {script: [c]}\n",
        },
    )
    assert [name for name, _ in result.jobs] == ["a", "b"]


def test_double_star_matches_any_depth_including_none(tmp_path: Path) -> None:
    result = composed(
        tmp_path,
        {
            MAIN: "include: {local: 'ci/**/*.yml'}\n",
            "ci/top.yml": "top: {script: [t]}\n",
            "ci/x/mid.yml": "mid: {script: [m]}\n",
            "ci/x/y/deep.yml": "deep: {script: [d]}\n",
            "other/no.yml": "no: {script: [n]}\n",
        },
    )
    assert [name for name, _ in result.jobs] == ["top", "mid", "deep"]


def test_a_wildcard_that_matches_nothing_is_a_note(tmp_path: Path) -> None:
    result = composed(tmp_path, {MAIN: "include: 'ci/*.yml'\njob: {script: [x]}\n"})
    assert result.notes == (
        f"{tmp_path / MAIN}:1:10 (key 'include'): include 'ci/*.yml' matched no files,"
        " so it adds nothing",
    )
    assert jobs(result) == {"job": {"script": ["x"]}}


def test_include_rules_with_exists_and_when(tmp_path: Path) -> None:
    """The first rule that matches decides; no rule matching leaves the file out."""
    result = composed(
        tmp_path,
        {
            MAIN: """\
            include:
              - local: ci/present.yml
                rules: [{exists: [Dockerfile]}]
              - local: ci/absent.yml
                rules: [{exists: [missing/**/*.txt]}]
              - local: ci/never.yml
                rules: [{exists: [Dockerfile], when: never}, {when: always}]
            """,
            "Dockerfile": "FROM scratch\n",
            "ci/present.yml": "present: {script: [p]}\n",
            "ci/absent.yml": "absent: {script: [a]}\n",
            "ci/never.yml": "never: {script: [n]}\n",
        },
    )
    assert [name for name, _ in result.jobs] == ["present"]


# -- include: errors ----------------------------------------------------------


@pytest.mark.parametrize(
    ("include", "column", "key", "wanted"),
    [
        ("[a.yml, {project: g/p, file: ci.yml}]", 39, "include[1].file",
         "this include needs a GitLab server; pass --gitlab-url URL"),
        ("{template: Auto-DevOps.gitlab-ci.yml}", 21, "include.template",
         "this include needs a GitLab server; pass --gitlab-url URL"),
        ("{component: '127.0.0.1:9/g/c/x@1.0'}", 22, "include.component",
         "it was never fetched, so there is no copy to use offline"),
        ("{remote: 'https://127.0.0.1:9/ci.yml'}", 19, "include.remote",
         "it was never fetched, so there is no copy to use offline"),
        ("{artifact: gen.yml, job: make}", 11, "include.artifact",
         "works only in a child pipeline started by 'trigger'"),
    ],
)
def test_includes_that_cannot_be_had_are_errors(
    tmp_path: Path, include: str, column: int, key: str, wanted: str
) -> None:
    """No server configured, nothing listening, or no parent pipeline: a clear error."""
    write(tmp_path, {"a.yml": "a: {script: [a]}\n"})
    err = failure(tmp_path, {MAIN: f"include: {include}\n"})
    assert err.spot == spot(tmp_path, MAIN, 1, column, key)
    assert wanted in err.message


def test_an_include_cycle_names_the_chain_and_the_file_that_closes_it(tmp_path: Path) -> None:
    err = failure(
        tmp_path,
        {
            MAIN: "include: ci/a.yml\n",
            "ci/a.yml": "a: {script: [a]}\ninclude:\n  - ci/b.yml\n",
            "ci/b.yml": "include: [ci/a.yml]\n",
        },
    )
    assert err.spot == spot(tmp_path, "ci/b.yml", 1, 11, "include[0]")
    chain = [tmp_path / MAIN, tmp_path / "ci/a.yml", tmp_path / "ci/b.yml", tmp_path / "ci/a.yml"]
    assert err.message == "include cycle: " + " -> ".join(str(p) for p in chain)


def test_including_the_main_file_is_a_cycle(tmp_path: Path) -> None:
    err = failure(tmp_path, {MAIN: "include: /.gitlab-ci.yml\n"})
    assert err.spot == spot(tmp_path, MAIN, 1, 10, "include")
    assert err.message == f"include cycle: {tmp_path / MAIN} -> {tmp_path / MAIN}"


@pytest.mark.parametrize(
    ("path", "message"),
    [
        (
            "../outside.yml",
            "included file '../outside.yml' is outside the project root '{root}';"
            " local includes name files of the project",
        ),
        (
            "ci/missing.yml",
            "included file 'ci/missing.yml' does not exist (local include paths are relative"
            " to the project root '{root}')",
        ),
        (
            "ci/notes.txt",
            "included file 'ci/notes.txt' does not have a YAML extension; GitLab includes only"
            " '.yml' and '.yaml' files",
        ),
        ("ci/empty.yml", "included file 'ci/empty.yml' is empty"),
    ],
)
def test_bad_local_paths_are_errors_at_the_include(
    tmp_path: Path, path: str, message: str
) -> None:
    root = tmp_path / "project"
    write(tmp_path, {"outside.yml": "x: {script: [x]}\n"})
    write(root, {"ci/notes.txt": "x\n", "ci/empty.yml": "# nothing here\n"})
    err = failure(root, {MAIN: f"job: {{script: [x]}}\ninclude:\n  - local: {path}\n"})
    assert err.spot == spot(root, MAIN, 3, 12, "include[0].local")
    assert err.message == message.format(root=root)


def test_more_than_150_included_files_is_an_error(tmp_path: Path) -> None:
    files = {f"ci/{index:03}.yml": f"j{index}: {{script: [x]}}\n" for index in range(151)}
    err = failure(tmp_path, {MAIN: "include: 'ci/*.yml'\n", **files})
    assert err.spot == spot(tmp_path, MAIN, 1, 10, "include")
    assert err.message == (
        "more than 150 files are included; GitLab allows at most 150 includes in a pipeline"
    )


def test_150_included_files_are_fine(tmp_path: Path) -> None:
    files = {f"ci/{index:03}.yml": f"j{index}: {{script: [x]}}\n" for index in range(150)}
    assert len(composed(tmp_path, {MAIN: "include: 'ci/*.yml'\n", **files}).jobs) == 150


@pytest.mark.parametrize(
    ("text", "line", "column", "key", "message"),
    [
        (
            "include: 3\n",
            1,
            10,
            "include",
            "an include must be a file path, a URL or a mapping like '{local: ci/build.yml}',"
            " got a number",
        ),
        (
            "include: [[a.yml]]\n",
            1,
            11,
            "include[0]",
            "an include must be a file path, a URL or a mapping like '{local: ci/build.yml}',"
            " got a list",
        ),
        (
            "include: {rules: []}\n",
            1,
            10,
            "include",
            "an include needs the file to include: one of 'local', 'project', 'remote',"
            " 'template', 'component', 'artifact', like '{local: ci/build.yml}'",
        ),
        (
            "include: {local: a.yml, remote: 'https://x/y.yml'}\n",
            1,
            25,
            "include.remote",
            "an include must use only one of 'local', 'project', 'remote', 'template',"
            " 'component', 'artifact'; this one has both 'local' and 'remote'",
        ),
        (
            "include: {locale: a.yml}\n",
            1,
            11,
            "include.locale",
            "unknown key 'locale' in an include; did you mean 'local'?",
        ),
        (
            "include: {local: 7}\n",
            1,
            18,
            "include.local",
            "'include: local' must be a string, got a number",
        ),
        (
            "include: {local: a.yml, rules: [{when: manual}]}\n",
            1,
            40,
            "include.rules[0].when",
            "'when' of a rule of 'rules' of an include cannot be 'manual'; use one of 'always',"
            " 'never'",
        ),
    ],
)
def test_malformed_includes(
    tmp_path: Path, text: str, line: int, column: int, key: str, message: str
) -> None:
    write(tmp_path, {"a.yml": "a: {script: [a]}\n"})
    err = failure(tmp_path, {MAIN: text})
    assert (err.spot, err.message) == (spot(tmp_path, MAIN, line, column, key), message)


def test_a_yaml_error_in_an_included_file_names_that_file(tmp_path: Path) -> None:
    err = failure(
        tmp_path,
        {MAIN: "include: ci/bad.yml\n", "ci/bad.yml": "job:\n  script: [x\n  image: y\n"},
    )
    assert err.spot.file == str(tmp_path / "ci/bad.yml")
    assert err.spot.line == 3
    assert err.message.startswith("YAML syntax error: ")


def test_an_included_file_must_be_a_mapping(tmp_path: Path) -> None:
    err = failure(tmp_path, {MAIN: "include: ci/list.yml\n", "ci/list.yml": "- a\n- b\n"})
    assert err.spot == SourceSpot(str(tmp_path / "ci/list.yml"), 1, 1)
    assert err.message == (
        "the top level must be a mapping of jobs and keywords like 'stages', got a list"
    )


def test_a_bad_job_in_an_included_file_names_that_file(tmp_path: Path) -> None:
    err = failure(
        tmp_path,
        {MAIN: "include: ci/jobs.yml\n", "ci/jobs.yml": "ok: {script: [x]}\nbroken: [x]\n"},
    )
    assert err.spot == spot(tmp_path, "ci/jobs.yml", 2, 9, "broken")
    assert err.message == "job 'broken' must be a mapping of job keywords, got a list"


def test_an_empty_main_file_is_an_error(tmp_path: Path) -> None:
    err = failure(tmp_path, {MAIN: "# only a comment\n---\n"})
    assert err.spot == SourceSpot(str(tmp_path / MAIN), 1, 1)
    assert err.message == "the file is empty; a GitLab pipeline needs at least one job"


# -- jobs and top-level keys --------------------------------------------------


def test_reserved_keys_are_top_level_hidden_jobs_are_dropped_pages_is_a_job(
    tmp_path: Path,
) -> None:
    result = composed(
        tmp_path,
        {
            MAIN: """\
            stages: [build, deploy]
            variables: {A: a}
            workflow: {rules: [{when: always}]}
            .hidden: {script: [h]}
            pages: {stage: deploy, script: [p]}
            build: {stage: build, script: [b]}
            """,
        },
    )
    assert to_python(result.top) == {
        "stages": ["build", "deploy"],
        "variables": {"A": "a"},
        "workflow": {"rules": [{"when": "always"}]},
    }
    assert jobs(result) == {
        "pages": {"stage": "deploy", "script": ["p"]},
        "build": {"stage": "build", "script": ["b"]},
    }
    assert result.source.file == str(tmp_path / MAIN)


@pytest.mark.parametrize(
    ("text", "column", "message"),
    [
        ("job: echo hi\n", 6, "job 'job' must be a mapping of job keywords, got a string"),
        ("job:\n", 5, "job 'job' must be a mapping of job keywords, got nothing (null)"),
        (
            "stage: [build]\n",
            8,
            "job 'stage' must be a mapping of job keywords, got a list; did you mean the"
            " top-level keyword 'stages'?",
        ),
    ],
)
def test_a_visible_job_must_be_a_mapping(
    tmp_path: Path, text: str, column: int, message: str
) -> None:
    err = failure(tmp_path, {MAIN: text})
    key = text.split(":", 1)[0]
    assert (err.spot, err.message) == (spot(tmp_path, MAIN, 1, column, key), message)


def test_hidden_keys_may_hold_anything(tmp_path: Path) -> None:
    result = composed(tmp_path, {MAIN: ".list: [a, b]\n.text: t\njob: {script: [x]}\n"})
    assert jobs(result) == {"job": {"script": ["x"]}}


# -- default and inherit ------------------------------------------------------


def test_default_fills_what_a_job_does_not_set(tmp_path: Path) -> None:
    result = composed(
        tmp_path,
        {
            MAIN: """\
            default:
              image: alpine
              before_script: [setup]
              tags: [docker]
              retry: 2
            a:
              script: [a]
            b:
              image: debian
              script: [b]
              retry: 0
            """,
        },
    )
    assert jobs(result) == {
        "a": {"script": ["a"], "image": "alpine", "before_script": ["setup"],
              "tags": ["docker"], "retry": 2},
        "b": {"image": "debian", "script": ["b"], "retry": 0, "before_script": ["setup"],
              "tags": ["docker"]},
    }  # fmt: skip


def test_a_key_set_through_extends_counts_as_set(tmp_path: Path) -> None:
    result = composed(
        tmp_path,
        {
            MAIN: """\
            default: {image: alpine, tags: [default]}
            .template: {image: from-template}
            job: {extends: .template, script: [x]}
            """,
        },
    )
    assert jobs(result) == {
        "job": {"image": "from-template", "script": ["x"], "tags": ["default"]}
    }


def test_inherit_default_false_list_and_true(tmp_path: Path) -> None:
    result = composed(
        tmp_path,
        {
            MAIN: """\
            default: {image: alpine, tags: [docker], interruptible: true}
            none: {script: [x], inherit: {default: false, variables: false}}
            some: {script: [x], inherit: {default: [tags, interruptible]}}
            all: {script: [x], inherit: {default: true}}
            """,
        },
    )
    assert jobs(result) == {
        "none": {"script": ["x"], "inherit": {"default": False, "variables": False}},
        "some": {"script": ["x"], "inherit": {"default": ["tags", "interruptible"]},
                 "tags": ["docker"], "interruptible": True},
        "all": {"script": ["x"], "inherit": {"default": True}, "image": "alpine",
                "tags": ["docker"], "interruptible": True},
    }  # fmt: skip


def test_null_means_not_set(tmp_path: Path) -> None:
    """A null key takes the default in its place; a null without a default is dropped."""
    result = composed(
        tmp_path,
        {
            MAIN: """\
            default: {image: alpine}
            .base: {variables: {A: a}, tags: [t]}
            job:
              extends: .base
              image:
              script: [x]
              variables: null
            """,
        },
    )
    assert jobs(result) == {"job": {"tags": ["t"], "image": "alpine", "script": ["x"]}}
    job = dict(result.jobs)["job"]
    assert [entry.key for entry in job] == ["tags", "image", "script"]


def test_deprecated_top_level_keys_act_as_default_with_a_note(tmp_path: Path) -> None:
    result = composed(
        tmp_path,
        {
            MAIN: """\
            image: ruby
            before_script: [bundle]
            default: {tags: [docker]}
            job: {script: [x]}
            """,
        },
    )
    assert jobs(result) == {
        "job": {"script": ["x"], "tags": ["docker"], "image": "ruby", "before_script": ["bundle"]}
    }
    assert result.notes == (
        f"{tmp_path / MAIN}:1:1 (key 'image'): a top-level 'image' is deprecated in GitLab;"
        " move it under 'default:'",
        f"{tmp_path / MAIN}:2:1 (key 'before_script'): a top-level 'before_script' is deprecated"
        " in GitLab; move it under 'default:'",
    )


def test_a_key_both_at_top_level_and_in_default_is_an_error(tmp_path: Path) -> None:
    err = failure(
        tmp_path,
        {MAIN: "default:\n  image: a\nimage: b\njob: {script: [x]}\n"},
    )
    assert err.spot == spot(tmp_path, MAIN, 3, 1, "image")
    assert err.message == (
        f"'image' is set both at the top level and in 'default' (at {tmp_path / MAIN}:2:3"
        " (key 'default.image')); GitLab rejects that, so keep only 'default: image'"
    )


def test_default_before_script_from_an_included_file_keeps_its_position(tmp_path: Path) -> None:
    result = composed(
        tmp_path,
        {
            MAIN: "include: ci/defaults.yml\njob: {script: [x]}\n",
            "ci/defaults.yml": "default:\n  before_script: [setup]\n",
        },
    )
    job = dict(result.jobs)["job"]
    entry = job.get("before_script")
    assert entry is not None
    assert (entry.key_pos.file, entry.key_pos.line, entry.key_pos.column) == (
        str(tmp_path / "ci/defaults.yml"),
        2,
        3,
    )


@pytest.mark.parametrize(
    ("inherit", "column", "key", "message"),
    [
        (
            "{default: [imag]}",
            40,
            "job.inherit.default[0]",
            "'imag' is not a keyword 'default' sets; did you mean 'image'?",
        ),
        (
            "{default: [when]}",
            40,
            "job.inherit.default[0]",
            "'when' is not a keyword 'default' sets; valid ones are 'image', 'services',"
            " 'before_script', 'after_script', 'cache', 'artifacts', 'retry', 'timeout',"
            " 'interruptible', 'tags', 'hooks', 'id_tokens'",
        ),
        (
            "{default: maybe}",
            39,
            "job.inherit.default",
            "'inherit: default' of job 'job' must be true, false or a list of default"
            " keywords, got a string",
        ),
        ("[default]", 29, "job.inherit", "'inherit' of job 'job' must be a mapping, got a list"),
    ],
)
def test_malformed_inherit_default(
    tmp_path: Path, inherit: str, column: int, key: str, message: str
) -> None:
    err = failure(
        tmp_path, {MAIN: f"default: {{image: a}}\njob: {{script: [x], inherit: {inherit}}}\n"}
    )
    assert (err.spot, err.message) == (spot(tmp_path, MAIN, 2, column, key), message)


def test_scripts_rules_and_stages_are_flattened(tmp_path: Path) -> None:
    """Anchored lists inside these lists splice in, as GitLab reads them."""
    result = composed(
        tmp_path,
        {
            MAIN: """\
            .steps: &steps [one, two]
            .rules: &rules [{if: $A}, {if: $B}]
            .stages: &stages [build, test]
            stages: [first, *stages]
            default:
              before_script: [*steps, three]
            workflow:
              rules: [*rules, {when: always}]
            job:
              script: [[[deep]], *steps]
              after_script: [*steps]
              rules: [*rules]
              hooks: {pre_get_sources_script: [*steps]}
            """,
        },
    )
    assert to_python(result.top) == {
        "stages": ["first", "build", "test"],
        "default": {"before_script": ["one", "two", "three"]},
        "workflow": {"rules": [{"if": "$A"}, {"if": "$B"}, {"when": "always"}]},
    }
    assert jobs(result) == {
        "job": {
            "script": ["deep", "one", "two"],
            "after_script": ["one", "two"],
            "rules": [{"if": "$A"}, {"if": "$B"}],
            "hooks": {"pre_get_sources_script": ["one", "two"]},
            "before_script": ["one", "two", "three"],
        }
    }


def test_lists_nested_more_than_ten_deep_in_a_script_are_an_error(tmp_path: Path) -> None:
    ten = "[" * 10 + "x" + "]" * 10
    assert jobs(composed(tmp_path, {MAIN: f"job: {{script: {ten}}}\n"})) == {
        "job": {"script": ["x"]}
    }
    eleven = "[" * 11 + "x" + "]" * 11
    err = failure(tmp_path, {MAIN: f"job: {{script: {eleven}}}\n"})
    assert err.spot == spot(tmp_path, MAIN, 1, 25, "job.script" + "[0]" * 10)
    assert err.message == (
        "'job.script' nests lists more than 10 levels deep; GitLab flattens at most 10"
    )
