"""A job's image as the runner resolves it: the runner's default, expanded, checked.

Apart from ``translate`` because it is the runner's side of ``image:``, not
GitLab's: a job naming no image gets the runner's configured default (as
gitlab-runner's ``[runners.docker] image``), and the name is expanded with
the job's variables and checked as a reference before any job runs.
"""

from __future__ import annotations

from collections.abc import Mapping

from runner.engine.imageref import why_not
from runner.errors import PipelineError
from runner.pipeline.gitlab.expand import expand
from runner.pipeline.gitlab.jobspec import JobSpec
from runner.pipeline.gitlab.reading import GitLabReader


def job_image(
    reader: GitLabReader, spec: JobSpec, values: Mapping[str, str], *,
    default: tuple[str, str] | None, listing: bool, hint: str,
) -> str:
    """The job's image, expanded the runner's way; a blank image is an error.

    A job with none gets the runner's default image (``default``: image and
    where it was set), as on a docker runner; with none configured it is an
    error that says how to configure one (``hint``), unless only ``listing``
    jobs, when the image is ``""``.
    """
    if spec.image is None:
        if default is not None:
            return default[0]
        if listing:
            return ""
        raise PipelineError(
            spec.spot,
            f"job '{spec.name}' has no image and no default image is set;"
            f" {hint or 'give one with --image IMAGE'}, or add"
            " 'image: <name>' to the job or 'default: image: <name>' to the file"
            " (runner runs each job in a container)",
        )
    text, pos, key = spec.image
    name = expand(text, values).strip()
    after = f" after expanding '{text}'" if name != text else ""
    if not name:
        raise reader.fail(pos, key, f"the image of job '{spec.name}' is empty{after}")
    if (problem := why_not(name)) is not None:
        raise reader.fail(pos, key, f"the image of job '{spec.name}'{after}: {problem}")
    return name
