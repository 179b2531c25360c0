"""One image build: find the Containerfile, seed base images, ``buildah build``, push.

Shared by build jobs of ``runner exec`` and by ``runner build``. Everything a
user can get wrong (no Containerfile, a failing step, a refused password, an
unreachable registry) ends as ``BuildFailed`` with one clear paragraph; the
raw buildah output has already gone to the log by then.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from runner.build import access, containerfile, storelock
from runner.build.diagnose import PIPELINE_ADVICE, Advice, explain_build, explain_push
from runner.build.outputs import BuildOutput
from runner.engine import buildah, store_index
from runner.engine.argv import StoreSpec
from runner.engine.buildargv import BuildSpec, build_argv, push_argv
from runner.engine.imageref import ImageRef, ImageRefError
from runner.errors import JobError
from runner.pipeline.model import Build, Registry

Sink = Callable[[bytes], None]
Notice = Callable[[str], None]


class BuildFailed(JobError):
    """The build or a push failed; the message says why and where."""


@dataclass(frozen=True)
class BuildEnv:
    """Where and how builds run on this host."""

    store: StoreSpec | None
    """The tenant's build store; None builds in the user's default store (shared)."""
    runtime: str | None = None
    authfile: Path | None = None
    """An auth file the user named; None lets buildah look in the standard places."""
    standard_authfile: Path | None = None
    """The user's standard auth file, the base pipeline credentials are added to."""
    advice: Advice = PIPELINE_ADVICE
    """How a failure's message says to fix a registry's access (the pipeline's or the CLI's)."""


async def build_image(
    build: Build,
    workspace: Path,
    scratch: Path,
    env: BuildEnv,
    *,
    registries: Sequence[Registry] = (),
    secrets: Mapping[str, str] | None = None,
    build_secrets: Sequence[str] = (),
    sink: Sink,
    notice: Notice,
) -> BuildOutput:
    """Build ``build`` from ``workspace`` using private ``scratch``; push if asked."""
    secrets = secrets or {}
    context = _inside(workspace, build.context, "context")
    given = None if build.containerfile is None else _inside(
        workspace, build.containerfile, "containerfile")
    file = containerfile.find(context, given)
    if file is None:
        if given is not None:
            raise BuildFailed(f"the Containerfile {build.containerfile} does not exist")
        raise BuildFailed(f"there is no Containerfile or Dockerfile in the build context "
                          f"'{build.context}'; add one or set 'containerfile'")
    text = file.read_text(errors="replace")
    bases = [ImageRef(base) for base in containerfile.base_images(text) if _is_ref(base)]
    tags = _refs(build.tags, "tag")
    cache_from = _refs(build.cache_from, "cache_from image")
    cache_to = _refs((build.cache_to,), "cache_to image")[0] if build.cache_to else None
    refs = [*bases, *cache_from, *([cache_to] if cache_to else [])]
    destinations = tags if build.push else ()
    plan = access.prepare(scratch, registries=registries, secrets=secrets, refs=refs,
                          destinations=destinations, authfile=env.authfile,
                          standard=env.standard_authfile)
    if plan.unverified:
        notice(f"runner: warning: TLS is not verified for {', '.join(plan.unverified)} during "
               "this build, because a registry it also reads from is marked 'insecure'")
    if env.store is not None:
        await _seed(bases, env.store, notice)
    secret_files = tuple((name, _secret_file(scratch, name, secrets[name]))
                         for name in build_secrets)
    iidfile = scratch / "iid"
    spec = BuildSpec(
        context=context, containerfile=file, iidfile=iidfile, tags=tags, args=build.args,
        labels=build.labels, target=build.target, platform=build.platform, layers=build.layers,
        isolation=build.isolation, cache_from=cache_from, cache_to=cache_to,
        secrets=secret_files, access=plan.build, store=env.store, runtime=env.runtime,
    )
    async with storelock.using(env.store):
        done = await buildah.run(build_argv(spec), sink)
    if done.code != 0 or not iidfile.is_file():
        relative = file.relative_to(workspace) if file.is_relative_to(workspace) else file
        raise BuildFailed(explain_build(done, str(relative), text))
    image_id = _refs((iidfile.read_text().strip(),), "built image id")[0]
    pushed: list[tuple[str, str]] = []
    for destination in destinations:
        notice(f"runner: pushing {destination}")
        digestfile = scratch / "digest"
        digestfile.unlink(missing_ok=True)
        argv = push_argv(image_id, destination, digestfile, plan.for_push(destination), env.store)
        done = await buildah.run(argv, sink)
        if done.code != 0 or not digestfile.is_file():
            raise BuildFailed(explain_push(done, destination, registries, env.advice))
        pushed.append((destination, digestfile.read_text().strip()))
        notice(f"runner: pushed {destination}@{pushed[-1][1]}")
    return BuildOutput(image_id, build.tags, tuple(pushed), env.store)


def _is_ref(text: str) -> bool:
    """Whether a base image the Containerfile names is a reference to seed (not ``$ARG``)."""
    try:
        ImageRef(text)
    except ImageRefError:
        return False
    return True


def _refs(texts: Sequence[str], what: str) -> tuple[ImageRef, ...]:
    """``texts`` as image references; the first that is none fails the build, saying why."""
    try:
        return tuple(ImageRef(text) for text in texts)
    except ImageRefError as exc:
        raise BuildFailed(f"the {what} {exc}") from exc


def _inside(workspace: Path, relative: str, what: str) -> Path:
    """``relative`` under ``workspace``, refusing symlinks that lead out of it."""
    path = (workspace / relative).resolve()
    if not path.is_relative_to(workspace.resolve()):
        raise BuildFailed(f"the build {what} '{relative}' leads outside the project (through a"
                          " symlink); builds only see the project's own files")
    return path


async def _seed(bases: Sequence[ImageRef], store: StoreSpec, notice: Notice) -> None:
    """Copy base images the user already has into the tenant store, instead of pulling.

    Only images missing from the tenant store are copied, by exact name, from
    the user's default store (where ``podman pull`` and local base images put
    them); anything else is left to buildah's pull.
    """
    default: StoreSpec | None = None
    for ref in bases:
        if store_index.has_image(store, ref) or await buildah.image_id(ref, store) is not None:
            continue
        default = default or await buildah.default_store()
        if await buildah.image_id(ref, default) is None:
            continue
        done = await buildah.copy_in(ref, default, store)
        if done.code == 0:
            notice(f"runner: base image {ref} copied from the user's image store")
        else:
            notice(f"runner: warning: could not copy base image {ref} from the user's image "
                   f"store ({done.text.strip()[-200:]}); buildah will pull it")


def _secret_file(scratch: Path, name: str, value: str) -> Path:
    """A build secret in a 0600 file of the job's private scratch dir (never in argv)."""
    path = scratch / f"secret-{name}"
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as out:
        out.write(value)
    return path
