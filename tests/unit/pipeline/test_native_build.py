"""Tests of runner.pipeline.native on build jobs, top-level registries and output references."""

from __future__ import annotations

import textwrap
from pathlib import Path
from typing import NamedTuple

import pytest

from runner.errors import PipelineError, SourceSpot
from runner.pipeline.model import DEFAULT_TIMEOUT_S, Build, Job, Need, Pipeline, Registry, Spot
from runner.pipeline.native import parse_native

NOT_REF = (" is not an image reference (like 'alpine:3.19' or"
           " 'registry.example.com/group/image:tag'; lowercase path, no spaces,"
           " not starting with '-')")
"""How every native-format image error ends (``runner.engine.imageref.why_not``)."""


def parse(tmp_path: Path, text: str) -> Pipeline:
    path = tmp_path / "pipeline.yml"
    path.write_text(textwrap.dedent(text))
    return parse_native(path, tmp_path / "project")


def parse_error(tmp_path: Path, text: str) -> PipelineError:
    path = tmp_path / "pipeline.yml"
    path.write_text(textwrap.dedent(text))
    with pytest.raises(PipelineError) as info:
        parse_native(path, tmp_path / "project")
    return info.value


def needs(pipeline: Pipeline) -> dict[str, tuple[Need, ...]]:
    return {job.name: job.needs for job in pipeline.jobs}


# -- valid build jobs and registries -------------------------------------------------


def test_full_build_spec(tmp_path: Path) -> None:
    """Every build key lands in the Build model; the job has no image or script."""
    pipeline = parse(
        tmp_path,
        """\
        version: 1
        image: localhost/busybox
        secrets:
          NPM: {env: NPM_TOKEN}
        jobs:
          img:
            variables: {V: "1"}
            secrets: [NPM]
            build:
              context: app
              containerfile: app/Prod.containerfile
              tags: [reg.example.com/app:$V, reg.example.com/app:latest]
              args: {BASE: alpine, N: 3, ON: true}
              target: final
              platform: linux/arm64/v8
              labels: {team: t, org.opencontainers.image.source: "https://x"}
              push: true
              cache: {from: [reg.example.com/cache], to: reg.example.com/cache}
              layers: false
              isolation: chroot
        """,
    )
    assert pipeline.jobs == (
        Job(
            name="img",
            image="",
            script=(),
            after_script=(),
            variables=(("V", "1"),),
            needs=(),
            artifacts=None,
            cache=(),
            timeout_s=DEFAULT_TIMEOUT_S,
            secrets=("NPM",),
            spot=Spot(str(tmp_path / "pipeline.yml"), 6, 3),
            build=Build(
                context="app",
                containerfile="app/Prod.containerfile",
                tags=("reg.example.com/app:$V", "reg.example.com/app:latest"),
                args=(("BASE", "alpine"), ("N", "3"), ("ON", "true")),
                target="final",
                platform="linux/arm64/v8",
                labels=(("team", "t"), ("org.opencontainers.image.source", "https://x")),
                push=True,
                cache_from=("reg.example.com/cache",),
                cache_to="reg.example.com/cache",
                layers=False,
                isolation="chroot",
            ),
        ),
    )
    assert pipeline.registries == ()


def test_minimal_build_gets_defaults(tmp_path: Path) -> None:
    """An empty ``build`` mapping: context '.', rootless, layers, no tags, no push."""
    pipeline = parse(tmp_path, "version: 1\njobs:\n  img:\n    build: {}\n")
    assert pipeline.jobs[0].build == Build()
    assert Build() == Build(context=".", containerfile=None, tags=(), push=False, layers=True,
                            isolation="rootless", cache_from=(), cache_to=None)
    assert (pipeline.jobs[0].image, pipeline.jobs[0].script) == ("", ())


def test_string_tags_and_cache_to_only(tmp_path: Path) -> None:
    """``tags`` may be one string; ``cache`` may have only ``to``."""
    pipeline = parse(
        tmp_path,
        """\
        version: 1
        jobs:
          img:
            build:
              tags: localhost/app:1
              cache: {to: localhost/cache}
        """,
    )
    assert pipeline.jobs[0].build == Build(tags=("localhost/app:1",), cache_to="localhost/cache")


def test_registries(tmp_path: Path) -> None:
    """Registries in file order, ca_file absolute from the pipeline file's directory."""
    pipeline = parse(
        tmp_path,
        """\
        version: 1
        registries:
          reg.example.com:
            username: ci
            password_secret: REG_PW
            ca_file: certs/reg.crt
          127.0.0.1:5000:
            insecure: true
          "[::1]:5001":
            ca_file: ../shared/ca.crt
          localhost: {}
        secrets:
          REG_PW: {env: REG_PW}
        jobs:
          img:
            build: {}
        """,
    )
    file = str(tmp_path / "pipeline.yml")
    assert pipeline.registries == (
        Registry("reg.example.com", ca_file=tmp_path / "certs/reg.crt", username="ci",
                 password_secret="REG_PW", spot=Spot(file, 3, 3)),
        Registry("127.0.0.1:5000", insecure=True, spot=Spot(file, 7, 3)),
        Registry("[::1]:5001", ca_file=tmp_path.parent / "shared/ca.crt", spot=Spot(file, 9, 3)),
        Registry("localhost", spot=Spot(file, 11, 3)),
    )


# -- invalid build jobs and registries ----------------------------------------------


class Case(NamedTuple):
    id: str
    yaml: str
    line: int
    column: int
    key: str
    message: str


IMG = "version: 1\nimage: i\njobs:\n  img:\n    build:\n"
"""Cases append the lines of job 'img''s build mapping, starting on line 6."""

CONTAINER_KEY = (
    "job 'img' has 'build', so it runs no container and '{0}' does not apply; move the"
    " commands to a job that needs it"
)

CASES = [
    Case("unknown-build-key", IMG + "      tag: [a]\n", 6, 7, "jobs.img.build.tag",
         "unknown key 'tag' in 'build' of job 'img'; did you mean 'tags'?"),
    Case("build-list", "version: 1\njobs:\n  img:\n    build: [a]\n", 4, 12, "jobs.img.build",
         "'build' of job 'img' must be a mapping, got a list"),
    Case("bad-isolation", IMG + "      isolation: vfs\n", 6, 18, "jobs.img.build.isolation",
         "'isolation' of 'build' of job 'img' must be one of rootless, chroot, got 'vfs'"),
    Case("bad-platform", IMG + "      platform: amd64\n", 6, 17, "jobs.img.build.platform",
         "'platform' of 'build' of job 'img' must look like 'linux/amd64' or 'linux/arm64/v8',"
         " got 'amd64'"),
    Case("platform-uppercase", IMG + "      platform: Linux/AMD64\n", 6, 17,
         "jobs.img.build.platform",
         "'platform' of 'build' of job 'img' must look like 'linux/amd64' or 'linux/arm64/v8',"
         " got 'Linux/AMD64'"),
    Case("cache-empty", IMG + "      cache: {}\n", 6, 14, "jobs.img.build.cache",
         "'cache' of 'build' of job 'img' needs 'from', 'to' or both"),
    Case("cache-unknown-key", IMG + "      cache: {form: [a]}\n", 6, 15,
         "jobs.img.build.cache.form",
         "unknown key 'form' in 'cache' of 'build' of job 'img'; did you mean 'from'?"),
    Case("push-without-tags", IMG + "      push: true\n", 6, 13, "jobs.img.build.push",
         "'build' of job 'img' has 'push: true' but no 'tags' to push to; add"
         " 'tags: [registry.example.com/team/app:latest]'"),
    Case("push-string", IMG + "      tags: a\n      push: 'yes'\n", 7, 13, "jobs.img.build.push",
         "'push' of 'build' of job 'img' must be a boolean (true or false), got a string"),
    Case("tags-empty", IMG + "      tags: []\n", 6, 13, "jobs.img.build.tags",
         "'tags' of 'build' of job 'img' is empty; list at least one reference"),
    Case("tags-twice", IMG + "      tags: [a, b, a]\n", 6, 20, "jobs.img.build.tags[2]",
         "'tags' of 'build' of job 'img' lists 'a' twice"),
    Case("tag-with-space", IMG + "      tags: [a b]\n", 6, 14, "jobs.img.build.tags[0]",
         "an image reference in 'tags' of 'build' of job 'img': 'a b'" + NOT_REF),
    Case("tag-like-an-option", IMG + "      tags: ['--pull=always']\n", 6, 14,
         "jobs.img.build.tags[0]",
         "an image reference in 'tags' of 'build' of job 'img': '--pull=always'" + NOT_REF),
    Case("tag-option-behind-a-variable", IMG + "      tags: ['-$V']\n", 6, 14,
         "jobs.img.build.tags[0]",
         "an image reference in 'tags' of 'build' of job 'img': '-$V'" + NOT_REF),
    Case("arg-name", IMG + "      args: {'A=B': x}\n", 6, 14, "jobs.img.build.args.A=B",
         "'A=B' in 'args' of 'build' of job 'img' is not a valid name (no '=', no spaces)"),
    Case("context-outside", IMG + "      context: ../up\n", 6, 16, "jobs.img.build.context",
         "'context' of 'build' of job 'img' must not contain a '..' component (it would leave"
         " the project directory), got '../up'"),
    *(
        Case(f"container-key-{key}", IMG + "      tags: a\n" + f"    {key}: {value}\n", 7, 5,
             f"jobs.img.{key}", CONTAINER_KEY.format(key))
        for key, value in [("image", "x"), ("script", "[x]"), ("after_script", "[x]"),
                           ("artifacts", "[a]"), ("cache", "{paths: [a]}")]
    ),
    # -- registries ------------------------------------------------------------------
    Case("registry-scheme", "version: 1\nregistries:\n  https://reg.example.com: {}\n"
         "jobs: {a: {image: i, script: x}}\n", 3, 3, "registries.https://reg.example.com",
         "registry 'https://reg.example.com': the key must be a registry host such as"
         " 'registry.example.com' or '127.0.0.1:5000' (no scheme, no path)"),
    Case("registry-path", "version: 1\nregistries:\n  reg.example.com/team: {}\n"
         "jobs: {a: {image: i, script: x}}\n", 3, 3, "registries.reg.example.com/team",
         "registry 'reg.example.com/team': the key must be a registry host such as"
         " 'registry.example.com' or '127.0.0.1:5000' (no scheme, no path)"),
    Case("registry-unknown-key", "version: 1\nregistries:\n  reg.example.com: {password: x}\n"
         "jobs: {a: {image: i, script: x}}\n", 3, 21, "registries.reg.example.com.password",
         "unknown key 'password' in registry 'reg.example.com'; did you mean"
         " 'password_secret'?"),
    Case("registry-username-only", "version: 1\nregistries:\n  reg.example.com: {username: ci}\n"
         "jobs: {a: {image: i, script: x}}\n", 3, 20, "registries.reg.example.com",
         "registry 'reg.example.com' needs both 'username' and 'password_secret', or neither"),
    Case("registry-password-only", "version: 1\nsecrets: {PW: {env: PW}}\nregistries:\n"
         "  reg.example.com:\n    password_secret: PW\njobs: {a: {image: i, script: x}}\n",
         5, 5, "registries.reg.example.com",
         "registry 'reg.example.com' needs both 'username' and 'password_secret', or neither"),
    Case("registry-undefined-secret", "version: 1\nsecrets: {T: {env: T}}\nregistries:\n"
         "  reg.example.com:\n    username: ci\n    password_secret: hunter2\n"
         "jobs: {a: {image: i, script: x}}\n", 6, 22,
         "registries.reg.example.com.password_secret",
         "'password_secret' of registry 'reg.example.com' names secret 'hunter2', which is not"
         " defined under the top-level 'secrets' (write the secret's name, never the password"
         " itself)"),
    Case("registry-insecure-string", "version: 1\nregistries:\n  localhost:5000:\n"
         "    insecure: 'true'\njobs: {a: {image: i, script: x}}\n", 4, 15,
         "registries.localhost:5000.insecure",
         "'insecure' of registry 'localhost:5000' must be a boolean (true or false), got a"
         " string (write it without quotes)"),
    Case("registries-list", "version: 1\nregistries: [a]\njobs: {a: {image: i, script: x}}\n",
         2, 13, "registries", "'registries' must be a mapping, got a list"),
    # -- output references -------------------------------------------------------------
    Case("image-digest-ref", "version: 1\njobs:\n  img: {build: {}}\n  use:\n"
         "    image: ${{ jobs.img.digest }}\n    script: [x]\n", 5, 12, "jobs.use.image",
         "'image' of job 'use' may use a build job's output only as the whole value, written"
         " '${{ jobs.NAME.image }}'"),
    Case("image-ref-inside", "version: 1\njobs:\n  img: {build: {}}\n  use:\n"
         "    image: reg/x:${{ jobs.img.tag }}\n    script: [x]\n", 5, 12, "jobs.use.image",
         "'image' of job 'use' may use a build job's output only as the whole value, written"
         " '${{ jobs.NAME.image }}'"),
    Case("ref-non-build-job", "version: 1\nimage: i\njobs:\n  other: {script: [x]}\n  use:\n"
         "    image: ${{ jobs.other.image }}\n    script: [x]\n", 5, 3, "jobs.use",
         "job 'use' uses an output of job 'other' (${{ jobs.other... }}), but it has no"
         " 'build', so it makes no image"),
    Case("ref-unknown-job", "version: 1\njobs:\n  img: {build: {}}\n  use:\n"
         "    image: ${{ jobs.imgg.image }}\n    script: [x]\n", 4, 3, "jobs.use",
         "job 'use' uses an output of job 'imgg' (${{ jobs.imgg... }}), but there is no such"
         " job; did you mean 'img'?"),
    Case("ref-in-variable-unknown-job", "version: 1\nimage: i\njobs:\n  img: {build: {}}\n"
         "  use:\n    variables: {D: '${{ jobs.nope.digest }}'}\n    script: [x]\n", 5, 3,
         "jobs.use",
         "job 'use' uses an output of job 'nope' (${{ jobs.nope... }}), but there is no such"
         " job; valid names are 'img', 'use'"),
    Case("cycle-through-output-ref", "version: 1\njobs:\n  img:\n    needs: [use]\n"
         "    build: {}\n  use:\n    image: ${{ jobs.img.image }}\n    script: [x]\n", 4, 13,
         "jobs.img.needs[0]",
         "jobs need each other in a cycle, so none of them could ever start: img -> use -> img"
         " (each needs the next); remove one of these needs"),
    Case("cycle-through-implicit-need", "version: 1\njobs:\n  use:\n"
         "    image: ${{ jobs.img.image }}\n    script: [x]\n  img:\n    needs: [use]\n"
         "    build: {}\n", 3, 3, "jobs.use",
         "jobs need each other in a cycle, so none of them could ever start: use -> img -> use"
         " (each needs the next); remove one of these needs"),
]


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_error_spot_and_message(case: Case, tmp_path: Path) -> None:
    """Each invalid build or registry fails at the exact file, line, column and key."""
    error = parse_error(tmp_path, case.yaml)
    path = str(tmp_path / "pipeline.yml")
    assert error.spot == SourceSpot(path, case.line, case.column, case.key)
    assert error.message == case.message


# -- output references add needs -------------------------------------------------------


def test_output_image_adds_a_need_without_artifacts(tmp_path: Path) -> None:
    """``${{ jobs.img.image }}`` as a job's image makes it wait for img, artifacts not taken."""
    pipeline = parse(
        tmp_path,
        """\
        version: 1
        jobs:
          img:
            build: {tags: [localhost/app]}
          use:
            image: ${{ jobs.img.image }}
            script: [run]
        """,
    )
    assert needs(pipeline) == {"img": (), "use": (Need("img", artifacts=False),)}
    assert pipeline.job("use").image == "${{ jobs.img.image }}"


def test_output_image_keeps_explicit_needs(tmp_path: Path) -> None:
    """Explicit needs stay first and as written; an explicit need on img is not doubled."""
    pipeline = parse(
        tmp_path,
        """\
        version: 1
        image: localhost/busybox
        jobs:
          img:
            build: {}
          lint:
            script: [lint]
          use:
            image: "  ${{jobs.img.image}} "
            needs: [lint]
            script: [run]
          use2:
            image: ${{ jobs.img.image }}
            needs: [{job: img, artifacts: true}]
            script: [run]
        """,
    )
    assert needs(pipeline) == {
        "img": (),
        "lint": (),
        "use": (Need("lint"), Need("img", artifacts=False)),
        "use2": (Need("img"),),
    }
    assert pipeline.job("use").image == "${{jobs.img.image}}"


def test_output_refs_in_variables_add_the_need(tmp_path: Path) -> None:
    """A job's variables may use any output field anywhere in the value; each job once."""
    pipeline = parse(
        tmp_path,
        """\
        version: 1
        image: localhost/busybox
        jobs:
          base:
            build: {}
          img:
            build: {}
          deploy:
            variables:
              REF: "app@${{ jobs.img.digest }}"
              TAG: ${{ jobs.img.tag }}
              BASE: ${{ jobs.base.image }}
            script: [deploy]
        """,
    )
    assert needs(pipeline)["deploy"] == (Need("base", artifacts=False),
                                         Need("img", artifacts=False))
    assert dict(pipeline.job("deploy").variables)["REF"] == "app@${{ jobs.img.digest }}"


def test_output_need_with_stages(tmp_path: Path) -> None:
    """With stages, the stage needs come first and the output need is not doubled."""
    pipeline = parse(
        tmp_path,
        """\
        version: 1
        image: localhost/busybox
        stages: [build, test]
        jobs:
          img:
            stage: build
            build: {}
          use:
            stage: test
            image: ${{ jobs.img.image }}
            script: [run]
        """,
    )
    assert needs(pipeline) == {"img": (), "use": (Need("img"),)}


def test_top_level_variable_with_an_output_ref(tmp_path: Path) -> None:
    """A top-level variable naming a build's image is for the jobs that use it: the build
    job itself inherits it without needing itself, every other job needs the build."""
    path = tmp_path / "pipeline.yml"
    path.write_text("version: 1\nimage: i\nvariables: {IMG: '${{ jobs.img.image }}'}\n"
                    "jobs:\n  img: {build: {}}\n  use: {script: [x]}\n")
    pipeline = parse_native(path, tmp_path)
    assert pipeline.job("img").needs == ()
    assert pipeline.job("use").needs == (Need("img", artifacts=False),)


def test_build_fields_with_an_output_ref_need_that_build(tmp_path: Path) -> None:
    """A build FROM another build's image (through a build arg) waits for it."""
    path = tmp_path / "pipeline.yml"
    path.write_text("version: 1\njobs:\n  base: {build: {tags: [localhost/base]}}\n"
                    "  app:\n    build: {args: {BASE: '${{ jobs.base.tag }}'}}\n")
    pipeline = parse_native(path, tmp_path)
    assert pipeline.job("app").needs == (Need("base", artifacts=False),)
