"""Reading secret values when a run starts (never at parse time, never into argv)."""

from __future__ import annotations

import os
from collections.abc import Mapping, MutableMapping

from runner.engine.childenv import KEPT
from runner.errors import UserInputError
from runner.logs.mask import MIN_SECRET_LEN
from runner.pipeline.model import Pipeline


def resolve_secrets(pipeline: Pipeline, environ: Mapping[str, str]) -> dict[str, str]:
    """Each declared secret's value; a clear error for any that cannot be read.

    Values shorter than ``MIN_SECRET_LEN`` are refused: masking them would
    garble every log, and not masking them would leak them.
    """
    values: dict[str, str] = {}
    for secret in pipeline.secrets:
        where = f"{secret.spot}: " if secret.spot else f"{pipeline.source}: "
        if secret.env is not None:
            if secret.env not in environ:
                raise UserInputError(
                    f"{where}secret '{secret.name}' comes from the environment variable "
                    f"{secret.env}, which is not set; export it before `runner exec`."
                )
            value = environ[secret.env]
        elif secret.value is not None:
            value = secret.value
        else:
            assert secret.file is not None
            try:
                value = secret.file.read_text().rstrip("\n")
            except OSError as exc:
                raise UserInputError(
                    f"{where}secret '{secret.name}' comes from the file {secret.file}, "
                    f"which cannot be read: {exc.strerror}."
                ) from exc
        if len(value) < MIN_SECRET_LEN:
            raise UserInputError(
                f"{where}secret '{secret.name}' is {len(value)} characters long; values "
                f"shorter than {MIN_SECRET_LEN} cannot be masked reliably in logs."
            )
        values[secret.name] = value
    return values


def withhold_from_children(pipeline: Pipeline,
                           environ: MutableMapping[str, str] = os.environ) -> list[str]:
    """Drop the variables secrets are read from out of runner's own environment; their names.

    Call once the values are read: every process runner starts (podman,
    conmon, slirp4netns, buildah, git) inherits the environment and keeps it
    readable in ``/proc/PID/environ`` for its whole life, while jobs get their
    secrets only through their scripts. A secret no job lists is dropped too.
    ``childenv.KEPT`` names (PATH, HOME...) stay: without them nothing could
    start, and every child gets them anyway.
    """
    names = sorted({secret.env for secret in pipeline.secrets
                    if secret.env is not None and secret.env not in KEPT})
    for name in names:
        environ.pop(name, None)
    return names
