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

from collections.abc import Awaitable, Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from runner.build import access
from runner.engine import buildah, buildargv
from runner.engine.argv import StoreSpec
from runner.engine.buildah import Sink
from runner.engine.imageref import ImageRef, ImageRefError, is_image_id, registry_of
from runner.engine.podman import ImageUnavailable
from runner.pipeline.model import Job, Registry

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
    local: tuple[ImageRef, ...] = ()
    """``localhost/`` images the user's store must have (``store`` None): never pulled."""


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


def image_policies(job: Job, image: ImageRef, services: Sequence[ImageRef],
                   default: Sequence[str]) -> dict[ImageRef, tuple[str, ...]]:
    """Each image's pull policy, in GitLab's words: its own, else the run's ``default``."""
    found = {image: policy_words(job.pull_policy or default)}
    for ref, service in zip(services, job.services, strict=True):
        found.setdefault(ref, policy_words(service.pull_policy or default))
    return found


def plan_images(image: ImageRef, built: StoreSpec | None, services: Sequence[ImageRef],
                tenant_store: StoreSpec | None, hosts: frozenset[str], *,
                policies: Mapping[ImageRef, tuple[str, ...]] | None = None,
                tenant: bool = False) -> ImagePlan:
    """Decide where a job runs from its images; ``built`` is set when ``image`` is a build's.

    ``image`` (unless built) and ``services`` are qualified names. With no
    tenant store (``--build-storage shared``) the job runs from the user's
    store, and only images that need the pipeline's access, or whose pull
    policy in ``policies`` is other than ``if-not-present``, are fetched
    first; podman pulls the others as the job starts. ``tenant`` puts the job in the
    tenant store whatever its images (a Docker job: what it builds and pulls stays there).
    """
    checked = {ref for ref, policy in (policies or {}).items() if policy != ("if-not-present",)}
    refs = [ref for ref in dict.fromkeys(services if built is not None else [image, *services])
            if not is_image_id(ref)]
    private = frozenset(ref for ref in refs if access.registry_host(ref) in hosts)
    store = built if built is not None else (tenant_store if private or tenant else None)
    if store is None:
        first = [ref for ref in refs if ref in private or (ref in checked and not _local(ref))]
        return ImagePlan(None, tuple(first), private,
                         tuple(ref for ref in refs if _local(ref) and ref not in private))
    return ImagePlan(store, tuple(refs), private)


def policy_words(policy: str | Sequence[str]) -> tuple[str, ...]:
    """A policy or a list of them in GitLab's words (``missing`` becomes ``if-not-present``)."""
    words = (policy,) if isinstance(policy, str) else tuple(policy)
    return tuple("if-not-present" if word == "missing" else word for word in words)


@dataclass(frozen=True)
class Fetcher:
    """Fetches planned images with one job's registry access."""

    registries: tuple[Registry, ...]
    secrets: Mapping[str, str]
    standard_authfile: Path | None
    policy: str | tuple[str, ...] = "missing"
    """The default pull policy: ``always``, ``if-not-present`` (podman's ``missing``) or
    ``never``; a list is tried in order until one gets the image (gitlab-runner's rule)."""
    recheck_private: bool = False
    """Ask the registry again for every private image, even one the store has: a tenant's
    users may differ in access (a GitLab job token has its user's), and a copy another of
    them pulled must not stand in for a registry that would refuse this one."""
    policies: Mapping[ImageRef, tuple[str, ...]] = field(default_factory=dict)
    """Each image's own pull policy (``pull_policy`` in the file), over ``policy``."""

    def policy_of(self, ref: ImageRef) -> tuple[str, ...]:
        """What ``ref`` is fetched with: its own policy, else the default."""
        return policy_words(self.policies.get(ref) or self.policy)

    async def fetch(self, plan: ImagePlan, scratch: Path, sink: Sink, notice: Notice,
                    present: Callable[[ImageRef], Awaitable[bool]] | None = None) -> None:
        """Get every image of ``plan`` into its store; ``scratch`` holds auth files.

        ``scratch`` must be private to us and never mounted into a container.
        ``present`` says whether the user's store has an image: given, the
        plan's local images are checked there first.
        """
        if present is not None:
            await require_local(plan.local, present)
        if not plan.fetch:
            return
        default = None if plan.store is not None else await buildah.default_store()
        target = plan.store or default
        assert target is not None
        scratch.mkdir(mode=0o700, exist_ok=True)
        for ref in plan.fetch:
            if _local(ref):
                await self._local(ref, plan.store, target, notice)
                continue
            policy = self.policy_of(ref)
            if self.recheck_private and ref in plan.private and policy[0] != "never":
                # The registry's answer is final: a copy another user pulled must never
                # stand in when it refuses this job (no fallback down the list).
                policy = ("always",)
            failure: ImageUnavailable | None = None
            for word in policy:
                try:
                    await self._one(word, ref, plan, target, scratch=scratch, sink=sink,
                                    notice=notice)
                except ImageUnavailable as exc:
                    failure = exc
                    continue
                if failure is not None:
                    notice(f"runner: {failure}; pull policy {word!r} (next in the list) "
                           "got the image")
                failure = None
                break
            if failure is not None:
                raise failure

    async def _local(self, ref: ImageRef, store: StoreSpec | None, target: StoreSpec,
                     notice: Notice) -> None:
        """A ``localhost/`` image is never pulled: there is no registry to ask."""
        if await buildah.has_image(ref, target):
            return
        default = await buildah.default_store()
        if store is None or not await buildah.has_image(ref, default):
            raise ImageUnavailable(missing_local(ref))
        notice(f"runner: copying image {ref} into this project's image store")
        await self._copy(ref, default, store)

    async def _one(self, word: str, ref: ImageRef, plan: ImagePlan, target: StoreSpec, *,
                   scratch: Path, sink: Sink, notice: Notice) -> None:
        """Have ``ref`` in ``target`` by one pull policy; ImageUnavailable when it cannot."""
        if word == "always":
            await self._pull(ref, plan.store, scratch, sink, notice)
            return
        if await buildah.has_image(ref, target):
            return
        if plan.store is not None and ref not in plan.private:
            default = await buildah.default_store()
            if await buildah.has_image(ref, default):
                notice(f"runner: copying image {ref} into this project's image store")
                await self._copy(ref, default, plan.store)
                return
        if word == "never":
            raise ImageUnavailable(f"image {ref} is not in the image store and its pull policy "
                                   "is 'never'; pull it first (`podman pull IMAGE`) or allow "
                                   "'if-not-present'")
        await self._pull(ref, plan.store, scratch, sink, notice)

    @staticmethod
    async def _copy(ref: ImageRef, default: StoreSpec, store: StoreSpec) -> None:
        done = await buildah.copy_in(ref, default, store)
        if done.code != 0:
            raise ImageUnavailable(f"image {ref} could not be copied into this project's "
                                   f"image store: {done.text}")

    async def _pull(self, ref: ImageRef, store: StoreSpec | None, scratch: Path, sink: Sink,
                    notice: Notice) -> None:
        """Pull ``ref`` with the access of its own registry only (its CA, its TLS choice).

        buildah fetches the manifest and only the layers the store lacks: an
        unchanged tag costs one manifest and config request.
        """
        where = "the user's image store" if store is None else "this project's image store"
        directory = scratch / str(len(list(scratch.iterdir())))
        directory.mkdir(mode=0o700)
        plan = access.prepare(directory, registries=self.registries, secrets=self.secrets,
                              refs=[ref], destinations=(), standard=self.standard_authfile)
        notice(f"runner: pulling image {ref} into {where}")
        done = await buildah.run(buildargv.pull_argv(ref, plan.build, store), sink)
        if done.code != 0:
            raise ImageUnavailable(explain_pull(ref, done.text))


async def require_local(refs: Iterable[ImageRef],
                        present: Callable[[ImageRef], Awaitable[bool]]) -> None:
    """Fail at once, saying what to run, for a (``localhost/``) image the store lacks.

    podman would try to pull it and fail after seconds with a registry ping
    error that names neither the cause nor the fix.
    """
    for ref in refs:
        if not await present(ref):
            raise ImageUnavailable(missing_local(ref))


def missing_local(ref: ImageRef) -> str:
    """What a missing local image says: it is not in the store, and how to get it there."""
    return (f"image {ref} not found in your store; build or pull it: "
            f"`runner build -t {ref} DIR` (or `podman build -t {ref} DIR`), or "
            f"`podman pull IMAGE && podman tag IMAGE {ref}`")


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
                f"{access.registry_host(ref)} ('registries' in the native format, "
                "DOCKER_AUTH_CONFIG for a GitLab file; GitLab's agent jobs bring their own).")
    elif "x509" in lowered or "certificate" in lowered:
        hint = (f" TLS verification failed: give {access.registry_host(ref)} a 'ca_file' in "
                "the pipeline's 'registries'.")
    return f"image {ref} could not be pulled: {last}.{hint}"

