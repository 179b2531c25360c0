"""The versions ``runner --version`` shows: runner's own and the container tools' it drives.

An operator filing a bug, or checking an upgrade, needs all four at once.
The three ``--version`` subprocesses run side by side, so the whole costs
about one of them (~30 ms) rather than three.
"""

from __future__ import annotations

import os
import platform
import shutil
import subprocess
from collections.abc import Mapping, Sequence

from runner import __version__

TOOLS = ("podman", "buildah", "runc")


def tool_versions(tools: Sequence[str] = TOOLS, environ: Mapping[str, str] = os.environ,
                  timeout: float = 10.0) -> dict[str, str]:
    """First ``--version`` line of each tool, "not found" or "unknown (why)"; never raises."""
    started: dict[str, subprocess.Popen[str]] = {}
    found: dict[str, str] = {}
    for tool in tools:
        path = shutil.which(tool, path=environ.get("PATH"))
        if path is None:
            found[tool] = "not found"
            continue
        try:
            started[tool] = subprocess.Popen([path, "--version"], stdin=subprocess.DEVNULL,
                                             stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                             text=True, env=dict(environ))
        except OSError as exc:
            found[tool] = f"unknown ({exc.strerror})"
    for tool, proc in started.items():
        try:
            out, err = proc.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.communicate()
            found[tool] = f"unknown (no answer in {timeout:g} s)"
            continue
        lines = (out or err).strip().splitlines()
        found[tool] = lines[0] if lines else "unknown"
    return {tool: found[tool] for tool in tools}


def version_text(tools: Mapping[str, str]) -> str:
    """``runner X`` (and Python's version), then one line per tool."""
    lines = [f"runner {__version__} (python {platform.python_version()})"]
    lines += [f"{tool}: {text}" for tool, text in tools.items()]
    return "\n".join(lines)
