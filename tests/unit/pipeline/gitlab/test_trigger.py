"""Trigger jobs in the GitLab translation: child pipelines, multi-project triggers, errors.

Files are written to a project directory and composed for real, since a
child pipeline is made of included files.
"""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from runner.errors import PipelineError
from runner.pipeline.gitlab.compose import compose
from runner.pipeline.gitlab.translate import Options, translate
from runner.pipeline.model import Job, Need, Pipeline, Trigger
from tests.unit.pipeline.gitlab.test_translate import FEATURE, GIT


def write(root: Path, **files: str) -> None:
    for name, text in files.items():  # more__c_yml is more/c.yml
        head, _, ext = name.replace("__", "/").rpartition("_")
        path = root / f"{head}.{ext}"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text))


def load(root: Path, main: str, **files: str) -> Pipeline:
    write(root, **files)
    (root / ".gitlab-ci.yml").write_text(textwrap.dedent(main))
    options = Options(git=GIT, variables=(("CLI", "from-cli"),))
    return translate(compose(root / ".gitlab-ci.yml", root), root, options)


def failure(root: Path, main: str, **files: str) -> PipelineError:
    with pytest.raises(PipelineError) as caught:
        load(root, main, **files)
    return caught.value


def trigger_of(pipeline: Pipeline, name: str) -> Trigger:
    trigger = pipeline.job(name).trigger
    assert trigger is not None
    return trigger


def child_of(pipeline: Pipeline, name: str) -> Pipeline:
    child = trigger_of(pipeline, name).child
    assert child is not None
    return child


CHILD = """\
unit:
  image: busybox
  variables: {MODE: child-default, OWN: own}
  script: [echo unit]
lint:
  image: busybox
  stage: build
  script: [echo lint]
"""


def test_static_child_is_translated_with_prefixed_names(tmp_path: Path) -> None:
    """`include` as a string, stage order kept, CI_PIPELINE_SOURCE=parent_pipeline, the
    child's own CI_JOB_NAME."""
    pipeline = load(tmp_path, """\
        default: {image: busybox, before_script: [echo default]}
        build: {stage: build, script: [make]}
        kids:
          stage: test
          trigger: {include: ci/child.yml, strategy: depend}
        """, ci__child_yml=CHILD)
    assert [job.name for job in pipeline.jobs] == ["build", "kids"]
    kids = pipeline.job("kids")
    assert (kids.image, kids.script, kids.needs) == ("", (), (Need("build"),))
    trigger = trigger_of(pipeline, "kids")
    assert trigger.depend and trigger.project is None and trigger.load is None
    child = child_of(pipeline, "kids")
    assert [job.name for job in child.jobs] == ["kids > unit", "kids > lint"]
    assert child.job("kids > unit").needs == (Need("kids > lint"),)
    variables = dict(child.job("kids > unit").variables)
    assert variables["CI_PIPELINE_SOURCE"] == "parent_pipeline"
    assert variables["CI_JOB_NAME"] == "unit"
    assert [job.name for job in pipeline.every_job()] == [
        "build", "kids", "kids > unit", "kids > lint"]


def test_forwarded_variables_follow_gitlab_defaults(tmp_path: Path) -> None:
    """YAML variables (global and the job's, expanded) pass down and win over the child's own;
    pipeline variables pass only with forward:pipeline_variables."""
    main = """\
        variables: {GLOBAL: g}
        kids:
          variables: {MODE: from-trigger, REF: "$GLOBAL-$CI_COMMIT_REF_NAME"}
          trigger: {include: child.yml}
        both:
          trigger: {include: child.yml, forward: {pipeline_variables: true}}
        none:
          trigger: {include: child.yml, forward: {yaml_variables: false}}
        """
    pipeline = load(tmp_path, main, child_yml=CHILD)
    kids = dict(child_of(pipeline, "kids").job("kids > unit").variables)
    assert (kids["MODE"], kids["REF"], kids["GLOBAL"], kids["OWN"]) == (
        "from-trigger", "g-main", "g", "own")
    assert "CLI" not in kids
    both = dict(child_of(pipeline, "both").job("both > unit").variables)
    assert (both["CLI"], both["GLOBAL"], both["MODE"]) == ("from-cli", "g", "child-default")
    none = dict(child_of(pipeline, "none").job("none > unit").variables)
    assert "GLOBAL" not in none and none["MODE"] == "child-default"


def test_rules_of_trigger_and_child_jobs(tmp_path: Path) -> None:
    """A trigger job's rules leave it out like any job; the child's rules see forwarded values."""
    child = """\
        only-static:
          image: busybox
          rules: [{if: '$KIND == "static"'}]
          script: [echo x]
        """
    main = """\
        static:
          variables: {KIND: static}
          trigger: {include: child.yml}
        other:
          variables: {KIND: other}
          trigger: {include: child.yml}
        never:
          rules: [{if: '$CI_COMMIT_BRANCH == "nope"'}]
          trigger: {include: child.yml}
        """
    pipeline = load(tmp_path, main, child_yml=child)
    assert [job.name for job in pipeline.jobs] == ["static", "other"]
    assert [job.name for job in child_of(pipeline, "static").jobs] == ["static > only-static"]
    assert child_of(pipeline, "other").jobs == ()


def test_include_forms_merge_in_order(tmp_path: Path) -> None:
    """A list of a path, a `local:` mapping and a glob; a later file's keys win."""
    files = {
        "a_yml": "job: {image: busybox, script: [echo a]}\n",
        "b_yml": "job: {script: [echo b]}\nother: {image: busybox, script: [echo o]}\n",
        "more__c_yml": "third: {image: busybox, script: [echo c]}\n",
    }
    pipeline = load(tmp_path, """\
        t:
          trigger:
            include: [a.yml, {local: /b.yml}, 'more/*.yml']
        """, **files)
    child = child_of(pipeline, "t")
    assert [job.name for job in child.jobs] == ["t > job", "t > other", "t > third"]
    assert child.job("t > job").script == ("echo b",)
    assert child.job("t > job").image == "busybox"


def test_multi_project_triggers_are_kept_to_show_as_skipped(tmp_path: Path) -> None:
    pipeline = load(tmp_path, """\
        short: {trigger: group/other}
        long:
          trigger: {project: group/deep/other, branch: main, strategy: depend}
        """)
    assert trigger_of(pipeline, "short") == Trigger(project="group/other")
    assert trigger_of(pipeline, "long") == Trigger(depend=True, project="group/deep/other")


def test_needs_on_parent_pipeline_jobs(tmp_path: Path) -> None:
    """`needs: pipeline: $PARENT_PIPELINE_ID` in a child names the parent's job; not elsewhere."""
    child = """\
        use:
          image: busybox
          needs:
            - pipeline: $PARENT_PIPELINE_ID
              job: build
            - local
          script: [cat out/x]
        local: {image: busybox, stage: build, script: [echo]}
        """
    main = """\
        build: {image: busybox, stage: build, script: [make]}
        t:
          needs: [build]
          variables: {PARENT_PIPELINE_ID: $CI_PIPELINE_ID}
          trigger: {include: child.yml}
        """
    pipeline = load(tmp_path, main, child_yml=child)
    assert child_of(pipeline, "t").job("t > use").needs == (Need("t > local"), Need("build"))
    exc = failure(tmp_path, """\
        build: {image: busybox, script: [make]}
        use:
          image: busybox
          needs: [{pipeline: "123", job: build}]
          script: [x]
        """)
    assert "cross-pipeline needs are not supported" in exc.message
    assert (exc.spot.file, exc.spot.line) == (str(tmp_path / ".gitlab-ci.yml"), 4)


def test_grandchildren_are_named_down_the_line_and_depth_is_limited(tmp_path: Path) -> None:
    """Two levels of children work; a third level's trigger job fails as GitLab's does."""
    files = {
        "one_yml": "deeper: {trigger: {include: two.yml}}\n"
                   "gen: {image: busybox, script: [x], artifacts: {paths: [g.yml]}}\n",
        "two_yml": "leaf: {image: busybox, script: [x], needs: [{pipeline: p, job: gen}]}\n"
                   "again:\n  trigger:\n    include: three.yml\n",
        "three_yml": "never: {image: busybox, script: [x]}\n",
    }
    pipeline = load(tmp_path, "top: {trigger: {include: one.yml}}\n", **files)
    one = child_of(pipeline, "top")
    two = child_of(one, "top > deeper")
    assert [job.name for job in two.jobs] == ["top > deeper > leaf", "top > deeper > again"]
    assert two.job("top > deeper > leaf").needs == (Need("top > gen"),)
    failed = trigger_of(two, "top > deeper > again").failure
    assert failed == (
        f"{tmp_path / 'two.yml'}:3: you reached the maximum depth of child pipelines"
        " (GitLab nests at most 2 levels of child pipelines)"
    )
    assert [job.name for job in pipeline.every_job()] == [
        "top", "top > deeper", "top > deeper > leaf", "top > deeper > again", "top > gen"]


def test_dynamic_child_is_translated_from_the_artifacts_it_is_given(tmp_path: Path) -> None:
    """`include: artifact` defers the child to a loader; a missing file names the include."""
    main = """\
        gen:
          image: busybox
          stage: build
          script: [echo]
          artifacts: {paths: [out/]}
        run-it:
          needs: [gen]
          variables: {MODE: dyn}
          trigger:
            include:
              - artifact: out/gen.yml
                job: gen
            strategy: depend
        """
    pipeline = load(tmp_path, main)
    trigger = trigger_of(pipeline, "run-it")
    assert (trigger.child, trigger.artifact_jobs, trigger.depend) == (None, ("gen",), True)
    assert trigger.load is not None
    artifacts = tmp_path / "artifacts"
    write(artifacts, out__gen_yml="made: {image: busybox, script: ['echo $MODE']}\n")
    child = trigger.load((artifacts,))
    assert [job.name for job in child.jobs] == ["run-it > made"]
    assert dict(child.jobs[0].variables)["MODE"] == "dyn"
    assert child.jobs[0].script_spots[0].file == str(artifacts / "out" / "gen.yml")
    with pytest.raises(PipelineError) as caught:
        trigger.load((tmp_path / "empty",))
    assert (caught.value.spot.file, caught.value.spot.line) == (
        str(tmp_path / ".gitlab-ci.yml"), 11)
    assert caught.value.message == (
        "the child pipeline includes 'out/gen.yml' from the artifacts of job 'gen', but the"
        " job left no such file in its artifacts (list it in the job's 'artifacts: paths')"
    )


def test_generated_file_cannot_point_outside_the_artifacts(tmp_path: Path) -> None:
    pipeline = load(tmp_path, """\
        gen: {image: busybox, stage: build, script: [echo]}
        t: {trigger: {include: [{artifact: ../secret.yml, job: gen}]}}
        """)
    (tmp_path / "secret.yml").write_text("x: {image: busybox, script: [echo]}\n")
    (tmp_path / "arts").mkdir()
    load_child = trigger_of(pipeline, "t").load
    assert load_child is not None
    with pytest.raises(PipelineError, match="left no such file"):
        load_child((tmp_path / "arts",))


@pytest.mark.parametrize(("body", "line", "message"), [
    ("t:\n  script: [x]\n  trigger: {include: c.yml}\n", 2,
     "trigger job 't' cannot have 'script': a trigger job starts a downstream pipeline and runs"
     " nothing itself (GitLab: config contains unknown keys: script); move 'script' into a job"
     " of the downstream pipeline"),
    ("t:\n  trigger: {include: c.yml, strategy: wait}\n", 2,
     "'strategy' of 'trigger' of job 't' should be depend, got 'wait'"),
    ("t:\n  trigger: {strategy: depend}\n", 2,
     "'trigger' of job 't' must name either a 'project' or an 'include'"),
    ("t:\n  trigger: {include: [a.yml, b.yml, c.yml, d.yml]}\n", 2,
     "'include' of 'trigger' of job 't' has 4 items; GitLab allows at most 3 files in a child"
     " pipeline's include"),
    ("t:\n  trigger:\n    include:\n      - artifact: g.yml\n", 4,
     "an 'include: artifact' item has no 'job' (the job that generated the file)"),
    ("t:\n  trigger: {project: a/b, include: c.yml}\n", 2,
     "unknown key 'project' in 'trigger' of job 't'"),
    ("t:\n  when: delayed\n  start_in: 1 minute\n  trigger: {include: c.yml}\n", 3,
     "trigger job 't' cannot have 'start_in': a trigger job starts a downstream pipeline and"
     " runs nothing itself (GitLab: config contains unknown keys: start_in); move 'start_in'"
     " into a job of the downstream pipeline"),
    ("t:\n  when: delayed\n  trigger: {include: c.yml}\n", 2,
     "'when' of trigger job 't' should be one of: on_success, on_failure, always, manual"
     " (GitLab does not delay trigger jobs)"),
    ("t:\n  trigger: {include: missing.yml}\n", 2,
     "included file 'missing.yml' does not exist"),
    ("t:\n  trigger: {include: c.yml, forward: {yaml_variables: maybe}}\n", 2,
     "'yaml_variables'"),
])
def test_trigger_errors_name_file_and_line(
    tmp_path: Path, body: str, line: int, message: str
) -> None:
    write(tmp_path, c_yml="x: {image: busybox, script: [echo]}\n")
    exc = failure(tmp_path, body)
    assert exc.spot.line == line, exc
    assert exc.spot.file == str(tmp_path / ".gitlab-ci.yml")
    assert exc.message.startswith(message), exc.message


def test_error_in_a_static_child_names_the_child_file(tmp_path: Path) -> None:
    exc = failure(tmp_path, "t: {trigger: {include: c.yml}}\n",
                  c_yml="x:\n  image: busybox\n  scirpt: [echo]\n")
    assert (exc.spot.file, exc.spot.line) == (str(tmp_path / "c.yml"), 3)
    assert "did you mean 'script'?" in exc.message


def test_trigger_jobs_take_no_defaults(tmp_path: Path) -> None:
    """GitLab's bridge has no image or scripts: `default:` does not make it a container job."""
    pipeline = load(tmp_path, """\
        default: {image: busybox, before_script: [echo], after_script: [echo], retry: 1}
        t: {trigger: {include: c.yml}}
        """, c_yml="x: {image: alpine, script: [echo]}\n")
    job: Job = pipeline.job("t")
    assert (job.image, job.script, job.after_script, job.retry) == ("", (), (), 0)
    # The parent's defaults are not the child's: a child pipeline is a configuration of its own.
    assert child_of(pipeline, "t").job("t > x").script == ("echo",)


def test_feature_branch_child(tmp_path: Path) -> None:
    """The child is evaluated for the parent's ref (its rules see the same branch)."""
    write(tmp_path, c_yml="x:\n  image: busybox\n  rules: [{if: $CI_COMMIT_BRANCH == 'main'}]\n"
                          "  script: [echo]\n")
    (tmp_path / ".gitlab-ci.yml").write_text("t: {trigger: {include: c.yml}}\n")
    pipeline = translate(compose(tmp_path / ".gitlab-ci.yml", tmp_path), tmp_path,
                         Options(git=FEATURE))
    assert child_of(pipeline, "t").jobs == ()


def test_parallel_matrix_trigger_jobs_forward_their_matrix_values(tmp_path: Path) -> None:
    """One child per instance, each seeing its instance's matrix values (GitLab's YAML vars)."""
    pipeline = load(tmp_path, """\
        deploy:
          parallel:
            matrix: [{STACK: [web, db]}]
          trigger: {include: c.yml}
        """, c_yml="x: {image: busybox, script: [echo $STACK]}\n")
    assert [job.name for job in pipeline.every_job()] == [
        "deploy: [web]", "deploy: [web] > x", "deploy: [db]", "deploy: [db] > x"]
    assert [dict(child_of(pipeline, name).jobs[0].variables)["STACK"]
            for name in ("deploy: [web]", "deploy: [db]")] == ["web", "db"]
