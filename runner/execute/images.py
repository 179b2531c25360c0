"""Which image store a job's containers use, and getting its images there before they start.

The user's own store holds public images and the user's local ones. No job
writes to it but by pulling a fully qualified name with the host's own trust
and credentials: what any tenant would get from that registry. An image that
needs a tenant's own access (credentials, a CA or ``insecure`` for its
registry, from the pipeline's ``registries`` or GitLab's job credentials)
lives only in that tenant's store, as the images its build jobs make do.
Another tenant naming it finds nothing and must pull it with access of its
own, which the registry checks; and a tenant's unverified TLS can never put
a forged image where another tenant would run it.

A job with any such image runs wholly in the tenant store: a pod's
containers must share one store, so its services move with it. Its other
images are copied from the user's store if there (once per tenant), else
pulled into the tenant's.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from runner.build import access
from runner.engine import buildah, buildargv
from runner.engine.argv import StoreSpec
from runner.engine.buildah import Sink
from runner.engine.imageref import ImageRef, ImageRefError, is_image_id, registry_of
from runner.engine.podman import ImageUnavailable
from runner.pipeline.model import Registry

Notice = Callable[[str], None]


@dataclass(frozen=True)
class ImagePlan:
    """Where one job's containers live and what must be in that store first."""

    store: StoreSpec | None
    """The tenant's store, or None for the user's own (where podman pulls as it runs)."""
    fetch: tuple[ImageRef, ...] = ()
    """Images to have in ``store`` (the user's, if None) before any container starts."""
    private: frozenset[ImageRef] = frozenset()
    """Those of ``fetch`` that only their registry may supply, with the tenant's access."""


def tenant_hosts(registries: Iterable[Registry]) -> frozenset[str]:
    """Registries the pipeline brings its own access to (credentials, CA or ``insecure``)."""
    return frozenset(registry.host for registry in registries)


def parse_images(image: str, built: bool, services: Iterable[str]
                 ) -> tuple[ImageRef, tuple[ImageRef, ...]]:
    """The job's image and its services' as ``ImageRef``s, qualified (a built id as it is).

    The one parse between a model's image names and the engine's argv
    builders. The dialects have refused a bad name already, with its file
    and line; a coordinator's job can still bring one, and fails here as
    gitlab-runner's does when the name cannot be pulled.
    """
    try:
        job = ImageRef(image) if built else ImageRef(image).qualified()
        return job, tuple(ImageRef(name).qualified() for name in services)
    except ImageRefError as exc:
        raise ImageUnavailable(str(exc)) from exc


def plan_images(image: ImageRef, built: StoreSpec | None, services: Sequence[ImageRef],
                tenant_store: StoreSpec | None, hosts: frozenset[str]) -> ImagePlan:
    """Decide where a job runs from its images; ``built`` is set when ``image`` is a build's.

    ``image`` (unless built) and ``services`` are qualified names. With no
    tenant store (``--build-storage shared``) the job runs from the user's
    store, and only images that need the pipeline's access are fetched first
    (podman pulls the others as the job starts, with the host's access).
    """
    refs = [ref for ref in dict.fromkeys(services if built is not None else [image, *services])
            if not is_image_id(ref)]
    private = frozenset(ref for ref in refs if access.registry_host(ref) in hosts)
    store = built if built is not None else (tenant_store if private else None)
    if store is None:
        return ImagePlan(None, tuple(ref for ref in refs if ref in private), private)
    return ImagePlan(store, tuple(refs), private)


@dataclass(frozen=True)
class Fetcher:
    """Fetches planned images with one job's registry access."""

    registries: tuple[Registry, ...]
    secrets: Mapping[str, str]
    standard_authfile: Path | None
    policy: str = "missing"
    """``missing`` (pull what is not there), ``always`` (pull every time) or ``never``."""
    recheck_private: bool = False
    """Ask the registry again for every private image, even one the store has: a tenant's
    users may differ in access (a GitLab job token has its user's), and a copy another of
    them pulled must not stand in for a registry that would refuse this one."""

    async def fetch(self, plan: ImagePlan, scratch: Path, sink: Sink, notice: Notice) -> None:
        """Get every image of ``plan`` into its store; ``scratch`` holds auth files.

        ``scratch`` must be private to us and never mounted into a container.
        """
        if not plan.fetch or self.policy == "never":
            return
        default = None if plan.store is not None else await buildah.default_store()
        target = plan.store or default
        assert target is not None
        wanted = [ref for ref in plan.fetch
                  if (self.policy == "always" and not _local(ref))
                  or (self.recheck_private and ref in plan.private)
                  or not await buildah.has_image(ref, target)]
        pulls: list[ImageRef] = []
        for ref in wanted:
            if (plan.store is None or ref in plan.private
                    or (self.policy == "always" and not _local(ref))):
                pulls.append(ref)
                continue
            default = default or await buildah.default_store()
            if not await buildah.has_image(ref, default):
                pulls.append(ref)
                continue
            notice(f"runner: copying image {ref} into this project's image store")
            done = await buildah.copy_in(ref, default, plan.store)
            if done.code != 0:
                raise ImageUnavailable(f"image {ref} could not be copied into this project's "
                                       f"image store: {done.text}")
        if pulls:
            await self._pull(pulls, plan.store, scratch, sink, notice)

    async def _pull(self, refs: list[ImageRef], store: StoreSpec | None, scratch: Path, sink: Sink,
                    notice: Notice) -> None:
        """Pull each image with the access of its own registry only (its CA, its TLS choice)."""
        where = "the user's image store" if store is None else "this project's image store"
        scratch.mkdir(mode=0o700, exist_ok=True)
        for index, ref in enumerate(refs):
            directory = scratch / str(index)
            directory.mkdir(mode=0o700)
            plan = access.prepare(directory, registries=self.registries, secrets=self.secrets,
                                  refs=[ref], destinations=(), standard=self.standard_authfile)
            notice(f"runner: pulling image {ref} into {where}")
            done = await buildah.run(buildargv.pull_argv(ref, plan.build, store), sink)
            if done.code != 0:
                raise ImageUnavailable(explain_pull(ref, done.text))


def _local(ref: str) -> bool:
    """``localhost/...`` names only the user's own images: there is no registry to ask."""
    return registry_of(ref) == "localhost"


def explain_pull(ref: str, output: str) -> str:
    """One paragraph on a failed pull: what buildah said, and the likely fix."""
    last = next((line for line in reversed(output.splitlines()) if line.strip()), "")
    hint = ""
    lowered = output.lower()
    if "unauthorized" in lowered or "authentication required" in lowered or "401" in output:
        hint = (f" The registry refused access: give the pipeline credentials for "
                f"{access.registry_host(ref)} ('registries' in the native format; GitLab "
                "sends the job's own).")
    elif "x509" in lowered or "certificate" in lowered:
        hint = (f" TLS verification failed: give {access.registry_host(ref)} a 'ca_file' in "
                "the pipeline's 'registries'.")
    return f"image {ref} could not be pulled: {last}.{hint}"

