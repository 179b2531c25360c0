"""What the agent tells GitLab about itself: the ``info`` object of every runner request.

GitLab drops a job with ``runner_unsupported`` when a runner lacks a feature
the job needs, and it switches behaviour on for features a runner claims
(``cancel_gracefully`` enables the canceling state, ``two_phase_job_commit``
keeps a job pending until we accept it). So we claim exactly what we do.
"""

from __future__ import annotations

import platform

from runner import __version__

FEATURES: dict[str, bool] = {
    "variables": True,
    "image": True,
    "services": True,
    "artifacts": True,
    "cache": True,
    "fallback_cache_keys": True,
    "upload_multiple_artifacts": True,
    "upload_raw_artifacts": True,
    "refspecs": True,
    "masking": True,
    "raw_variables": True,
    "artifacts_exclude": True,
    "return_exit_code": True,
    "trace_reset": True,
    "trace_checksum": True,
    "trace_size": True,
    "cancelable": True,
    "cancel_gracefully": True,
    "two_phase_job_commit": True,
    "service_variables": True,
    "service_multiple_aliases": True,
    # Not done, so not claimed: release steps, interactive terminals, Vault
    # secrets, the steps runtime, executor options, job inputs.
    "multi_build_steps": False,
    "session": False,
    "terminal": False,
    "shared": False,
    "proxy": False,
    "vault_secrets": False,
    "native_steps_integration": False,
    "image_executor_opts": False,
    "service_executor_opts": False,
    "job_inputs": False,
}

_ARCH = {"x86_64": "amd64", "aarch64": "arm64", "armv7l": "arm", "i686": "386"}


def runner_info(name: str = "runner") -> dict[str, object]:
    """The ``info`` object: who we are and what we can do."""
    machine = platform.machine()
    return {
        "name": name,
        "version": __version__,
        "revision": "unknown",
        "platform": "linux",
        "architecture": _ARCH.get(machine, machine),
        "executor": "podman-rootless",
        "shell": "sh",
        "features": dict(FEATURES),
        "config": {"gpus": ""},
        "labels": {},
    }


def user_agent() -> str:
    """Sent with every request, so GitLab's logs show who asked."""
    return f"runner {__version__} (gitlab-runner protocol; python; linux/{platform.machine()})"
