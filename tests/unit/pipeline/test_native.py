"""Tests of runner.pipeline.native on valid files: each key, defaults and need resolution."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from runner.pipeline.model import (
    DEFAULT_TIMEOUT_S,
    Artifacts,
    Cache,
    Job,
    Need,
    Pipeline,
    SecretSource,
    Spot,
    When,
)
from runner.pipeline.native import parse_native


def parse(tmp_path: Path, text: str) -> Pipeline:
    path = tmp_path / "pipeline.yml"
    path.write_text(textwrap.dedent(text))
    return parse_native(path, tmp_path / "project")


def needs(pipeline: Pipeline) -> dict[str, tuple[str, ...]]:
    return {j.name: tuple(n.job for n in j.needs) for j in pipeline.jobs}


def test_minimal_pipeline_gets_every_default(tmp_path: Path) -> None:
    """A job with only a script gets the documented defaults for every other field."""
    pipeline = parse(
        tmp_path,
        """\
        version: 1
        image: localhost/busybox
        jobs:
          build:
            script: [make]
        """,
    )
    assert pipeline == Pipeline(
        source=tmp_path / "pipeline.yml",
        root=tmp_path / "project",
        jobs=(
            Job(
                name="build",
                image="localhost/busybox",
                script=("make",),
                after_script=(),
                variables=(),
                needs=(),
                artifacts=None,
                cache=(),
                timeout_s=DEFAULT_TIMEOUT_S,
                retry=0,
                allow_failure=False,
                when=When.ON_SUCCESS,
                secrets=(),
                spot=Spot(str(tmp_path / "pipeline.yml"), 4, 3),
            ),
        ),
        secrets=(),
        dialect="native",
        notes=(),
    )


def test_every_job_key(tmp_path: Path) -> None:
    """Each job key lands in its model field with the value written."""
    pipeline = parse(
        tmp_path,
        """\
        version: 1
        secrets:
          TOKEN: {env: CI_TOKEN}
        jobs:
          lint:
            image: lint-img
            script: ruff
          build:
            image: build-img
            script: ["make", "make test"]
            after_script: echo done
            variables: {MODE: release}
            needs: [lint]
            artifacts: {paths: [dist/, "reports/**/*.xml"], when: always}
            cache: {key: deps, paths: [.cache/pip]}
            timeout: 10m
            retry: 2
            allow_failure: true
            when: on_failure
            secrets: [TOKEN]
        """,
    )
    build = pipeline.job("build")
    assert build == Job(
        name="build",
        image="build-img",
        script=("make", "make test"),
        after_script=("echo done",),
        variables=(("MODE", "release"),),
        needs=(Need("lint", artifacts=True),),
        artifacts=Artifacts(("dist/", "reports/**/*.xml"), When.ALWAYS),
        cache=(Cache("deps", (".cache/pip",)),),
        timeout_s=600.0,
        retry=2,
        allow_failure=True,
        when=When.ON_FAILURE,
        secrets=("TOKEN",),
        spot=Spot(str(tmp_path / "pipeline.yml"), 8, 3),
    )
    assert pipeline.job("lint").script == ("ruff",)


def test_jobs_keep_file_order(tmp_path: Path) -> None:
    """Jobs appear in the order they are written, not sorted."""
    pipeline = parse(
        tmp_path,
        """\
        version: 1
        image: i
        jobs:
          zeta: {script: a}
          alpha: {script: b}
          mid: {script: c}
        """,
    )
    assert [j.name for j in pipeline.jobs] == ["zeta", "alpha", "mid"]


def test_job_image_overrides_default(tmp_path: Path) -> None:
    """A job's own image wins over the top-level default; others get the default."""
    pipeline = parse(
        tmp_path,
        """\
        version: 1
        image: default-img
        jobs:
          a: {script: x, image: own-img}
          b: {script: x}
        """,
    )
    assert [j.image for j in pipeline.jobs] == ["own-img", "default-img"]


def test_variables_merge_and_convert_to_strings(tmp_path: Path) -> None:
    """Job variables override top-level ones in place; scalars become the text written."""
    pipeline = parse(
        tmp_path,
        """\
        version: 1
        image: i
        variables:
          A: top
          VERSION: 1.10
          COUNT: 3
          DEBUG: true
          OFF: no
          EMPTY: ""
        jobs:
          j:
            script: x
            variables: {A: job, NEW: 0x1F}
        """,
    )
    assert pipeline.jobs[0].variables == (
        ("A", "job"),
        ("VERSION", "1.10"),
        ("COUNT", "3"),
        ("DEBUG", "true"),
        ("OFF", "false"),
        ("EMPTY", ""),
        ("NEW", "0x1F"),
    )


def test_needs_names_and_mappings(tmp_path: Path) -> None:
    """Needs accept names and {job, artifacts} mappings; artifacts defaults to true."""
    pipeline = parse(
        tmp_path,
        """\
        version: 1
        image: i
        jobs:
          a: {script: x}
          b: {script: x}
          c: {script: x}
          d:
            script: x
            needs: [a, {job: b, artifacts: false}, {job: c}]
        """,
    )
    assert pipeline.job("d").needs == (Need("a"), Need("b", False), Need("c", True))


def test_artifacts_list_form_and_cache_forms(tmp_path: Path) -> None:
    """Artifacts may be a plain path list; cache may be one mapping or a list, key defaulted."""
    pipeline = parse(
        tmp_path,
        """\
        version: 1
        image: i
        jobs:
          a:
            script: x
            artifacts: [out/, ./logs/*.txt]
            cache: {paths: [.m2]}
          b:
            script: x
            cache:
              - {key: pip, paths: [.cache/pip]}
              - {key: npm.v1, paths: [node_modules/]}
        """,
    )
    a, b = pipeline.jobs
    assert a.artifacts == Artifacts(("out/", "./logs/*.txt"), When.ON_SUCCESS)
    assert a.cache == (Cache("default", (".m2",)),)
    assert b.cache == (Cache("pip", (".cache/pip",)), Cache("npm.v1", ("node_modules/",)))


@pytest.mark.parametrize(
    ("written", "seconds"),
    [("90", 90.0), ("1h 30m", 5400.0), ("2 hours", 7200.0), ("'45'", 45.0), ("0.5", 0.5)],
)
def test_timeout_forms(written: str, seconds: float, tmp_path: Path) -> None:
    """Timeouts take numbers of seconds and human durations."""
    pipeline = parse(
        tmp_path,
        f"""\
        version: 1
        image: i
        jobs:
          a: {{script: x, timeout: {written}}}
        """,
    )
    assert pipeline.jobs[0].timeout_s == seconds


@pytest.mark.parametrize(("written", "count"), [("0", 0), ("10", 10), ("{max: 3}", 3)])
def test_retry_forms(written: str, count: int, tmp_path: Path) -> None:
    """Retry takes a count or a mapping with ``max``."""
    pipeline = parse(
        tmp_path,
        f"""\
        version: 1
        image: i
        jobs:
          a: {{script: x, retry: {written}}}
        """,
    )
    assert pipeline.jobs[0].retry == count


def test_secret_sources(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Secrets keep their source; file paths become absolute, relative to the pipeline file."""
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    pipeline = parse(
        tmp_path,
        """\
        version: 1
        image: i
        secrets:
          API_TOKEN: {env: API_TOKEN}
          DEPLOY_KEY: {file: secrets/../keys/deploy_key}
          HOME_KEY: {file: ~/.ssh/id}
          ABS: {file: /etc/secret}
        jobs:
          a: {script: x, secrets: [DEPLOY_KEY, API_TOKEN]}
        """,
    )
    file = str(tmp_path / "pipeline.yml")
    assert pipeline.secrets == (
        SecretSource("API_TOKEN", env="API_TOKEN", spot=Spot(file, 4, 3)),
        SecretSource("DEPLOY_KEY", file=tmp_path / "keys" / "deploy_key", spot=Spot(file, 5, 3)),
        SecretSource("HOME_KEY", file=tmp_path / "home" / ".ssh" / "id", spot=Spot(file, 6, 3)),
        SecretSource("ABS", file=Path("/etc/secret"), spot=Spot(file, 7, 3)),
    )
    assert pipeline.jobs[0].secrets == ("DEPLOY_KEY", "API_TOKEN")


def test_relative_pipeline_path_gives_absolute_secret_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A pipeline path relative to the cwd still yields an absolute secret file path."""
    (tmp_path / "ci").mkdir()
    (tmp_path / "ci" / "p.yml").write_text(
        "version: 1\nimage: i\nsecrets: {K: {file: k}}\njobs: {a: {script: x}}\n"
    )
    monkeypatch.chdir(tmp_path)
    pipeline = parse_native(Path("ci/p.yml"), Path())
    assert pipeline.secrets[0].file == tmp_path / "ci" / "k"
    assert pipeline.source == Path("ci/p.yml")
    assert pipeline.jobs[0].spot == Spot("ci/p.yml", 4, 8)


def test_stages_default_and_implicit_needs(tmp_path: Path) -> None:
    """With stages, a job without needs waits for all jobs of earlier stages; first is default."""
    pipeline = parse(
        tmp_path,
        """\
        version: 1
        image: i
        stages: [build, test, deploy]
        jobs:
          compile: {script: x}
          docs: {script: x, stage: build}
          unit: {script: x, stage: test}
          lint: {script: x, stage: test}
          ship: {script: x, stage: deploy}
        """,
    )
    assert needs(pipeline) == {
        "compile": (),
        "docs": (),
        "unit": ("compile", "docs"),
        "lint": ("compile", "docs"),
        "ship": ("compile", "docs", "unit", "lint"),
    }
    assert all(n.artifacts for n in pipeline.job("ship").needs)


def test_stages_explicit_needs_are_used_exactly(tmp_path: Path) -> None:
    """Explicit needs replace the stage rule; ``needs: []`` starts at once; same stage is fine."""
    pipeline = parse(
        tmp_path,
        """\
        version: 1
        image: i
        stages: [build, test, deploy]
        jobs:
          compile: {script: x}
          unit: {script: x, stage: test, needs: [compile]}
          smoke: {script: x, stage: test, needs: [unit]}
          ship: {script: x, stage: deploy, needs: []}
        """,
    )
    assert needs(pipeline) == {
        "compile": (),
        "unit": ("compile",),
        "smoke": ("unit",),
        "ship": (),
    }


def test_without_stages_plain_jobs_start_at_once(tmp_path: Path) -> None:
    """Without stages, on_success jobs without needs have no needs."""
    pipeline = parse(
        tmp_path,
        """\
        version: 1
        image: i
        jobs:
          a: {script: x}
          b: {script: x, when: on_success}
        """,
    )
    assert needs(pipeline) == {"a": (), "b": ()}


def test_without_stages_final_jobs_wait_for_the_rest(tmp_path: Path) -> None:
    """on_failure/always jobs without needs wait for every job that is not such a final job."""
    pipeline = parse(
        tmp_path,
        """\
        version: 1
        image: i
        jobs:
          notify: {script: x, when: always}
          build: {script: x}
          cleanup: {script: x, when: always, needs: [build]}
          alert: {script: x, when: on_failure}
          test: {script: x, needs: [build]}
        """,
    )
    assert needs(pipeline) == {
        "notify": ("build", "cleanup", "test"),
        "build": (),
        "cleanup": ("build",),
        "alert": ("build", "cleanup", "test"),
        "test": ("build",),
    }
    assert pipeline.job("notify").needs[0] == Need("build", artifacts=True)


def test_anchors_and_merge_keys_build_jobs(tmp_path: Path) -> None:
    """A dot-named top-level template merged with ``<<`` gives jobs its keys; own keys win."""
    pipeline = parse(
        tmp_path,
        """\
        version: 1
        .defaults: &defaults
          image: base-img
          timeout: 5m
          retry: 1
        .setup: &setup [echo setup, echo more]
        jobs:
          a:
            <<: *defaults
            script: [*setup, make]
          b:
            <<: *defaults
            image: other-img
            script: *setup
        """,
    )
    a, b = pipeline.jobs
    assert (a.image, a.timeout_s, a.retry, a.script) == (
        "base-img",
        300.0,
        1,
        ("echo setup", "echo more", "make"),
    )
    assert (b.image, b.timeout_s, b.script) == ("other-img", 300.0, ("echo setup", "echo more"))
    assert a.spot == Spot(str(tmp_path / "pipeline.yml"), 8, 3)


def test_job_names_with_allowed_punctuation(tmp_path: Path) -> None:
    """Job names may hold digits, '_', '.' and '-' after a letter or digit."""
    pipeline = parse(
        tmp_path,
        """\
        version: 1
        image: i
        jobs:
          9lives: {script: x}
          build_v1.2-x: {script: x, needs: [9lives]}
        """,
    )
    assert [j.name for j in pipeline.jobs] == ["9lives", "build_v1.2-x"]


def test_documented_example_parses(tmp_path: Path) -> None:
    """The example in docs/pipeline-format.md is a valid pipeline with the needs it describes."""
    doc = Path(__file__).resolve().parents[3] / "docs" / "pipeline-format.md"
    example = doc.read_text().split("```yaml\n", 1)[1].split("```", 1)[0]
    pipeline = parse(tmp_path, example)
    assert needs(pipeline) == {
        "build": (),
        "unit": ("build",),
        "lint": (),
        "deploy": ("unit", "build"),
    }
    assert pipeline.job("unit").image == "localhost/python:3.11"
    assert pipeline.job("lint").image == "localhost/busybox"
    assert pipeline.job("deploy").secrets == ("API_TOKEN", "DEPLOY_KEY")
    assert pipeline.job("build").variables == (("PYTHONDONTWRITEBYTECODE", "1"),)
