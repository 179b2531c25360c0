"""A job's output attacks the runner process that reads it: endless lines, disguised secrets.

The job controls every byte it prints. One line without a newline must not
make runner's memory (or time) grow with the line, and a secret printed
base64- or URL-encoded must be masked like the secret itself.
"""

from __future__ import annotations

import base64
import subprocess
import sys
import urllib.parse
from pathlib import Path

import pytest

from tests.conftest import REPO
from tests.integration.harness import Project
from tests.security.conftest import IMAGE, token

pytestmark = pytest.mark.podman

LINE_BYTES = 50_000_000
RSS_BOUND_KB = 150 * 1024
"""Generous: runner itself needs ~40 MB; the old code held ~4 bytes per byte of the line."""

_MEASURED = """
import atexit, os, resource, sys
def _peak():
    with open(os.environ["PEAK_RSS_FILE"], "w") as out:
        out.write(str(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss))
atexit.register(_peak)
sys.argv = ["runner", *sys.argv[1:]]
from runner.cli import run
run()
"""
"""``runner`` as usual, writing its own peak RSS (KiB, not its children's) at exit."""


def test_one_endless_line_keeps_runner_memory_bounded(tmp_path: Path, project: Project) -> None:
    """A job printing 50 MB without a newline finishes, its log holds every byte, and runner's
    peak memory stays far below the line's size (it was ~4x the line, and quadratic time)."""
    project.write(f"""
        version: 1
        jobs:
          flood:
            image: {IMAGE}
            script:
              - head -c {LINE_BYTES} /dev/zero | tr '\\0' a
              - echo; echo flood-done
        """)
    peak_file = tmp_path / "peak"
    argv = [sys.executable, "-c", _MEASURED, *project.argv()[3:]]
    env = {**project.env(), "PEAK_RSS_FILE": str(peak_file), "PYTHONPATH": str(REPO)}
    done = subprocess.run(argv, cwd=project.root, env=env, capture_output=True, timeout=900,
                          check=False)
    assert done.returncode == 0, done.stderr[-2000:]
    log = project.state / "logs" / "flood.log"
    assert log.stat().st_size >= LINE_BYTES
    assert b"flood-done" in log.read_bytes()[-200:]
    peak_kb = int(peak_file.read_text())
    assert peak_kb < RSS_BOUND_KB, f"runner's peak RSS was {peak_kb >> 10} MiB"


def test_encoded_secret_is_masked(project: Project) -> None:
    """``echo -n $SECRET | base64`` and the URL-encoded secret are masked, in all three base64
    alignments (the secret at any offset of a longer base64 stream)."""
    secret = token("p@ss/w0rd+") + "&x=y"
    quoted = urllib.parse.quote(secret, safe="")
    project.write(f"""
        version: 1
        secrets: {{TOKEN: {{env: THE_TOKEN}}}}
        jobs:
          leak:
            image: {IMAGE}
            secrets: [TOKEN]
            script:
              - echo -n "$TOKEN" | base64 -w0; echo
              - printf 'a%s' "$TOKEN" | base64 -w0; echo
              - printf 'ab%s' "$TOKEN" | base64 -w0; echo
              - echo -n "$TOKEN" | base64 -w0 | tr '+/' '-_'; echo
              - echo "{quoted}"
              - echo control-line
        """)
    done = project.run(THE_TOKEN=secret)
    assert done.code == 0, done.err
    log = project.log("leak")
    assert "control-line" in log
    plain = base64.b64encode(secret.encode()).decode()
    shifted = [base64.b64encode(prefix + secret.encode()).decode() for prefix in (b"a", b"ab")]
    for shown in (log, done.out):
        assert secret not in shown
        assert plain not in shown and plain.rstrip("=") not in shown
        assert base64.urlsafe_b64encode(secret.encode()).decode().rstrip("=") not in shown
        for encoded in shifted:
            # The secret's own part of the stream (after the prefix's characters) is hidden.
            assert encoded[4:-4] not in shown
        assert quoted not in shown
        assert "[MASKED]" in shown
