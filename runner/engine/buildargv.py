"""Pure builders of buildah argv lists (the buildah half of ``argv``): no I/O, no env reads.

Credentials never appear here: registries are given an ``--authfile`` path,
build secrets a ``src=`` path; the files themselves are written (0600) by the
caller. Tests assert whole lists.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from runner.engine.argv import StoreSpec, store_options
from runner.engine.imageref import ImageRef

RETRIES = 3
RETRY_DELAY = "2s"


@dataclass(frozen=True)
class RegistryAccess:
    """How one buildah call talks to registries: auth file, CA dir, TLS verification."""

    authfile: Path | None = None
    cert_dir: Path | None = None
    tls_verify: bool = True

    def options(self) -> list[str]:
        argv: list[str] = []
        if self.authfile is not None:
            argv += ["--authfile", str(self.authfile)]
        if self.cert_dir is not None:
            argv += ["--cert-dir", str(self.cert_dir)]
        if not self.tls_verify:
            argv.append("--tls-verify=false")
        return argv


@dataclass(frozen=True)
class BuildSpec:
    """Everything that decides one ``buildah build``."""

    context: Path
    containerfile: Path
    iidfile: Path
    tags: tuple[ImageRef, ...] = ()
    args: tuple[tuple[str, str], ...] = ()
    labels: tuple[tuple[str, str], ...] = ()
    target: str | None = None
    platform: str | None = None
    layers: bool = True
    isolation: str = "rootless"
    cache_from: tuple[ImageRef, ...] = ()
    cache_to: ImageRef | None = None
    secrets: tuple[tuple[str, Path], ...] = ()
    """(id, file) pairs for ``RUN --mount=type=secret,id=...``."""
    access: RegistryAccess = RegistryAccess()
    store: StoreSpec | None = None
    runtime: str | None = None
    pull: str = "missing"


def build_argv(spec: BuildSpec) -> list[str]:
    """``buildah build`` writing the image id to ``iidfile``.

    Every value a tenant wrote is joined to its option (``--tag=...``) and
    the context comes after ``--``: none can ever be read as an option.

    ``--pull=missing``: a base image already in the store is used as is, as
    podman does for job images (buildah's own default asks the registry every
    time). ``--retry`` covers pulls of base images and cache layers.
    """
    argv = ["buildah", *store_options(spec.store), "build"]
    argv += [f"--layers={'true' if spec.layers else 'false'}", "--isolation", spec.isolation]
    argv += [f"--pull={spec.pull}", "--iidfile", str(spec.iidfile)]
    argv += ["--retry", str(RETRIES), "--retry-delay", RETRY_DELAY]
    if spec.runtime:
        argv += ["--runtime", spec.runtime]
    argv += ["--file", str(spec.containerfile)]
    argv += [f"--tag={tag}" for tag in spec.tags]
    argv += [f"--build-arg={name}={value}" for name, value in spec.args]
    argv += [f"--label={name}={value}" for name, value in spec.labels]
    if spec.target:
        argv.append(f"--target={spec.target}")
    if spec.platform:
        argv.append(f"--platform={spec.platform}")
    argv += [f"--cache-from={source}" for source in spec.cache_from]
    if spec.cache_to:
        argv.append(f"--cache-to={spec.cache_to}")
    for name, path in spec.secrets:
        argv += ["--secret", f"id={name},src={path}"]
    argv += spec.access.options()
    argv += ["--", str(spec.context)]
    return argv


def push_argv(image: ImageRef, destination: ImageRef, digestfile: Path, access: RegistryAccess,
              store: StoreSpec | None = None) -> list[str]:
    """``buildah push`` of local ``image`` (an id or name) to ``destination`` in a registry."""
    argv = ["buildah", *store_options(store), "push", "--retry", str(RETRIES),
            "--retry-delay", RETRY_DELAY, "--digestfile", str(digestfile)]
    argv += access.options()
    argv += ["--", image, f"docker://{destination}"]
    return argv


def image_id_argv(ref: ImageRef, store: StoreSpec | None = None) -> list[str]:
    """The id of image ``ref`` in the store; fails (non-zero) if there is none."""
    return ["buildah", *store_options(store), "inspect", "--type", "image", "--format",
            "{{.FromImageID}}", "--", ref]


def copy_in_argv(ref: ImageRef, source: StoreSpec, store: StoreSpec) -> list[str]:
    """Copy image ``ref`` from store ``source`` into ``store`` (same host, no registry)."""
    origin = f"containers-storage:[{source.driver}@{source.root}+{source.runroot}]{ref}"
    return ["buildah", *store_options(store), "pull", "--quiet", "--policy", "always", "--", origin]


def pull_argv(ref: ImageRef, access: RegistryAccess, store: StoreSpec | None = None) -> list[str]:
    """``buildah pull`` of ``ref`` from its registry into ``store``, fetching it again.

    Progress lines stay on (they are the job log's account of the pull);
    credentials and CAs come only through ``access``'s files.
    """
    return ["buildah", *store_options(store), "pull", "--policy", "always", "--retry",
            str(RETRIES), "--retry-delay", RETRY_DELAY, *access.options(), "--", f"docker://{ref}"]


def store_info_argv() -> list[str]:
    """The user's default store: driver, graph root and run root, one per line.

    ``buildah info`` answers in ~80 ms where ``podman info`` takes ~400 ms.
    """
    return ["buildah", "info", "--format",
            "{{.store.GraphDriverName}}\n{{.store.GraphRoot}}\n{{.store.RunRoot}}"]


def remove_working_containers_argv(store: StoreSpec | None) -> list[str]:
    """Remove every buildah working container of ``store`` (podman's are not touched)."""
    return ["buildah", *store_options(store), "rm", "--all"]
