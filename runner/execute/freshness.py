"""Which jobs may resolve their images while their needs still run, and which must wait.

The scheduler starts a waiting job's container early, but an image named by
a tag is a pointer that an upstream job can move: a build job retags it in
the project's store, and any script job can push it to a registry (with
buildah, podman, curl...). Resolving such a tag before the upstream job ends
runs the previous image, or fails with ``manifest unknown`` on a first run.
So a job with needs resolves its images only after they finish, unless no
upstream job can change what every one of its images names:

- a digest reference (``name@sha256:...``) or an image ID never changes;
- a ``localhost/`` image (never pulled) or one with pull policy ``never``
  comes only from a local store, which job containers cannot write to; only
  build jobs write there, so this holds when no upstream job is a build job.

Anything else waits. This costs the head start for tag-named images of jobs
with needs, and nothing for jobs without needs (they start at once anyway).
"""

from __future__ import annotations

from collections.abc import Sequence

from runner.engine.imageref import REFERENCE, is_image_id, registry_of
from runner.pipeline.dag import upstream
from runner.pipeline.model import Job


def starts_early(jobs: Sequence[Job], job: Job, default_policy: tuple[str, ...]) -> bool:
    """Whether ``job``'s images may be resolved (and its container started) before its needs end.

    ``jobs`` are every job the run knows so far: a child pipeline's jobs join them when
    their trigger job starts, and may need a job of the parent. ``default_policy`` is the
    run's pull policy for images that name none.
    """
    if job.output_refs():
        return False  # its image does not exist before the build job ends
    if not job.needs:
        return True
    above = upstream(jobs, job.name)
    builds_above = any(other.build is not None for other in jobs if other.name in above)
    images = [(job.image, job.pull_policy or default_policy),
              *((service.image, service.pull_policy or default_policy)
                for service in job.services)]
    return all(_fixed(image, policy, builds_above) for image, policy in images)


def _fixed(image: str, policy: tuple[str, ...], builds_above: bool) -> bool:
    """Whether no upstream job can change what ``image`` resolves to."""
    if is_image_id(image) or _pinned(image):
        return True
    local = registry_of(image) == "localhost" or policy == ("never",)
    return local and not builds_above


def _pinned(image: str) -> bool:
    """``name@sha256:...``: a digest reference, the same content wherever it is resolved."""
    found = REFERENCE.fullmatch(image)
    return found is not None and found.group("digest") is not None
